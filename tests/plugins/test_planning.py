"""The planning plugin: static contact lists, their members (added from the list page and from
the contacts table), the contact panel, the "In list" search filter, permissions, the merge
hook and running without the plugin."""

from __future__ import annotations

import json
import re

import pytest
from flask_login import login_user

from core import create_app, hookimpl
from core.errors import NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact
from core.services.contacts import list_contacts
from plugins.planning import services
from plugins.planning.models import ContactList, ListMember
from tests import factories
from tests.conftest import test_config

HX = {"HX-Request": "true"}


@pytest.fixture
def contact_id(app, team):
    with app.app_context():
        return factories.contact(db.session.merge(team), "Grace", "Hopper").id


@pytest.fixture
def foreign_contact_id(app, other_team):
    with app.app_context():
        return factories.contact(db.session.merge(other_team), "Alan", "Turing").id


def _list(app, user, name="Prospects", **data) -> int:
    with app.test_request_context():
        return services.create_list(user, {"name": name, **data}).id


def _add(app, user, list_id, contact_id):
    with app.test_request_context():
        return services.add_member(user, list_id, contact_id)


def _member_ids(app, list_id) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(db.select(ListMember.contact_id).where(ListMember.list_id == list_id)))


class Spy:
    def __init__(self):
        self.calls = []

    @hookimpl
    def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
        self.calls.append((entity_type, entity_id, action, changes))


def test_changes_reach_the_event_hook_after_commit(app, member, contact_id):
    spy = Spy()
    pm = app.extensions["contacts_pm"]
    pm.register(spy, name="test-planning-spy")
    try:
        list_id = _list(app, member, "Events")
        _add(app, member, list_id, contact_id)
        with app.test_request_context():
            services.update_list(member, list_id, {"name": "Renamed"})
            services.remove_member(member, list_id, contact_id)
            services.delete_list(member, list_id)
    finally:
        pm.unregister(spy)
    assert [c[:3] for c in spy.calls] == [
        ("planning_list", list_id, "created"), ("planning_list_member", list_id, "created"),
        ("planning_list", list_id, "updated"), ("planning_list_member", list_id, "deleted"),
        ("planning_list", list_id, "deleted"),
    ]
    assert spy.calls[1][3]["contact_id"] == (None, contact_id)
    assert spy.calls[2][3]["name"] == ("Events", "Renamed")


# --- lists CRUD --------------------------------------------------------------------------------


def test_create_a_list(app, member_client, member):
    response = member_client.post("/planning/lists", data={"name": "Q3 prospects", "description": "Call them"}, headers=HX)
    assert response.status_code == 200
    with app.app_context():
        lst = db.session.scalars(db.select(ContactList)).one()
        assert (lst.name, lst.name_key, lst.description, lst.owner_team_id, lst.created_by_id) == (
            "Q3 prospects", "q3 prospects", "Call them", member.team_ids[0], member.id)
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "planning_list")).one()
        assert (entry.action, entry.entity_id) == ("created", lst.id)
    assert response.headers["HX-Redirect"] == f"/planning/lists/{lst.id}"
    page = member_client.get("/planning/lists").get_data(as_text=True)
    assert "Q3 prospects" in page and "New list" in page
    assert member_client.get("/planning/lists/new").status_code == 200


def test_plain_create_redirects(member_client):
    response = member_client.post("/planning/lists", data={"name": "Plain"})
    assert response.status_code == 302 and "/planning/lists/" in response.headers["Location"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "n" * 201}, "name", "At most 200 characters"),
        ({"name": "PROSPECTS"}, "name", "This team already has a list with this name."),
        ({"name": "Other", "description": "d" * 2001}, "description", "At most 2000 characters"),
        ({"name": "Other", "owner_team_id": "abc"}, "owner_team_id", "Must be a number."),
        ({"name": "Other", "color": "red"}, "color", "Unknown field."),
    ],
)
def test_create_list_422_inline(app, member_client, member, data, field, message):
    _list(app, member, "Prospects")
    response = member_client.post("/planning/lists", data=data, headers=HX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and "field-error" in html and html.lstrip().startswith('<form id="list-form"')
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        services.create_list(member, data)
    assert field in caught.value.errors


def test_cannot_create_a_list_for_another_team(app, member, outsider):
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        services.create_list(member, {"name": "Theirs", "owner_team_id": str(outsider.team_ids[0])})
    assert caught.value.errors == {"owner_team_id": ["Choose one of your teams."]}


def test_same_name_in_another_team_is_fine(app, member, outsider):
    _list(app, member, "Shared name")
    _list(app, outsider, "Shared name")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ContactList)) == 2


def test_edit_a_list(app, member_client, member):
    list_id = _list(app, member, "Old")
    _list(app, member, "Taken")
    assert "Old" in member_client.get(f"/planning/lists/{list_id}/edit").get_data(as_text=True)
    bad = member_client.post(f"/planning/lists/{list_id}/edit", data={"name": "taken"}, headers=HX)
    assert bad.status_code == 422 and "already has a list" in bad.get_data(as_text=True)
    response = member_client.post(f"/planning/lists/{list_id}/edit", data={"name": "New", "description": "x"})
    assert response.status_code == 302
    with app.app_context():
        lst = db.session.get(ContactList, list_id)
        assert (lst.name, lst.name_key, lst.description) == ("New", "new", "x")


def test_delete_a_list_keeps_its_contacts(app, member_client, member, contact_id):
    list_id = _list(app, member)
    _add(app, member, list_id, contact_id)
    page = member_client.get(f"/planning/lists/{list_id}").get_data(as_text=True)
    assert f'hx-post="/planning/lists/{list_id}/delete"' in page
    response = member_client.post(f"/planning/lists/{list_id}/delete", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/planning/lists"
    with app.app_context():
        assert db.session.get(ContactList, list_id) is None
        assert db.session.scalar(db.select(db.func.count()).select_from(ListMember)) == 0
        assert db.session.get(Contact, contact_id) is not None
    assert member_client.post(f"/planning/lists/{list_id}/delete").status_code == 404
    assert member_client.delete(f"/planning/lists/{list_id}").status_code == 404


def test_lists_page_pages_by_name(app, member, client_for):
    for i in range(55):
        _list(app, member, f"List {i:02d}")
    client = client_for(member)
    html = client.get("/planning/lists").get_data(as_text=True)
    names = re.findall(r">(List \d\d)</a>", html)
    assert names == [f"List {i:02d}" for i in range(50)]
    more_url = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html).group(1)
    rest = client.get(more_url, headers=HX).get_data(as_text=True)
    assert re.findall(r">(List \d\d)</a>", rest) == [f"List {i:02d}" for i in range(50, 55)]
    assert "<html" not in rest


# --- permissions -------------------------------------------------------------------------------


def test_viewer_can_look_but_not_change(app, viewer_client, member, contact_id):
    list_id = _list(app, member)
    _add(app, member, list_id, contact_id)
    page = viewer_client.get("/planning/lists").get_data(as_text=True)
    assert "Prospects" in page and "New list" not in page
    show = viewer_client.get(f"/planning/lists/{list_id}").get_data(as_text=True)
    assert "Grace Hopper" in show and "Remove" not in show and "Delete list" not in show
    assert viewer_client.post("/planning/lists", data={"name": "Mine"}).status_code == 403
    assert viewer_client.post(f"/planning/lists/{list_id}/members", data={"contact_id": contact_id}).status_code == 403
    assert viewer_client.delete(f"/planning/lists/{list_id}/members/{contact_id}").status_code == 403
    assert viewer_client.delete(f"/planning/lists/{list_id}").status_code == 403
    assert _member_ids(app, list_id) == {contact_id}


def test_outsider_gets_404(app, outsider_client, member, contact_id):
    list_id = _list(app, member)
    assert "Prospects" not in outsider_client.get("/planning/lists").get_data(as_text=True)
    for url in (f"/planning/lists/{list_id}", f"/planning/lists/{list_id}/edit", f"/planning/lists/{list_id}/search?q=a",
                f"/planning/contacts/{contact_id}/add", f"/planning/contacts/{contact_id}/lists"):
        assert outsider_client.get(url).status_code == 404, url
    assert outsider_client.post(f"/planning/lists/{list_id}/delete").status_code == 404
    assert outsider_client.post(f"/planning/lists/{list_id}/members", data={"contact_id": contact_id}).status_code == 404


def test_huge_ids_are_404_or_422(app, member_client, member, contact_id):
    from core.services.pagination import encode_cursor

    list_id = _list(app, member)
    big = 4294967296
    assert member_client.get(f"/planning/lists/{big}").status_code == 404
    assert member_client.get(f"/planning/contacts/{big}/lists").status_code == 404
    assert member_client.post(f"/planning/lists/{list_id}/members", data={"contact_id": str(big)}).status_code == 422
    assert member_client.post(f"/planning/contacts/{contact_id}/add", data={"list_id": str(big)}).status_code == 422
    cursor = encode_cursor(["2026-01-01T00:00:00", big])
    assert member_client.get(f"/planning/lists/{list_id}", query_string={"cursor": cursor}).status_code == 422
    assert member_client.get("/planning/lists", query_string={"cursor": encode_cursor(["a", big])}).status_code == 422


def test_member_cannot_add_a_contact_they_cannot_see(app, member, foreign_contact_id):
    list_id = _list(app, member)
    with app.test_request_context(), pytest.raises(NotFound):
        services.add_member(member, list_id, foreign_contact_id)


def test_members_hidden_from_users_who_may_not_see_them(app, admin, member, contact_id, foreign_contact_id):
    list_id = _list(app, member)
    _add(app, admin, list_id, contact_id)
    _add(app, admin, list_id, foreign_contact_id)  # an admin may mix teams
    with app.test_request_context():
        assert {m.contact_id for m in services.members(member, list_id).items} == {contact_id}
        assert {m.contact_id for m in services.members(admin, list_id).items} == {contact_id, foreign_contact_id}


# --- members from the list page ------------------------------------------------------------------


def test_search_and_add_from_the_list_page(app, member_client, member, contact_id, foreign_contact_id, team):
    list_id = _list(app, member)
    with app.app_context():
        other_id = factories.contact(db.session.merge(team), "Ada", "Hopper").id
        factories.contact(db.session.merge(team), "Hopper", "Smith")
    html = member_client.get(f"/planning/lists/{list_id}/search?q=hopper", headers=HX).get_data(as_text=True)
    # Last names and first names both match as the user types.
    assert "Grace Hopper" in html and "Ada Hopper" in html and "Hopper Smith" in html
    assert html.count(">Add</button>") == 3

    response = member_client.post(f"/planning/lists/{list_id}/members", data={"contact_id": contact_id}, headers=HX)
    assert response.status_code == 200
    added = response.get_data(as_text=True)
    assert 'hx-swap-oob="afterbegin:#members"' in added and f'id="member-{contact_id}"' in added
    assert _member_ids(app, list_id) == {contact_id}

    again = member_client.get(f"/planning/lists/{list_id}/search?q=hopper", headers=HX).get_data(as_text=True)
    assert again.count(">Add</button>") == 2 and "In list" in again
    # Adding twice changes nothing; an unknown contact is a 404; a bad id names the field.
    assert member_client.post(f"/planning/lists/{list_id}/members", data={"contact_id": contact_id}).status_code == 302
    assert member_client.post(f"/planning/lists/{list_id}/members", data={"contact_id": foreign_contact_id}).status_code == 404
    bad = member_client.post(f"/planning/lists/{list_id}/members", data={"contact_id": "x"})
    assert bad.status_code == 422
    with app.app_context():
        audits = db.session.scalars(db.select(AuditEntry.action).where(AuditEntry.entity_type == "planning_list_member")).all()
    assert audits == ["created"]
    assert other_id not in _member_ids(app, list_id)


def test_open_a_list_pages_members_newest_first(app, member_client, member, team):
    list_id = _list(app, member)
    with app.app_context():
        ids = [factories.contact(db.session.merge(team), "P", f"Person{i:02d}").id for i in range(53)]
    for cid in ids:
        _add(app, member, list_id, cid)
    html = member_client.get(f"/planning/lists/{list_id}").get_data(as_text=True)
    shown = [int(x) for x in re.findall(r'id="member-(\d+)"', html)]
    with app.app_context():
        order = db.session.execute(
            db.select(ListMember.contact_id).where(ListMember.list_id == list_id)
            .order_by(ListMember.added_at.desc(), ListMember.contact_id.desc())
        ).scalars().all()
    assert shown == order[:50]
    more_url = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html).group(1)
    rest = member_client.get(more_url, headers=HX).get_data(as_text=True)
    assert [int(x) for x in re.findall(r'id="member-(\d+)"', rest)] == order[50:]
    assert "<html" not in rest and "Load more" not in rest


def test_remove_a_member(app, member_client, member, contact_id, team):
    list_id = _list(app, member)
    with app.app_context():
        second = factories.contact(db.session.merge(team), "Ada", "King").id
    _add(app, member, list_id, contact_id)
    _add(app, member, list_id, second)
    page = member_client.get(f"/planning/lists/{list_id}").get_data(as_text=True)
    remove_url = f"/planning/lists/{list_id}/members/{contact_id}/delete"
    assert f'hx-post="{remove_url}"' in page
    response = member_client.post(remove_url, headers=HX)
    assert response.status_code == 200 and response.data == b""
    assert _member_ids(app, list_id) == {second}
    _add(app, member, list_id, contact_id)
    panel = member_client.get(f"/planning/contacts/{contact_id}/lists").get_data(as_text=True)
    assert f'hx-post="{remove_url}"' in panel
    assert member_client.delete(f"/planning/lists/{list_id}/members/{contact_id}", headers=HX).status_code == 200
    assert _member_ids(app, list_id) == {second}
    plain = member_client.post(f"/planning/lists/{list_id}/members/{second}/delete")
    assert plain.status_code == 302
    assert _member_ids(app, list_id) == set()
    with app.test_request_context():
        assert services.remove_member(member, list_id, second) is False


# --- from the contacts table and the contact page ---------------------------------------------------


def test_add_to_list_action_and_modal_form(app, member, viewer, member_client, contact_id, outsider):
    list_id = _list(app, member, "Newsletter")
    _list(app, outsider, "Not visible")
    relay = app.extensions["contacts_pm"].hook
    with app.test_request_context():
        contact = db.session.get(Contact, contact_id)
        actions = [a for group in relay.contacts_contact_actions(contact=contact, user=member) for a in group]
        assert [(a.label, a.url, a.method) for a in actions] == [("Add to list", f"/planning/contacts/{contact_id}/add", "get")]
        assert [a for group in relay.contacts_contact_actions(contact=contact, user=viewer) for a in group] == []

    form = member_client.get(f"/planning/contacts/{contact_id}/add", headers=HX).get_data(as_text=True)
    assert "<html" not in form and "Newsletter" in form and "Not visible" not in form
    response = member_client.post(f"/planning/contacts/{contact_id}/add", data={"list_id": str(list_id)}, headers=HX)
    assert response.status_code == 200 and "Added to “Newsletter”" in response.get_data(as_text=True)
    assert "(already in)" in response.get_data(as_text=True)
    assert _member_ids(app, list_id) == {contact_id}


@pytest.mark.parametrize("value", ["", "abc", "99999999", "foreign"])
def test_add_to_list_form_422(app, member, outsider, member_client, contact_id, value):
    _list(app, member, "Newsletter")
    if value == "foreign":
        value = str(_list(app, outsider, "Theirs"))
    response = member_client.post(f"/planning/contacts/{contact_id}/add", data={"list_id": value}, headers=HX)
    assert response.status_code == 422
    assert "field-error" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ListMember)) == 0


def test_contact_panel_shows_the_lists(app, member_client, viewer_client, member, contact_id):
    a = _list(app, member, "Alpha")
    _list(app, member, "Beta")
    _add(app, member, a, contact_id)
    relay = app.extensions["contacts_pm"].hook
    with app.test_request_context():
        contact = db.session.get(Contact, contact_id)
        panels = [p for group in relay.contacts_contact_panels(contact=contact, user=member) for p in group]
        panel = next(p for p in panels if p.key == "lists")
    assert panel.url == f"/planning/contacts/{contact_id}/lists"
    html = member_client.get(panel.url, headers=HX).get_data(as_text=True)
    assert 'id="planning-panel"' in html and "Alpha" in html and "Beta" not in html
    assert "Remove" in html and "Add to list" in html
    viewer_html = viewer_client.get(panel.url).get_data(as_text=True)
    assert "Alpha" in viewer_html and "Remove" not in viewer_html and "Add to list" not in viewer_html


def test_nav_item(app, member_client, member):
    relay = app.extensions["contacts_pm"].hook
    with app.test_request_context():
        items = [i for group in relay.contacts_nav_items(user=member) for i in group]
    assert [(i.label, i.url) for i in items if i.label == "Lists"] == [("Lists", "/planning/lists")]
    assert 'href="/planning/lists"' in member_client.get("/planning/lists").get_data(as_text=True)


# --- the "In list" search filter ---------------------------------------------------------------------


def test_in_list_filter_narrows_the_contacts(app, member, outsider, contact_id, team):
    list_id = _list(app, member, "VIP")
    foreign_list = _list(app, outsider, "Theirs")
    with app.app_context():
        other = factories.contact(db.session.merge(team), "Grace", "Kelly").id
    _add(app, member, list_id, contact_id)
    relay = app.extensions["contacts_pm"].hook
    with app.test_request_context():
        login_user(db.session.get(type(member), member.id))
        filters = [f for group in relay.contacts_search_filters() for f in group]
        flt = next(f for f in filters if f.key == "list")
        assert flt.label == "In list"
        assert flt.options(member) == [(str(list_id), "VIP")]
        everyone = {c.id for c in list_contacts(member).items}
        narrowed = {c.id for c in list_contacts(member, extra_filters=[lambda s: flt.apply(s, str(list_id))]).items}
        assert everyone == {contact_id, other} and narrowed == {contact_id}
        assert {c.id for c in list_contacts(member, extra_filters=[lambda s: flt.apply(s, "")]).items} == everyone
        for bad in ("abc", "0", str(foreign_list), "123456789"):
            with pytest.raises(ValidationError) as caught:
                list_contacts(member, extra_filters=[lambda s, bad=bad: flt.apply(s, bad)])
            assert "list" in caught.value.errors


def test_contacts_page_filters_by_list_and_offers_the_action(app, member_client, member, contact_id, team):
    list_id = _list(app, member, "VIP")
    with app.app_context():
        factories.contact(db.session.merge(team), "Ada", "Kelly")
    _add(app, member, list_id, contact_id)
    everything = member_client.get("/").get_data(as_text=True)
    assert "Ada Kelly" in everything and "Grace Hopper" in everything
    assert "In list" in everything and f'value="{list_id}"' in everything
    assert f'hx-get="/planning/contacts/{contact_id}/add"' in everything
    narrowed = member_client.get(f"/?list={list_id}").get_data(as_text=True)
    assert "Grace Hopper" in narrowed and "Ada Kelly" not in narrowed
    rows = member_client.get(f"/?list={list_id}", headers=HX).get_data(as_text=True)
    assert "Grace Hopper" in rows and "Ada Kelly" not in rows and "<html" not in rows
    refused = member_client.get("/?list=abc")
    assert refused.status_code in (200, 422) and "Ada Kelly" not in refused.get_data(as_text=True)
    page = member_client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert 'id="panel-lists"' in page and 'id="planning-panel"' in page  # the panel, rendered inline


def test_add_form_works_as_a_plain_page(member_client, member, app, contact_id):
    list_id = _list(app, member, "Newsletter")
    html = member_client.get(f"/planning/contacts/{contact_id}/add").get_data(as_text=True)
    assert "<html" in html and "Newsletter" in html
    response = member_client.post(f"/planning/contacts/{contact_id}/add", data={"list_id": str(list_id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/planning/lists/{list_id}")


# --- merge hook ----------------------------------------------------------------------------------------


def test_merge_hook_repoints_memberships_without_duplicates(app, member, admin, team, contact_id):
    with app.app_context():
        target_id = factories.contact(db.session.merge(team), "Grace", "Brewster").id
    only_source, both, only_target = _list(app, member, "A"), _list(app, member, "B"), _list(app, member, "C")
    _add(app, member, only_source, contact_id)
    _add(app, member, both, contact_id)
    _add(app, member, both, target_id)
    _add(app, member, only_target, target_id)
    with app.test_request_context():
        target, source = db.session.get(Contact, target_id), db.session.get(Contact, contact_id)
        app.extensions["contacts_pm"].hook.contacts_contacts_merged(target=target, source=source, actor=admin)
    with app.app_context():
        rows = db.session.execute(db.select(ListMember.list_id, ListMember.contact_id)).all()
    assert sorted(rows) == sorted([(only_source, target_id), (both, target_id), (only_target, target_id)])


def _members(app, contact_id):
    with app.app_context():
        return sorted(db.session.execute(
            db.select(ListMember.list_id, ListMember.contact_id, ListMember.added_at, ListMember.added_by_id)
            .where(ListMember.contact_id == contact_id)).all())


def _merge_pair(app, admin, target_id, source_id):
    with app.test_request_context():
        target, source = db.session.get(Contact, target_id), db.session.get(Contact, source_id)
        answers = app.extensions["contacts_pm"].hook.contacts_contacts_merged(target=target, source=source, actor=admin)
        return json.loads(json.dumps({k: v for a in answers for k, v in a.items()}))


def _unmerge_pair(app, admin, target_id, source_id, undo):
    with app.test_request_context():
        target, source = db.session.get(Contact, target_id), db.session.get(Contact, source_id)
        app.extensions["contacts_pm"].hook.contacts_contacts_unmerged(target=target, source=source, actor=admin,
                                                                      undo=undo)


def test_unmerge_hook_restores_moved_and_deduplicated_memberships(app, member, manager, admin, team, contact_id):
    with app.app_context():
        target_id = factories.contact(db.session.merge(team), "Grace", "Brewster").id
    only_source, both, only_target = _list(app, member, "A"), _list(app, member, "B"), _list(app, member, "C")
    _add(app, member, only_source, contact_id)
    _add(app, manager, both, contact_id)  # a different adder: it must come back as it was
    _add(app, member, both, target_id)
    _add(app, member, only_target, target_id)
    before_source, before_target = _members(app, contact_id), _members(app, target_id)

    undo = _merge_pair(app, admin, target_id, contact_id)
    assert undo["planning"]["moved"] == [only_source]
    assert [d["list_id"] for d in undo["planning"]["dropped"]] == [both]
    assert _members(app, contact_id) == []

    _unmerge_pair(app, admin, target_id, contact_id, undo)
    assert _members(app, contact_id) == before_source
    assert _members(app, target_id) == before_target
    _unmerge_pair(app, admin, target_id, contact_id, undo)  # idempotent
    assert _members(app, contact_id) == before_source and _members(app, target_id) == before_target
    with app.app_context():
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "unmerged")).one()
        assert entry.changes["restored"] == [None, 2]


def test_unmerge_hook_skips_lists_deleted_since(app, member, admin, team, contact_id):
    with app.app_context():
        target_id = factories.contact(db.session.merge(team), "Grace", "Brewster").id
    gone, kept, shared = _list(app, member, "Gone"), _list(app, member, "Kept"), _list(app, member, "Shared")
    _add(app, member, gone, contact_id)
    _add(app, member, kept, contact_id)
    _add(app, member, shared, contact_id)
    _add(app, member, shared, target_id)
    undo = _merge_pair(app, admin, target_id, contact_id)
    with app.test_request_context():
        services.delete_list(member, gone)
        services.delete_list(member, shared)
    _unmerge_pair(app, admin, target_id, contact_id, undo)
    assert [m.list_id for m in _members(app, contact_id)] == [kept]
    assert _members(app, target_id) == []


def test_merge_hook_returns_none_without_memberships(app, admin, team, contact_id):
    with app.app_context():
        target_id = factories.contact(db.session.merge(team), "Grace", "Brewster").id
    assert "planning" not in _merge_pair(app, admin, target_id, contact_id)


# --- the app without the plugin ----------------------------------------------------------------------


@pytest.mark.parametrize("plugins", [[], ["communications"]])
def test_app_works_without_planning(tmp_path_factory, plugins):
    app = create_app(test_config(tmp_path_factory), plugins=plugins)
    assert "planning" not in app.blueprints and "planning" not in app.extensions["contacts_plugins"]
    relay = app.extensions["contacts_pm"].hook
    assert not [f for group in relay.contacts_search_filters() for f in group if f.key == "list"]
    client = app.test_client()
    assert client.get("/planning/lists").status_code == 404
    assert client.get("/").status_code == 302


def test_service_refuses_viewer(app, viewer, member, contact_id):
    list_id = _list(app, member)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            services.create_list(viewer, {"name": "Nope"})
        with pytest.raises(PermissionDenied):
            services.add_member(viewer, list_id, contact_id)
        with pytest.raises(PermissionDenied):
            services.delete_list(viewer, list_id)
