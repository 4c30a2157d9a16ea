"""A filtered list (a tag, a group, a category, a custom field) builds its statement once a process
(core/services/kept_conditions.py): the same SQL and rows as building it on every page, a filter
that reads rows for its condition reads them once a page, and a change of the user's teams or of
the filter's value is a statement of its own."""

from __future__ import annotations

import pytest
from flask_login import login_user
from sqlalchemy import select

from core.extensions import cache, db
from core.models import Contact, ContactTag, Tag, User
from core.services import accounts, categories, groups, list_query
from core.services import contacts as service
from core.services import custom_field_queries as cf_queries
from tests import factories
from tests.core.test_custom_fields import fields, people  # noqa: F401 - fixtures
from tests.statements import captured


def _u(user):
    return db.session.get(User, user.id)


def _tag(team, name: str, last_name: str, count: int):
    t = db.session.merge(team)
    tag = Tag(name=name, name_key=name, color="#aa0000")
    db.session.add(tag)
    db.session.flush()
    tagged = [factories.contact(t, f"{last_name[0]}{i}", last_name) for i in range(count)]
    db.session.add_all(ContactTag(contact_id=c.id, tag_id=tag.id) for c in tagged)
    db.session.commit()
    return tag, tagged


def _kwargs(user, args: dict) -> dict:
    return list_query.ListQuery.from_args(args).statement_kwargs(user)


def _sql(stmt) -> str:
    return str(stmt.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True}))


@pytest.fixture
def taxonomy_args(ctx, admin, member, team):
    """A query string per kept filter: a tag (rare, and common), a group, a category subtree."""
    user = _u(member)
    tag, _people = _tag(team, "vip", "Tagged", 3)
    group = groups.create_group(user, {"name": "Golfers"})
    groups.add_to_group(user, [c.id for c in _people[:2]], group.id)
    top = categories.create_category(_u(admin), {"name": "Customers"})
    leaf = categories.create_category(_u(admin), {"name": "Bakers", "parent_id": top.id})
    categories.set_category(user, [_people[0].id], leaf.id)
    db.session.commit()
    return {"tag": {"tag": str(tag.id)}, "group": {"group": str(group.id)}, "category": {"category": str(top.id)}}


@pytest.mark.parametrize("name", ["tag", "group", "category"])
@pytest.mark.parametrize("common", [False, True])
def test_a_filtered_list_builds_its_statement_once(app, ctx, member, taxonomy_args, monkeypatch, name, common):
    if common:  # the tag's and group's plan: a probe per row
        from core.services import taxonomy

        monkeypatch.setattr(taxonomy, "COMMON_MEMBERS", 1)
        cache.clear()
    user = _u(member)
    login_user(user)  # the group filter checks the request's user may see the group
    args = taxonomy_args[name]
    service._FILTERED.clear()  # kept per process: another test's pages may have kept it already
    built = []
    real = service.contacts_statement
    monkeypatch.setattr(service, "contacts_statement", lambda *a, **k: built.append(1) or real(*a, **k))
    first = service.list_contacts(user, rows=True, **_kwargs(user, args))
    assert len(built) == 1
    again = service.list_contacts(user, rows=True, **_kwargs(user, args))
    # PostgreSQL's condition for a rare tag or group is its ids, read for the page: not kept.
    ids_read = db.session.get_bind().dialect.name == "postgresql" and not common and name != "category"
    assert len(built) == (2 if ids_read else 1)  # the kept statement: not built again
    kept = service._filtered_statement(user, service.contact_rows.COLUMNS, _kwargs(user, args))
    assert [c.id for c in again.items] == [c.id for c in first.items] and first.items
    # The SQL is the one contacts_statement builds from the filters themselves, on every page before.
    built_now = real(user, columns=service.contact_rows.COLUMNS, **_kwargs(user, args))
    assert kept[1] is not ids_read and _sql(kept[0]) == _sql(built_now)


def test_the_teams_and_the_value_are_part_of_the_kept_statement(app, ctx, member, team, other_team):
    user = _u(member)
    tag, mine = _tag(team, "vip", "Mine", 2)
    theirs = factories.contact(db.session.merge(other_team), "Theirs", "Other")
    db.session.add(ContactTag(contact_id=theirs.id, tag_id=tag.id))
    other, _people = _tag(team, "other", "Else", 1)
    db.session.commit()

    def listed(args):
        return {c.id for c in service.list_contacts(_u(member), rows=True, **_kwargs(_u(member), args)).items}

    assert listed({"tag": str(tag.id)}) == {c.id for c in mine}
    assert len(listed({"tag": str(other.id)})) == 1  # another value: a statement of its own
    accounts.set_team_membership(accounts.SYSTEM, other_team.id, user.id, True)
    db.session.commit()
    assert listed({"tag": str(tag.id)}) == {c.id for c in mine} | {theirs.id}
    assert listed({"tag": str(tag.id), "status": "lead"}) == set()


def test_a_filter_that_reads_its_ids_reads_them_once_a_page(app, people, fields, member):  # noqa: F811
    """A rare custom value's condition is its ids, read for the page: read once (the filters are
    applied once, to see what they add), and not kept (the next page reads them again)."""
    cache.clear()
    user = _u(member)
    for _ in range(2):
        with captured(app, selects_only=True) as seen:
            page = service.list_contacts(user, rows=True, **_kwargs(user, {"cf_tier": "gold"}))
        assert len([s for s in seen if "FROM custom_field_values" in s]) == 1
        assert sorted(c.first_name for c in page.items) == ["Ann", "Cat"]


def test_a_common_custom_value_is_kept(app, people, fields, member, monkeypatch):  # noqa: F811
    monkeypatch.setattr(cf_queries, "FEW", 1)
    cache.clear()
    user = _u(member)
    first = service._filtered_statement(user, service.contact_rows.COLUMNS, _kwargs(user, {"cf_tier": "gold"}))
    again = service._filtered_statement(user, service.contact_rows.COLUMNS, _kwargs(user, {"cf_tier": "gold"}))
    assert first[1] is True and again[0] is first[0]
    silver = service._filtered_statement(user, service.contact_rows.COLUMNS, _kwargs(user, {"cf_tier": "silver"}))
    assert silver[0] is not first[0]
    ids = set(db.session.scalars(select(Contact.first_name).where(Contact.id.in_(
        [r.id for r in service.list_contacts(user, rows=True, **_kwargs(user, {"cf_tier": "gold"})).items]))))
    assert ids == {"Ann", "Cat"}
