"""Merge and undo through the REST API and the pages: side-by-side choice, toast with Undo,
history (global and on the contact page), refusals as 409 with the reason."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.models import Contact, Merge, User
from core.services import contacts
from tests import factories
from tests.core.test_api_contacts import Api, make_token


@pytest.fixture
def two(app, team):
    with app.app_context():
        t = db.session.merge(team)
        a = factories.contact(t, "Grace", "Hopper", phone="+442079460001").id
        b = factories.contact(t, "Grace", "Hoppper", email="grace@navy.example").id
        return a, b


def _contact(app, cid):
    with app.app_context():
        c = db.session.get(Contact, cid)
        return {"name": c.full_name, "email": c.email, "phone": c.phone, "deleted": c.deleted_at is not None,
                "merged_into_id": c.merged_into_id}


def test_api_merge_list_and_undo(app, member, outsider, two):
    a, b = two
    api = Api(app, make_token(app, member))
    with app.app_context():  # Cy reports to Grace (a), Grace B. (b) reports to Cy: a cannot take b's manager
        actor = db.session.get(User, member.id)
        cy = factories.contact(db.session.get(Contact, a).owner_team, "Cy", "Clerk").id
        contacts.update_contact(actor, cy, {"reports_to_id": a}, None)
        contacts.update_contact(actor, b, {"reports_to_id": cy}, None)
    answer = api.post(f"/api/v1/contacts/{a}/merge", json={"source_id": b, "fields": {"last_name": "source",
                                                                                       "reports_to_id": "source"}})
    assert answer.status_code == 201, answer.json
    merge = answer.json
    assert merge["choices"]["reports_to_id"] == "target" and merge["notes"] == [
        "Reports to: Grace Hopper keeps no manager, not Grace Hoppper's (Cy Clerk): Cy Clerk already reports to "
        "Grace Hopper; Grace Hopper cannot report to Cy Clerk."]
    assert merge["target"]["id"] == a and merge["source"]["deleted"] is True
    assert merge["choices"]["last_name"] == "source" and merge["choices"]["email"] == "source"
    assert _contact(app, a)["name"] == "Grace Hoppper" and _contact(app, b)["merged_into_id"] == a
    assert [m["id"] for m in api.get(f"/api/v1/merges?contact_id={b}").json["items"]] == [merge["id"]]
    assert api.get(f"/api/v1/merges/{merge['id']}").json["before"]["target"]["last_name"] == "Hopper"
    other = Api(app, make_token(app, outsider))
    assert other.get("/api/v1/merges").json["items"] == []
    assert other.post(f"/api/v1/merges/{merge['id']}/undo").status_code == 404

    etag = api.get(f"/api/v1/contacts/{a}").headers["ETag"]
    api.patch(f"/api/v1/contacts/{a}", json={"first_name": "Amazing Grace"}, headers={"If-Match": etag})
    refused = api.post(f"/api/v1/merges/{merge['id']}/undo")
    assert refused.status_code == 409 and "changed after the merge (first_name)" in refused.json["message"]
    assert refused.json["changes"]["first_name"] == {"yours": "Grace", "current": "Amazing Grace"}
    etag = api.get(f"/api/v1/contacts/{a}").headers["ETag"]
    api.patch(f"/api/v1/contacts/{a}", json={"first_name": "Grace"}, headers={"If-Match": etag})
    undone = api.post(f"/api/v1/merges/{merge['id']}/undo")
    assert undone.status_code == 200 and undone.json["undone_at"]
    assert _contact(app, a) == {"name": "Grace Hopper", "email": None, "phone": "+442079460001", "deleted": False,
                                "merged_into_id": None}
    assert _contact(app, b)["email"] == "grace@navy.example" and not _contact(app, b)["deleted"]
    assert api.post(f"/api/v1/merges/{merge['id']}/undo").status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "source_id"),
        ({"source_id": "x"}, "source_id"),
        ({"source_id": 0}, "source_id"),
        ({"source_id": 2, "fields": {"nickname": "source"}}, "fields"),
        ({"source_id": 2, "fields": {"email": "mine"}}, "fields"),
        ({"source_id": 2, "extra": 1}, "extra"),
    ],
)
def test_api_merge_bad_body_is_422(app, member, two, body, field):
    api = Api(app, make_token(app, member))
    answer = api.post(f"/api/v1/contacts/{two[0]}/merge", json=body)
    assert answer.status_code == 422 and field in answer.json["errors"]["json"]


def test_api_merge_refusals(app, member, outsider, two):
    a, b = two
    api = Api(app, make_token(app, member))
    assert api.post(f"/api/v1/contacts/{a}/merge", json={"source_id": a}).status_code == 422
    assert api.post("/api/v1/contacts/999999/merge", json={"source_id": b}).status_code == 404
    assert Api(app, make_token(app, outsider)).post(f"/api/v1/contacts/{a}/merge", json={"source_id": b}).status_code == 404
    assert api.post(f"/api/v1/contacts/{a}/merge", json={"source_id": 999999}).json["errors"]["json"]["source_id"]


def test_merge_page_toast_undo_and_history(client_for, member, app, two):
    a, b = two
    with app.app_context():
        boss = factories.contact(db.session.get(Contact, a).owner_team, "Bea", "Boss").id
        contacts.update_contact(db.session.get(User, member.id), b, {"reports_to_id": boss}, None)
    client = client_for(member)
    picker = client.get(f"/contacts/{a}/merge").get_data(as_text=True)
    assert "No look-alike found" in picker and 'name="source"' in picker  # no organization: names alone do not count
    page = client.get(f"/contacts/{a}/merge?source={b}").get_data(as_text=True)
    assert 'name="pick_last_name" value="source"' in page and f'name="source_id" value="{b}"' in page
    assert 'name="pick_email" value="source" checked' in page  # the target has none: the source's by default
    assert "Reports to" in page and "Bea Boss" in page  # a field to choose like the others, by name
    assert "communications, groups, tags and other records move over" in page  # lists are groups now
    assert client.get(f"/contacts/{a}/merge?source=abc").status_code == 422

    answer = client.post(f"/contacts/{a}/merge", data={"source_id": b, "pick_last_name": "source"},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 200 and answer.headers["HX-Redirect"] == f"/contacts/{a}"
    with app.app_context():
        merge_id = db.session.scalar(db.select(Merge.id))
    shown = client.get(f"/contacts/{a}").get_data(as_text=True)
    assert "was merged into" in shown and f"/merges/{merge_id}/undo" in shown  # the toast offers Undo
    panel = client.get(f"/contacts/{a}/merges").get_data(as_text=True)
    assert f"/merges/{merge_id}/undo" in panel
    assert f"/merges/{merge_id}/undo" in client.get("/merges/").get_data(as_text=True)

    undone = client.post(f"/merges/{merge_id}/undo", headers={"HX-Request": "true"})
    assert undone.status_code == 200 and undone.headers["HX-Refresh"] == "true"
    assert not _contact(app, b)["deleted"] and _contact(app, a)["name"] == "Grace Hopper"
    again = client.post(f"/merges/{merge_id}/undo", headers={"HX-Request": "true"})
    assert again.status_code == 409 and "already undone" in again.get_data(as_text=True)
    assert "Undone" in client.get("/merges/").get_data(as_text=True)


def test_merge_page_refusals(client_for, member, viewer, outsider, two):
    a, b = two
    assert client_for(outsider).get(f"/contacts/{a}/merge?source={b}").status_code == 404
    assert client_for(viewer).get(f"/contacts/{a}/merge?source={b}").status_code == 403
    answer = client_for(member).post(f"/contacts/{a}/merge", data={"source_id": a}, headers={"HX-Request": "true"})
    assert answer.status_code == 422 and "cannot be merged into itself" in answer.get_data(as_text=True)
