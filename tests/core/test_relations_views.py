"""Hierarchy and relationships in the HTML views: the pickers (search as you type), the contact and
organization forms, the contact-page panels, the relationship modal, the organization section, the
org chart and the admin page of relationship types."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import Contact, Organization, Relationship, RelationshipType
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def make(app, team):
    def _make(first="Ada", last="Test", owner=None, **extra):
        with app.app_context():
            return factories.contact(db.session.merge(owner or team), first, last, **extra).id

    return _make


@pytest.fixture
def make_org(app, team):
    def _make(name, **extra):
        with app.app_context():
            return factories.organization(db.session.merge(team), name, **extra).id

    return _make


def type_id(app, name):
    with app.app_context():
        return db.session.scalar(select(RelationshipType.id).where(RelationshipType.name == name))


def test_contact_picker_searches_as_you_type(member_client, make, other_team):
    ada = make("Ada", "Lovelace")
    make("Adam", "Smith")
    make("Zed", "Other")
    make("Adele", "Hidden", owner=other_team)
    html = member_client.get(f"/relations/pick/contacts?field=reports_to_id&reports_to_id_q=ad&exclude={ada}",
                             headers=HX).get_data(as_text=True)
    assert "Adam Smith" in html and "Ada Lovelace" not in html and "Zed" not in html and "Adele" not in html
    assert html.count("<option") == 2  # the blank one and Adam
    kept = member_client.get(f"/relations/pick/contacts?reports_to_id={ada}", headers=HX).get_data(as_text=True)
    assert f'<option value="{ada}" selected>Ada Lovelace</option>' in kept
    none = member_client.get("/relations/pick/contacts?q=qqq", headers=HX).get_data(as_text=True)
    assert "No match" in none


def test_contact_form_sets_reports_to_and_refuses_a_cycle(app, member_client, make):
    boss, worker = make("Boss"), make("Worker")
    form = member_client.get(f"/contacts/{worker}/edit", headers=HX).get_data(as_text=True)
    assert 'name="reports_to_id"' in form and 'hx-get="/relations/pick/contacts' in form
    assert member_client.post(f"/contacts/{worker}/edit", data={"first_name": "Worker", "reports_to_id": boss},
                              headers=HX).status_code == 200
    response = member_client.post(f"/contacts/{boss}/edit", data={"first_name": "Boss", "reports_to_id": worker},
                                  headers=HX)
    assert response.status_code == 422
    assert "Worker Test already reports to Boss Test" in response.get_data(as_text=True)
    form = member_client.get(f"/contacts/{worker}/edit", headers=HX).get_data(as_text=True)
    assert f'<option value="{boss}" selected>Boss Test</option>' in form


def test_reporting_panel_shows_chain_and_direct_reports(app, member_client, make, make_org):
    org = make_org("Acme")
    top = make("Top", organization_id=org)
    mid = make("Mid", reports_to_id=top)
    make("Low", reports_to_id=mid)
    html = member_client.get(f"/contacts/{mid}/reporting", headers=HX).get_data(as_text=True)
    assert "Top Test" in html and "Low Test" in html
    page = member_client.get(f"/contacts/{mid}").get_data(as_text=True)
    assert f"/contacts/{mid}/reporting" in page and f"/contacts/{mid}/relationships" in page


def test_relationship_modal_create_both_sides_edit_delete(app, member_client, make):
    ada, bob = make("Ada"), make("Bob")
    form = member_client.get(f"/contacts/{bob}/relationships/new", headers=HX).get_data(as_text=True)
    assert "reports to" in form and 'name="other_contact_id"' in form
    manager = type_id(app, "manager of")
    bad = member_client.post(f"/contacts/{bob}/relationships/new", headers=HX, data={
        "type_id": f"-{manager}", "other_contact_id": ada, "start_date": "2024-02-01", "end_date": "2024-01-01"})
    assert bad.status_code == 422 and "The end date cannot be before the start date." in bad.get_data(as_text=True)
    ok = member_client.post(f"/contacts/{bob}/relationships/new", headers=HX, data={
        "type_id": f"-{manager}", "other_contact_id": ada, "start_date": "2024-01-01"})
    assert ok.status_code == 200
    assert json.loads(ok.headers["HX-Trigger"]) == {"closeModal": True, "relationsChanged": True}
    bob_panel = member_client.get(f"/contacts/{bob}/relationships", headers=HX).get_data(as_text=True)
    ada_panel = member_client.get(f"/contacts/{ada}/relationships", headers=HX).get_data(as_text=True)
    assert "Reports to" in bob_panel and "Ada Test" in bob_panel
    assert "Manager of" in ada_panel and "Bob Test" in ada_panel
    with app.app_context():
        rel_id = db.session.scalar(select(Relationship.id))
    edit = member_client.get(f"/relationships/{rel_id}/edit?from={bob}", headers=HX)
    assert edit.status_code == 200 and "2024-01-01" in edit.get_data(as_text=True)
    saved = member_client.post(f"/relationships/{rel_id}/edit?from={bob}", headers=HX,
                               data={"type_id": manager, "start_date": "2024-01-01", "end_date": "", "note": "hi"})
    assert saved.status_code == 200
    back = member_client.post(f"/contacts/{ada}/relationships/new", headers=HX, data={  # Ada reports to Bob too?
        "type_id": f"-{manager}", "other_contact_id": bob, "start_date": "2024-03-01"})
    assert back.status_code == 422 and "cannot also be manager of" in back.get_data(as_text=True)
    assert member_client.post(f"/relationships/{rel_id}/delete?from={bob}", headers=HX).status_code == 200
    with app.app_context():
        assert db.session.get(Relationship, rel_id) is None


def test_viewer_sees_but_cannot_add(app, member_client, viewer_client, make):
    ada, bob = make("Ada"), make("Bob")
    member_client.post(f"/contacts/{ada}/relationships/new", headers=HX,
                       data={"type_id": type_id(app, "spouse of"), "other_contact_id": bob})
    panel = viewer_client.get(f"/contacts/{bob}/relationships", headers=HX).get_data(as_text=True)
    assert "Spouse of" in panel and "Add relationship" not in panel and "Delete" not in panel
    assert viewer_client.get(f"/contacts/{bob}/relationships/new", headers=HX).status_code == 403
    assert viewer_client.post(f"/contacts/{bob}/relationships/new", headers=HX,
                              data={"type_id": type_id(app, "spouse of"), "other_contact_id": ada}).status_code == 403


def test_organization_form_parent_section_and_chart(app, member_client, make, make_org):
    group, shop = make_org("Group"), make_org("Shop")
    form = member_client.get(f"/organizations/{shop}/edit", headers=HX).get_data(as_text=True)
    assert 'name="parent_id"' in form
    data = {"name": "Shop", "owner_team_id": "", "parent_id": group}
    with app.app_context():
        data["owner_team_id"] = db.session.get(Organization, shop).owner_team_id
    assert member_client.post(f"/organizations/{shop}/edit", data=data, headers=HX).status_code == 200
    cycle = member_client.post(f"/organizations/{group}/edit", headers=HX,
                               data={"name": "Group", "owner_team_id": data["owner_team_id"], "parent_id": shop})
    assert cycle.status_code == 422 and "Shop already belongs to Group" in cycle.get_data(as_text=True)
    section = member_client.get(f"/organizations/{group}/relations", headers=HX).get_data(as_text=True)
    assert "Shop" in section and "No parent organization." in section
    section = member_client.get(f"/organizations/{shop}/relations", headers=HX).get_data(as_text=True)
    assert "Group" in section
    assert f"/organizations/{shop}/relations" in member_client.get(f"/organizations/{shop}").get_data(as_text=True)
    boss = make("Boss", organization_id=shop)
    make("Worker", organization_id=shop, reports_to_id=boss)
    chart = member_client.get(f"/organizations/{shop}/chart").get_data(as_text=True)
    assert "Boss Test" in chart and "Worker Test" not in chart and "1 report" in chart
    level = member_client.get(f"/organizations/{shop}/chart/nodes?under={boss}", headers=HX).get_data(as_text=True)
    assert "Worker Test" in level


def test_org_chart_pages_a_big_level(app, member_client, team, make_org):
    org = make_org("Big")
    with app.app_context():
        t = db.session.merge(team)
        db.session.add_all([Contact(first_name=f"P{i:03}", last_name="X", sort_name=f"x p{i:03}", type="person",
                                    status="active", owner_team_id=t.id, organization_id=org) for i in range(60)])
        db.session.commit()
    chart = member_client.get(f"/organizations/{org}/chart").get_data(as_text=True)
    assert chart.count('role="treeitem"') == 50 and "Load more" in chart


def test_admin_relationship_types_page(app, admin_client, member_client):
    assert member_client.get("/admin/relationship-types").status_code == 403
    page = admin_client.get("/admin/relationship-types").get_data(as_text=True)
    assert "manager of" in page and "reports to" in page
    assert admin_client.post("/admin/relationship-types", data={"name": "mentor of", "inverse_label": "mentee of",
                                                               "target_kind": "contact"}).status_code == 302
    bad = admin_client.post("/admin/relationship-types", data={"name": "", "target_kind": "contact"})
    assert bad.status_code == 422
    mentor = type_id(app, "mentor of")
    assert admin_client.post(f"/admin/relationship-types/{mentor}", data={"active": "0"}).status_code == 302
    assert admin_client.post(f"/admin/relationship-types/{mentor}",
                             data={"name": "coach of", "inverse_label": "coached by"}).status_code == 302
    with app.app_context():
        rtype = db.session.get(RelationshipType, mentor)
        assert (rtype.name, rtype.inverse_label, rtype.active) == ("coach of", "coached by", False)


def test_a_manager_the_user_cannot_see_is_kept_when_the_form_is_saved(app, member_client, make, other_team):
    hidden_boss = make("Hidden", owner=other_team)
    worker = make("Worker", reports_to_id=hidden_boss)
    form = member_client.get(f"/contacts/{worker}/edit", headers=HX).get_data(as_text=True)
    assert f'<option value="{hidden_boss}" selected>(not visible to you: kept)</option>' in form
    assert "Hidden" not in form
    member_client.post(f"/contacts/{worker}/edit", headers=HX,
                       data={"first_name": "Worker", "phone": "", "reports_to_id": str(hidden_boss)})
    with app.app_context():
        assert db.session.get(Contact, worker).reports_to_id == hidden_boss
