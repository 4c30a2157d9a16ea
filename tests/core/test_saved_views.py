"""Saved views: personal or shared with a team, who sees and changes them, validation, audit,
applying one with ?view= on the list page and in the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, User
from core.services import saved_views
from tests import factories
from tests.core.test_api_contacts import Api, make_token


def _user(u):
    db.session.commit()
    return db.session.get(User, u.id)


@pytest.fixture
def setup(ctx, team, other_team, member, manager, outsider, viewer):
    t = db.session.merge(team)
    factories.contact(t, "Grace", "Hopper", status="lead")
    factories.contact(t, "Ada", "Lovelace", status="active", email="ada@acme.example")
    db.session.commit()
    return {"team": team.id, "other": other_team.id}


def test_personal_and_shared_views_and_who_sees_them(setup, member, manager, outsider, viewer, admin):
    mine = saved_views.create_view(_user(member), {"name": "My leads", "query": "f=status.is.lead", "sort": "-created"})
    shared = saved_views.create_view(_user(member), {"name": "Team acme", "team_id": setup["team"],
                                                     "query": "?f=email.contains.acme&q=", "columns": ["status", "email"]})
    assert shared.query == "f=email.words.acme" and shared.columns == ["email", "status"]  # canonical, registry order
    assert mine.columns == saved_views.DEFAULT_COLUMNS and mine.team_id is None
    assert [v.name for v in saved_views.list_views(_user(member))] == ["My leads", "Team acme"]
    assert [v.name for v in saved_views.list_views(_user(viewer))] == ["Team acme"]
    assert [v.name for v in saved_views.list_views(_user(outsider))] == []
    assert [v.name for v in saved_views.list_views(_user(admin))] == ["Team acme"]
    with pytest.raises(NotFound):
        saved_views.get_view(_user(outsider), shared.id)
    with pytest.raises(NotFound):
        saved_views.get_view(_user(viewer), mine.id)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "saved_view",
                                                       AuditEntry.entity_id == shared.id))
    assert entry.action == "created" and entry.changes["query"] == [None, "f=email.words.acme"]


def test_who_may_change_and_delete(setup, member, manager, viewer, admin):
    shared = saved_views.create_view(_user(member), {"name": "Shared", "team_id": setup["team"]})
    with pytest.raises(PermissionDenied):
        saved_views.update_view(_user(viewer), shared.id, {"name": "Mine now"})
    with pytest.raises(PermissionDenied):
        saved_views.delete_view(_user(viewer), shared.id)
    assert saved_views.update_view(_user(manager), shared.id, {"name": "Renamed by the manager"}).name == "Renamed by the manager"
    other = saved_views.create_view(_user(viewer), {"name": "Viewer's own"})
    assert saved_views.update_view(_user(viewer), other.id, {"sort": "-updated"}).sort == "-updated"
    saved_views.delete_view(_user(admin), shared.id)
    with pytest.raises(NotFound):
        saved_views.get_view(_user(member), shared.id)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "saved_view",
                                                                 AuditEntry.entity_id == shared.id)).all()
    assert sorted(actions) == ["created", "deleted", "updated"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "A", "team_id": 99999}, "team_id"),
        ({"name": "A", "team_id": "abc"}, "team_id"),
        ({"name": "A", "query": "f=status.like.x"}, "query"),
        ({"name": "A", "query": "nosuch=1"}, "query"),
        ({"name": "A", "query": "f=status.is.zombie"}, "query"),
        ({"name": "A", "sort": "shoe size"}, "sort"),
        ({"name": "A", "columns": ["email", "nosuch"]}, "columns"),
        ({"name": "A", "owner_id": 1}, "owner_id"),
    ],
)
def test_bad_input_names_the_field(setup, member, data, field):
    with pytest.raises(ValidationError) as caught:
        saved_views.create_view(_user(member), data)
    assert field in caught.value.errors


def test_a_bad_sort_names_the_custom_field_sorts_too(setup, member):
    """A view sorts by a custom field (cf_<key>) as the list does; the message listed only the core sorts."""
    with pytest.raises(ValidationError) as caught:
        saved_views.create_view(_user(member), {"name": "A", "sort": "cf_nosuch"})
    assert "cf_<custom field key>" in str(caught.value.errors["sort"])


def test_sharing_with_a_team_you_are_not_in_is_refused(setup, member):
    with pytest.raises(ValidationError) as caught:
        saved_views.create_view(_user(member), {"name": "Theirs", "team_id": setup["other"]})
    assert "team_id" in caught.value.errors


def test_the_list_page_applies_a_view(setup, member, client_for):
    view = saved_views.create_view(_user(member), {"name": "Leads", "query": "f=status.is.lead",
                                                   "columns": ["status", "team"], "sort": "-name"})
    db.session.commit()
    client = client_for(member)
    body = client.get(f"/?view={view.id}").get_data(as_text=True)
    assert "Hopper" in body and "Lovelace" not in body
    assert ">Owner team</th>" in body and ">Email</th>" not in body  # the view's columns
    assert 'value="status.is.lead"' in body and "Leads" in body
    # Other parameters beside the view win; the view still gives the columns.
    body = client.get(f"/?view={view.id}&status=active").get_data(as_text=True)
    assert "Lovelace" in body and "Hopper" not in body and ">Owner team</th>" in body
    response = client.get("/?view=99999")
    assert response.status_code == 422 and "saved view does not exist" in response.get_data(as_text=True)


def test_saving_editing_and_deleting_from_the_page(setup, member, client_for):
    client = client_for(member)
    form = client.get("/views/new?query=f%3Dstatus.is.lead&sort=-name&columns=email")
    assert form.status_code == 200 and 'value="f=status.is.lead"' in form.get_data(as_text=True)
    assert '<option value="-name" selected>Last name Z–A</option>' in form.get_data(as_text=True)  # labels, not keys
    response = client.post("/views/new", data={"name": "", "query": "f=status.is.lead"})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    response = client.post("/views/new", data={"name": "Leads", "query": "f=status.is.lead", "sort": "-name",
                                               "columns": ["email", "status"], "team_id": str(setup["team"])})
    assert response.status_code == 302
    view_id = int(response.headers["Location"].split("view=")[1])
    assert client.get(f"/views/{view_id}/edit").status_code == 200
    assert client.post(f"/views/{view_id}/edit", data={"name": "Hot leads", "query": "f=status.is.lead",
                                                       "sort": "name", "columns": ["email"]}).status_code == 302
    assert "Hot leads" in client.get("/").get_data(as_text=True)
    assert client.post(f"/views/{view_id}/delete").status_code == 302
    assert client.get(f"/views/{view_id}/edit").status_code == 404


@pytest.fixture
def api_setup(app, team, member, viewer):
    """Without the ``ctx`` fixture: test clients of different users must not share one app context."""
    with app.app_context():
        t = db.session.merge(team)
        factories.contact(t, "Grace", "Hopper", status="lead")
        factories.contact(t, "Ada", "Lovelace", status="active")
    return {"team": team.id}


def test_api_saved_views_and_view_parameter(api_setup, app, member, viewer):
    setup = api_setup
    api = Api(app, make_token(app, member))
    response = api.post("/api/v1/saved-views", json={"name": "Leads", "query": "f=status.is.lead", "team_id": setup["team"]})
    assert response.status_code == 201, response.json
    view = response.json
    assert view["columns"] == saved_views.DEFAULT_COLUMNS and view["url"] == f"/?view={view['id']}"
    listed = api.get(f"/api/v1/contacts?view={view['id']}").json["items"]
    assert [c["last_name"] for c in listed] == ["Hopper"]
    assert api.get("/api/v1/contacts?view=99999").status_code == 422
    assert api.patch(f"/api/v1/saved-views/{view['id']}", json={"sort": "-name"}).json["sort"] == "-name"
    assert api.post("/api/v1/saved-views", json={"name": "A", "columns": ["nope"]}).status_code == 422
    assert api.post("/api/v1/saved-views", json={"name": "A", "id": 4}).status_code == 422
    other = Api(app, make_token(app, viewer))
    assert [v["name"] for v in other.get("/api/v1/saved-views").json["items"]] == ["Leads"]
    assert other.patch(f"/api/v1/saved-views/{view['id']}", json={"name": "x"}).status_code == 403
    assert other.delete(f"/api/v1/saved-views/{view['id']}").status_code == 403
    assert api.delete(f"/api/v1/saved-views/{view['id']}").status_code == 204
    assert api.get(f"/api/v1/saved-views/{view['id']}").status_code == 404


def test_the_view_form_is_a_page_when_opened_directly_and_a_modal_body_for_htmx(setup, member, client_for):
    client = client_for(member)
    direct = client.get("/views/new?query=f%3Dstatus.is.lead").get_data(as_text=True)
    assert "<title>Save as view" in direct and "<h1>Save as view</h1>" in direct and 'id="modal-body"' in direct
    assert 'hx-target="#modal-body"' not in direct and "data-close-modal" not in direct  # posts as a plain form
    invalid = client.post("/views/new", data={"name": "", "query": "f=status.is.lead"}).get_data(as_text=True)
    assert "<h1>Save as view</h1>" in invalid and "<title>" in invalid  # the page again, with the error
    modal = client.get("/views/new", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<title>" not in modal and 'hx-target="#modal-body"' in modal and 'id="modal-title">Save as view' in modal
