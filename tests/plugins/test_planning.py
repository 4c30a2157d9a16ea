"""The planning plugin after its static contact lists became core groups: the planning_0002
migration (lists, members and saved-view filters moved into the groups, with data, on SQLite and
PostgreSQL, and back on downgrade), the old addresses and ``?list=`` filters redirecting to the
groups, and the app with and without the plugin."""

from __future__ import annotations

from datetime import datetime

import flask_migrate
import pytest
from sqlalchemy import inspect, select, text

from core import create_app
from core.extensions import db
from core.models import ContactGroup, GroupMember
from core.services import groups, stamps
from plugins.planning.legacy import rewrite_query
from plugins.planning.models import LegacyList
from tests import factories
from tests.conftest import test_config
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures

HX = {"HX-Request": "true"}


# --- the migration, with data ------------------------------------------------------------------------


def _insert(table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    db.session.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
                       rows)


def _value(v):
    """Raw SQL answers a datetime on PostgreSQL and its text on SQLite: compare the text."""
    return str(v).removesuffix(".000000") if isinstance(v, datetime) else v


def _rows(sql: str) -> list[tuple]:
    return sorted(tuple(_value(v) for v in r) for r in db.session.execute(text(sql)).all())


def test_planning_0002_moves_lists_into_groups_and_back(make_app):  # noqa: F811
    app = make_app(["planning"])
    with app.app_context():
        flask_migrate.upgrade(revision="core_0012")
        flask_migrate.upgrade(revision="planning_0001")
        with stamps.paused():  # the schema of core_0012 has no cache_stamps table yet
            sales, support = factories.team("Sales"), factories.team("Support")
            user = factories.user("member", [sales])
            ada, bob, cy = (factories.contact(sales, name).id for name in ("Ada", "Bob", "Cy"))
            vips = ContactGroup(name="VIPs", name_key="vips", owner_team_id=sales.id)  # a group the lists' name clashes with
            db.session.add(vips)
            db.session.commit()
            vips_id, sales_id, support_id, user_id = vips.id, sales.id, support.id, user.id
            at = [datetime(2026, 1, d, 10, 0) for d in (1, 2, 3, 4)]
            on = [_value(when) for when in at]
            made = datetime(2025, 12, 1, 9, 30)
            _insert("planning_lists", [
                {"id": 5, "name": "VIPs", "name_key": "vips", "description": "Top", "owner_team_id": sales_id,
                 "created_by_id": user_id, "created_at": made, "updated_at": made},
                {"id": 9, "name": "Newsletter", "name_key": "newsletter", "description": "", "owner_team_id": sales_id,
                 "created_by_id": None, "created_at": made, "updated_at": made},
                {"id": 12, "name": "VIPs", "name_key": "vips", "description": "", "owner_team_id": support_id,
                 "created_by_id": None, "created_at": made, "updated_at": made},
            ])
            _insert("planning_list_members", [
                {"list_id": 5, "contact_id": ada, "added_at": at[0], "added_by_id": user_id},
                {"list_id": 5, "contact_id": bob, "added_at": at[1], "added_by_id": None},
                {"list_id": 9, "contact_id": cy, "added_at": at[2], "added_by_id": user_id},
                {"list_id": 12, "contact_id": ada, "added_at": at[3], "added_by_id": None},
            ])
            _insert("saved_views", [
                {"id": n, "name": f"v{n}", "owner_id": user_id, "query": query, "sort": "name", "columns": "[]",
                 "created_at": made, "updated_at": made}
                for n, query in ((1, "q=ada&list=5"), (2, "f=list.is.9&f=or&f=status.is.lead"), (3, "list=77"),
                                 (4, "q=plain"))
            ])
            db.session.commit()

        flask_migrate.upgrade(revision="heads")
        db.session.remove()
        assert not {"planning_lists", "planning_list_members"} & set(inspect(db.engine).get_table_names())
        ids = dict(_rows("SELECT list_id, group_id FROM planning_legacy_lists"))
        assert sorted(ids) == [5, 9, 12] and vips_id not in ids.values()
        found = {g.id: g for g in db.session.scalars(select(ContactGroup))}
        assert {(g.name, g.owner_team_id) for g in found.values()} == {
            ("VIPs", sales_id), ("VIPs (list)", sales_id), ("Newsletter", sales_id), ("VIPs", support_id)}
        first = found[ids[5]]
        assert (first.name, first.name_key, first.description, first.created_by_id, first.created_at) == (
            "VIPs (list)", "vips (list)", "Top", user_id, made)
        assert found[ids[12]].name == "VIPs"  # no clash in the other team
        assert _rows("SELECT group_id, contact_id, added_at, added_by_id FROM contact_group_members") == sorted([
            (ids[5], ada, on[0], user_id), (ids[5], bob, on[1], None), (ids[9], cy, on[2], user_id),
            (ids[12], ada, on[3], None)])
        queries = dict(_rows("SELECT id, query FROM saved_views"))
        assert queries == {1: f"q=ada&group={ids[5]}", 2: f"f=group.is.{ids[9]}&f=or&f=status.is.lead",
                           3: "group=0", 4: "q=plain"}

        db.session.remove()  # no transaction of ours may hold a lock the migration needs (PostgreSQL)
        flask_migrate.downgrade(revision="planning_0001")
        db.session.remove()
        assert "planning_legacy_lists" not in inspect(db.engine).get_table_names()
        assert _rows("SELECT id, name, owner_team_id, created_by_id FROM planning_lists") == [
            (5, "VIPs (list)", sales_id, user_id), (9, "Newsletter", sales_id, None), (12, "VIPs", support_id, None)]
        assert _rows("SELECT list_id, contact_id, added_at, added_by_id FROM planning_list_members") == sorted([
            (5, ada, on[0], user_id), (5, bob, on[1], None), (9, cy, on[2], user_id), (12, ada, on[3], None)])
        assert _rows("SELECT id FROM contact_groups") == [(vips_id,)]  # only the group that was one
        assert _rows("SELECT group_id FROM contact_group_members") == []
        assert dict(_rows("SELECT id, query FROM saved_views"))[2] == "f=list.is.9&f=or&f=status.is.lead"
        db.session.execute(text("INSERT INTO planning_lists (name, name_key, description, owner_team_id, created_at, "
                                "updated_at) VALUES ('New', 'new', '', :t, :m, :m)"), {"t": sales_id, "m": made})
        assert db.session.scalar(text("SELECT max(id) FROM planning_lists")) == 13  # ids go on after the old ones
        db.session.rollback()
        db.session.remove()

        flask_migrate.upgrade(revision="heads")  # and forward again
        db.session.remove()
        assert len(_rows("SELECT list_id FROM planning_legacy_lists")) == 3
        assert len(_rows("SELECT contact_id FROM contact_group_members")) == 4


def test_rewrite_query_turns_list_filters_into_group_filters():
    lookup = {3: 17}.get
    pairs = [("q", "x"), ("list", "3"), ("f", "list.is.3"), ("f", "or"), ("f", "list.is.4"), ("list", ""),
             ("f", "name.is.list")]
    assert rewrite_query(pairs, lookup) == [
        ("q", "x"), ("group", "17"), ("f", "group.is.17"), ("f", "or"), ("f", "group.is.0"), ("list", ""),
        ("f", "name.is.list")]
    back = rewrite_query([("group", "17"), ("group", "5"), ("f", "group.is.5")], {17: 3}.get,
                         old="group", new="list", unknown=None)
    assert back == [("list", "3"), ("group", "5"), ("f", "group.is.5")]  # groups that were no list stay


# --- the old addresses ---------------------------------------------------------------------------


@pytest.fixture
def old_list(app, member, team):
    """A group that was list 41 (the row planning_0002 writes), holding one contact."""
    with app.test_request_context():
        group = groups.create_group(member, {"name": "Prospects"})
        contact_id = factories.contact(db.session.merge(team), "Grace", "Hopper").id
        factories.contact(db.session.merge(team), "Ada", "Kelly")
        groups.add_member(member, group.id, contact_id)
        db.session.add(LegacyList(list_id=41, group_id=group.id))
        db.session.commit()
        return group.id, contact_id


@pytest.mark.parametrize(("old", "new"), [
    ("/planning/lists", "/groups"),
    ("/planning/lists/new", "/groups/new"),
    ("/planning/lists/41", "/groups/{g}"),
    ("/planning/lists/41/edit", "/groups/{g}/edit"),
    ("/planning/lists/41/search?q=gr", "/groups/{g}/search?q=gr"),
    ("/planning/contacts/{c}/lists", "/contacts/{c}/groups"),
    ("/planning/contacts/{c}/add", "/contacts/{c}"),
])
def test_bookmarked_list_addresses_redirect_to_the_group(member_client, old_list, old, new):
    group_id, contact_id = old_list
    response = member_client.get(old.format(c=contact_id))
    assert response.status_code == 301
    assert response.headers["Location"] == new.format(g=group_id, c=contact_id)
    assert member_client.get(response.headers["Location"]).status_code == 200


def test_a_script_posting_to_a_list_keeps_working(app, member_client, old_list, team):
    group_id, _ = old_list
    with app.app_context():
        new_id = factories.contact(db.session.merge(team), "Cy", "Young").id
    response = member_client.post("/planning/lists/41/members", data={"contact_id": str(new_id)})
    assert response.status_code == 308 and response.headers["Location"] == f"/groups/{group_id}/members"
    followed = member_client.post("/planning/lists/41/members", data={"contact_id": str(new_id)}, follow_redirects=True)
    assert followed.status_code == 200
    with app.app_context():
        assert db.session.get(GroupMember, (group_id, new_id)) is not None


def test_the_old_delete_methods_land_on_group_routes_that_take_them(app, member_client, old_list):
    group_id, contact_id = old_list
    removed = member_client.delete(f"/planning/lists/41/members/{contact_id}", headers=HX)
    assert removed.status_code == 308 and removed.headers["Location"] == f"/groups/{group_id}/members/{contact_id}"
    assert member_client.delete(f"/planning/lists/41/members/{contact_id}", headers=HX,
                                follow_redirects=True).status_code == 200
    with app.app_context():
        assert db.session.get(GroupMember, (group_id, contact_id)) is None
    deleted = member_client.delete("/planning/lists/41", headers=HX, follow_redirects=True)
    assert deleted.status_code == 200 and deleted.headers["HX-Redirect"] == "/groups"
    with app.app_context():
        assert db.session.get(ContactGroup, group_id) is None


def test_the_old_add_to_list_form_names_its_new_address(member_client, old_list):
    group_id, contact_id = old_list
    response = member_client.post(f"/planning/contacts/{contact_id}/add", data={"list_id": "41"})
    assert response.status_code == 410
    assert f"POST /contacts/{contact_id}/groups with group_id={group_id}" in response.get_data(as_text=True)
    unknown = member_client.post(f"/planning/contacts/{contact_id}/add", data={"list_id": "x"})
    assert unknown.status_code == 410 and "group_id (the group" in unknown.get_data(as_text=True)


def test_the_map_is_not_public(client, old_list):
    response = client.get("/planning/lists/41")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_unknown_deleted_and_foreign_lists(app, member, member_client, outsider_client, old_list):
    group_id, _ = old_list
    assert member_client.get("/planning/lists/42").status_code == 404
    assert member_client.get("/planning/lists/99999999999999").status_code == 404
    foreign = outsider_client.get("/planning/lists/41")
    assert outsider_client.get(foreign.headers["Location"]).status_code == 404  # the group's view decides
    with app.test_request_context():
        groups.delete_group(member, group_id)
        assert db.session.scalars(select(LegacyList)).all() == []  # the map row goes with the group
    assert member_client.get("/planning/lists/41").status_code == 404


def test_list_filter_addresses_redirect_to_the_group_filter(member_client, old_list):
    group_id, _ = old_list
    page = member_client.get("/?list=41&q=")
    assert page.status_code == 301 and page.headers["Location"] == f"/?group={group_id}&q="
    narrowed = member_client.get("/?list=41", follow_redirects=True).get_data(as_text=True)
    assert "Grace Hopper" in narrowed and "Ada Kelly" not in narrowed
    built = member_client.get("/?f=list.is.41")
    assert built.headers["Location"] == f"/?f=group.is.{group_id}"
    gone = member_client.get("/?list=404", follow_redirects=True).get_data(as_text=True)
    assert "No such group" in gone and "Ada Kelly" not in gone  # never silently everyone
    assert member_client.get("/?list=").status_code == 200  # an empty filter is no filter: no loop
    api = member_client.get("/api/v1/contacts?list=41")
    assert api.status_code == 301 and api.headers["Location"] == f"/api/v1/contacts?group={group_id}"
    assert member_client.get("/contacts/export.csv?list=41").headers["Location"] == f"/contacts/export.csv?group={group_id}"


def test_the_plugin_adds_no_second_copy_of_the_group_features(app, member_client, old_list):
    relay = app.extensions["contacts_pm"].hook
    assert not [f for answer in relay.contacts_search_filters() for f in answer or [] if f.key == "list"]
    offered = [a for answer in relay.contacts_bulk_actions() for a in answer or [] if a.offered]
    assert not [a for a in offered if a.key.startswith("list")]  # the old keys only run jobs queued before
    page = member_client.get("/").get_data(as_text=True)
    assert ">Lists<" not in page and ">Groups<" in page


# --- the app without the plugin ----------------------------------------------------------------------


@pytest.mark.parametrize("plugins", [[], ["communications"]])
def test_app_works_without_planning(tmp_path_factory, fresh_url, plugins):  # noqa: F811
    from flask_login import FlaskLoginClient

    app = create_app(test_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=fresh_url), plugins=plugins)
    app.test_client_class = FlaskLoginClient
    assert "planning" not in app.blueprints and "planning" not in app.extensions["contacts_plugins"]
    with app.app_context():
        db.create_all()
        team = factories.team("Solo")
        user = factories.user("member", [team])
        group = groups.create_group(user, {"name": "Still here"})
        groups.add_member(user, group.id, factories.contact(team, "Grace", "Hopper").id)
        group_id = group.id
        client = app.test_client(user=user)
        assert client.get("/planning/lists").status_code == 404
        assert "Grace Hopper" in client.get(f"/groups/{group_id}").get_data(as_text=True)
        assert "Grace Hopper" in client.get(f"/?group={group_id}").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
