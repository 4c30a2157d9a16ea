"""The contacts list's uncached render path: rows read as plain values (``list_contacts(rows=True)``),
permissions decided once per page (``policy.contact_permissions``), rows built in Python
(core/views/list_rows.py) and the toolbar's choices and saved views read from the cache until a
write changes the shared stamp (core/services/list_choices.py)."""

from __future__ import annotations

import re

import pytest

from core import hookimpl
from core.database import transaction
from core.extensions import db
from core.models import Contact, utcnow
from core.policy import can, contact_permissions
from core.services import contact_rows, custom_fields, groups, saved_views, tags
from core.services import contacts as contact_service
from tests import factories
from tests.statements import captured

# The render path itself: the shared page cache (core/views/page_cache.py) is bypassed, as the bench does
FRESH = {"Cache-Control": "no-cache"}
HX = {"HX-Request": "true", **FRESH}


@pytest.fixture
def statements(app):
    return lambda: captured(app, selects_only=True)


def _contacts(app, team, *names, **extra) -> list[int]:
    with app.app_context():
        t = db.session.merge(team)
        return [factories.contact(t, first, last, **extra).id for first, last in names]


# --- the rows ------------------------------------------------------------------------------------


def test_rows_are_plain_values_in_the_same_order_as_entities(ctx, team, member):
    t = db.session.merge(team)
    org = factories.organization(t, "Acme")
    for i, (first, last) in enumerate([("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Ann", "Adams")]):
        factories.contact(t, first, last, organization_id=org.id if i % 2 else None, status="lead" if i else "active")
    user = db.session.merge(member)
    for kwargs in ({"sort": "name"}, {"sort": "-created"}, {"sort": "name", "q": "a"}, {"status": "lead"}):
        entities = contact_service.list_contacts(user, limit=2, **kwargs)
        rows = contact_service.list_contacts(user, limit=2, rows=True, **kwargs)
        assert [r.id for r in rows.items] == [c.id for c in entities.items], kwargs
        assert rows.next_cursor == entities.next_cursor
        assert all(isinstance(r, contact_rows.ContactRow) for r in rows.items)
        for row, entity in zip(rows.items, entities.items, strict=True):
            assert row.full_name == entity.full_name
            assert (row.status, row.owner_team_id, row.organization_id) == (
                entity.status, entity.owner_team_id, entity.organization_id)
        if rows.next_cursor:  # the next page from the same cursor, either way
            more = contact_service.list_contacts(user, limit=2, rows=True, cursor=rows.next_cursor, **kwargs)
            assert [r.id for r in more.items] == [
                c.id for c in contact_service.list_contacts(user, limit=2, cursor=rows.next_cursor, **kwargs).items]


@pytest.mark.parametrize("limit", [1, 2, 10])
def test_rows_sorted_by_a_custom_field(ctx, member, admin, limit):
    custom_fields.create_field(admin, {"key": "rank", "label": "Rank", "kind": "number"})
    ids = [contact_service.create_contact(member, {"first_name": "Ann", "last_name": name, "custom_fields": values}).id
           for name, values in (("Ames", {"rank": 3}), ("Baker", {"rank": 1}), ("Cole", {}))]
    seen, cursor = [], None
    while True:
        page = contact_service.list_contacts(member, sort="cf_rank", rows=True, limit=limit, cursor=cursor)
        assert all(isinstance(r, contact_rows.ContactRow) for r in page.items)
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [ids[1], ids[0], ids[2]]  # by rank, then those without one by name


def test_row_values_are_escaped(app, team, member_client):
    with app.app_context():
        t = db.session.merge(team)
        org = factories.organization(t, "Smith & <Sons>")
        factories.contact(t, "<b>Ada</b>", "O'Brien\"", email="ada+x@example.org", organization_id=org.id)
    html = member_client.get("/", headers=HX).get_data(as_text=True)
    assert "<b>Ada</b>" not in html and "&lt;b&gt;Ada&lt;/b&gt; O&#39;Brien&#34;" in html
    assert 'aria-label="Select &lt;b&gt;Ada&lt;/b&gt; O&#39;Brien&#34;"' in html
    assert 'hx-confirm="Move &lt;b&gt;Ada&lt;/b&gt; O&#39;Brien&#34; to the trash?"' in html
    assert "Smith &amp; &lt;Sons&gt;" in html and "<Sons>" not in html
    assert 'href="mailto:ada+x@example.org"' in html


def test_tag_chips_are_escaped_and_link_to_the_tag(app, team, member, member_client):
    (cid,) = _contacts(app, team, ("Ada", "Lovelace"))
    with app.test_request_context():
        user = db.session.merge(member)
        with transaction():
            tags.set_contact_tags(user, db.session.get(Contact, cid), ["<i>vip</i>"])
        tag_id = tags.find("<i>vip</i>").id
    html = member_client.get("/", headers=HX).get_data(as_text=True)
    assert f'<a class="chip" href="/?tag={tag_id}"' in html and "&lt;i&gt;vip&lt;/i&gt;</a>" in html
    assert "<i>vip</i>" not in html
    assert member_client.get(f"/?tag={tag_id}", headers=HX).status_code == 200
    assert "Lovelace" in member_client.get(f"/?tag={tag_id}", headers=HX).get_data(as_text=True)
    assert member_client.get("/?tag=999999", headers=HX).status_code == 422  # no such tag, named


# --- permissions, once per page --------------------------------------------------------------------


class RefuseDeletingKeepers:
    @hookimpl
    def contacts_permission(self, user, action, obj):
        if action == "contact.delete" and getattr(obj, "last_name", "") == "Keeper":
            return False
        return None


class WrapsEveryAnswer:
    @hookimpl(wrapper=True)
    def contacts_permission(self, user, action, obj):
        answer = yield
        return False if action == "contact.edit" and getattr(obj, "first_name", "") == "Frozen" else answer


@pytest.fixture
def plugin(app):
    registered = []

    def register(p):
        app.extensions["contacts_pm"].register(p, name=f"test-{type(p).__name__}")
        registered.append(p)

    yield register
    for p in registered:
        app.extensions["contacts_pm"].unregister(p)


def _actions_of(html: str, cid: int) -> tuple[bool, bool]:
    row = re.search(rf'<tr id="contact-{cid}">(.*?)</tr>', html, re.S).group(1)
    return f'href="/contacts/{cid}/edit"' in row, "Delete</button>" in row


def test_a_plugin_refusal_hides_the_rows_button(app, team, member_client, plugin):
    keeper, other = _contacts(app, team, ("Kim", "Keeper"), ("Otto", "Other"))
    plugin(RefuseDeletingKeepers())
    html = member_client.get("/", headers=HX).get_data(as_text=True)
    assert _actions_of(html, keeper) == (True, False)
    assert _actions_of(html, other) == (True, True)


def test_a_wrapper_plugin_is_asked_per_row(app, team, member_client, plugin):
    frozen, other = _contacts(app, team, ("Frozen", "Fay"), ("Otto", "Other"))
    plugin(WrapsEveryAnswer())
    html = member_client.get("/", headers=HX).get_data(as_text=True)
    assert _actions_of(html, frozen) == (False, True)
    assert _actions_of(html, other) == (True, True)


@pytest.mark.parametrize("role", ["member", "viewer", "admin", "outsider"])
def test_page_permissions_equal_can_per_row(ctx, request, team, other_team, role, plugin, app):
    plugin(RefuseDeletingKeepers())
    user = db.session.merge(request.getfixturevalue(role))
    mine, theirs = db.session.merge(team), db.session.merge(other_team)
    for t in (mine, theirs):
        factories.contact(t, "Kim", "Keeper")
        factories.contact(t, "Otto", "Other")
    rows = db.session.execute(db.select(contact_rows.ROW)).scalars().all()
    actions = ("contact.edit", "contact.delete", "contact.view")
    found = contact_permissions(user, rows, actions)
    assert found == {r.id: tuple(can(user, a, r) for a in actions) for r in rows}
    assert found == {r.id: tuple(can(user, a, db.session.get(Contact, r.id)) for a in actions) for r in rows}


# --- the toolbar's choices and the saved views, from the cache --------------------------------------


def test_full_page_reads_choices_and_views_from_the_cache_until_they_change(app, team, member, member_client, statements):
    _contacts(app, team, ("Ada", "Lovelace"))
    member_client.get("/", headers=FRESH)
    with statements() as seen:
        html = member_client.get("/", headers=FRESH).get_data(as_text=True)
    for table in ("tags", "contact_groups", "categories", "saved_views"):
        assert not [s for s in seen if f"FROM {table}" in s], table
    assert "Brand new tag" not in html and "My leads" not in html
    with app.test_request_context():
        user = db.session.merge(member)
        tags.create_tag(user, {"name": "Brand new tag"})
        saved_views.create_view(user, {"name": "My leads", "query": "status=lead"})
    html = member_client.get("/", headers=FRESH).get_data(as_text=True)
    assert re.search(r'<option value="\d+">Brand new tag</option>', html)
    assert "My leads" in html
    with app.test_request_context():
        groups.create_group(db.session.merge(member), {"name": "Golfers", "owner_team_id": team.id})
    assert re.search(r'<option value="\d+">Golfers</option>', member_client.get("/", headers=FRESH).get_data(as_text=True))


def test_full_page_costs_the_same_statements_as_the_fragment(app, team, member_client, statements):
    """The toolbar's choices and views come from the cache, keyed by the shared stamps the page read
    with its version (stamps.shared_version): no statement of their own (was one stamp read)."""
    _contacts(app, team, *[("Ann", f"Row{i:02d}") for i in range(5)])
    member_client.get("/", headers=FRESH)
    member_client.get("/", headers=HX)
    with statements() as fragment:
        member_client.get("/", headers=HX)
    with statements() as full:
        member_client.get("/", headers=FRESH)
    assert full == fragment


def test_toolbar_selects_mark_the_current_values(app, team, member_client):
    _contacts(app, team, ("Ada", "Lovelace"))
    html = member_client.get("/?status=inactive&sort=-created", headers=FRESH).get_data(as_text=True)
    status = re.search(r'<select id="filter-status".*?</select>', html, re.S).group(0)
    assert '<option value="inactive" selected>' in status and status.count(" selected") == 1
    sort = re.search(r'<select id="filter-sort".*?</select>', html, re.S).group(0)
    assert '<option value="-created" selected>' in sort and sort.count(" selected") == 1
    plain = member_client.get("/", headers=FRESH).get_data(as_text=True)
    status = re.search(r'<select id="filter-status".*?</select>', plain, re.S).group(0)
    assert " selected" not in status


class RefusesByKeyword:
    @hookimpl
    def contacts_permission(self, action, obj=None):  # a subset of the arguments, one with a default
        if action == "contact.edit" and getattr(obj, "first_name", "") == "Locked":
            return False
        return None


def test_a_plugin_taking_some_arguments_is_called_as_pluggy_would(app, team, member_client, plugin):
    locked, other = _contacts(app, team, ("Locked", "Lee"), ("Otto", "Other"))
    plugin(RefusesByKeyword())
    html = member_client.get("/", headers=HX).get_data(as_text=True)
    assert _actions_of(html, locked) == (False, True)
    assert _actions_of(html, other) == (True, True)


def test_every_column_a_view_can_choose(app, team, other_team, member, member_client):
    with app.app_context():
        t = db.session.merge(team)
        org = factories.organization(t, "Acme")
        cid = factories.contact(t, "Ada", "Lovelace", email="ada@example.org", phone="+442079460958",
                                organization_id=org.id, status="lead", type="customer").id
        contact = db.session.get(Contact, cid)
        created, updated = contact.created_at, contact.updated_at
    with app.test_request_context():
        view = saved_views.create_view(db.session.merge(member), {
            "name": "Everything", "query": "", "columns": [k for k, _label in saved_views.LIST_COLUMNS]})
    html = member_client.get(f"/?view={view.id}", headers=HX).get_data(as_text=True)
    row = re.search(rf'<tr id="contact-{cid}">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S)
    assert [label for label, _ in cells] == ["Name", "Email", "Phone", "Organization", "Type", "Status",
                                              "Owner team", "Created", "Updated"]
    values = dict(cells)
    assert values["Email"] == '<a href="mailto:ada@example.org">ada@example.org</a>'
    assert values["Phone"] == "+44 20 7946 0958"
    assert values["Organization"] == "Acme"
    assert values["Type"] == '<span class="badge">Customer</span>'
    assert values["Status"] == '<span class="badge status status-lead">Lead</span>'
    assert values["Owner team"] == "Sales"
    assert values["Created"] == f'<time datetime="{created.isoformat()}Z">{created:%Y-%m-%d}</time>'
    assert values["Updated"] == f'<time datetime="{updated.isoformat()}Z">{updated:%Y-%m-%d}</time>'


def test_an_organization_in_the_trash_is_not_shown(app, team, member, member_client):
    with app.app_context():
        t = db.session.merge(team)
        org = factories.organization(t, "Gone Ltd")
        cid = factories.contact(t, "Ada", "Lovelace", organization_id=org.id).id
        org.deleted_at = utcnow()
        db.session.commit()
    html = member_client.get("/", headers=HX).get_data(as_text=True)
    row = re.search(rf'<tr id="contact-{cid}">(.*?)</tr>', html, re.S).group(1)
    assert '<td data-label="Organization"></td>' in row and "Gone Ltd" not in html


def test_a_page_reads_its_tags_and_organizations_in_one_statement(app, team, member, member_client, statements):
    with app.test_request_context():
        t = db.session.merge(team)
        org = factories.organization(t, "Initech")
        cid = factories.contact(t, "Peter", "Gibbons", organization_id=org.id).id
        with transaction():
            tags.set_contact_tags(db.session.merge(member), db.session.get(Contact, cid), ["tps"])
    member_client.get("/", headers=HX)
    with statements() as seen:
        html = member_client.get("/", headers=HX).get_data(as_text=True)
    assert "Initech" in html and ">tps</a>" in html
    extras = [s for s in seen if "contact_tags" in s or "organizations" in s]
    assert len(extras) == 1 and "contact_tags" in extras[0] and "organizations" in extras[0], extras
