"""The contacts list's order among live contacts comes from an index on both databases (on
PostgreSQL the partial indexes of core/models/pg_list_indexes.py), so a page is a walk of it, not a
sort of every live contact; and a tag's plan on PostgreSQL (few: its ids; many: a probe per row)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, insert, select, text
from werkzeug.datastructures import MultiDict

from core.extensions import cache, db
from core.models import Contact, ContactTag, Tag, User
from core.services import categories, list_query, taxonomy
from core.services import contacts as service
from tests import factories, statements


def _crowd(team_id: int) -> None:
    """300 other live contacts of the team (in one insert): walking every live contact costs more
    than the index the test expects."""
    db.session.execute(insert(Contact), [
        {"first_name": "P", "last_name": f"P{i:03}", "sort_name": f"p p{i:03}", "type": "person", "status": "active",
         "owner_team_id": team_id, "version": 1} for i in range(300)])


def _plan(stmt) -> str:
    return statements.plan(stmt, sort=False)  # the order must be available without one


@pytest.mark.parametrize(("column", "index"), [
    ("sort_name", "ix_contacts_live_sort_pg"), ("created_at", "ix_contacts_live_created_pg"),
    ("updated_at", "ix_contacts_live_updated_pg"),
])
def test_the_list_order_is_an_index_walk(ctx, member, team, column, index):
    factories.contact(db.session.merge(team), "Grace", "Hopper")
    user = db.session.get(User, member.id)
    order = getattr(Contact, column)
    plan = _plan(service.contacts_statement(user, columns=(Contact.id,)).order_by(order, Contact.id).limit(51))
    if db.session.get_bind().dialect.name == "sqlite":
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
    else:
        assert index in plan and "Sort" not in plan, plan


@pytest.mark.parametrize(("field", "index"), [
    ("status", "ix_contacts_status_sort_pg"), ("type", "ix_contacts_type_sort_pg"),
    ("organization_id", "ix_contacts_org_sort_pg"),
])
def test_a_filtered_list_walks_the_order_within_the_value(ctx, member, team, field, index):
    t = db.session.merge(team)
    navy = factories.organization(t, "Navy")
    grace = factories.contact(t, "Grace", "Hopper", status="lead", type="partner", organization_id=navy.id)
    _crowd(t.id)  # many others: walking every live contact would cost more
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE contacts"))
    user = db.session.get(User, member.id)
    page = service.contacts_statement(user, columns=(Contact.id,), **{field: getattr(grace, field)})
    plan = _plan(page.order_by(Contact.sort_name, Contact.id).limit(51))
    if db.session.get_bind().dialect.name == "sqlite":
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
    else:
        assert index in plan and "Sort" not in plan, plan
    assert db.session.scalars(page).all() == [grace.id]


@pytest.mark.parametrize(("field", "index"), [
    ("status", "ix_contacts_status_"), ("type", "ix_contacts_type_"), ("organization_id", "ix_contacts_org_"),
])
def test_a_filtered_lists_count_reads_the_index_alone(ctx, member, team, other_team, field, index):
    """The lazy count (ids of the visible contacts with the value, capped) reads no row for its team:
    the index carries it (SQLite: core_0021; PostgreSQL: the partial indexes' INCLUDE, core_0019)."""
    t, other = db.session.merge(team), db.session.merge(other_team)
    navy = factories.organization(t, "Navy")
    values = {"status": "lead", "type": "partner", "organization_id": navy.id}
    mine = [factories.contact(t, "Grace", f"Hopper{i}", **values).id for i in range(3)]
    factories.contact(other, "Ada", "Lovelace", **values)  # the same value, another team: not counted
    _crowd(t.id)
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE contacts"))
    user = db.session.get(User, member.id)
    ids = service.contacts_statement(user, columns=(Contact.id,), **{field: values[field]}).limit(1001)
    stmt = select(func.count()).select_from(ids.subquery())
    plan = statements.plan(stmt)
    if db.session.get_bind().dialect.name == "sqlite":
        assert f"COVERING INDEX {index}name" in plan, plan
    else:  # the partial index or the plain one: both end in owner_team_id (the planner's pick on 300 rows)
        assert re.search(rf"Index Only Scan using {index}(sort_pg|name) ", plan), plan
    assert db.session.scalar(stmt) == len(mine)


def _tagged(team, name: str, last_name: str, count: int, tagged: int):
    """A tag on the first ``tagged`` of ``count`` new contacts of ``team``."""
    t = db.session.merge(team)
    tag = Tag(name=name, name_key=name, color="#aa0000")
    db.session.add(tag)
    db.session.flush()
    people = [factories.contact(t, f"{last_name[0]}{i}", last_name) for i in range(count)]
    db.session.add_all(ContactTag(contact_id=c.id, tag_id=tag.id) for c in people[:tagged])
    db.session.commit()
    return tag, people


def test_a_rare_tag_is_its_ids_and_a_common_one_a_probe(ctx, member, team, monkeypatch):
    tag, people = _tagged(team, "vip", "Person", 4, 3)
    rare = taxonomy.member_condition(ContactTag.contact_id, ContactTag.tag_id, tag.id)
    sql = str(rare.compile(db.session.get_bind()))
    if db.session.get_bind().dialect.name == "postgresql":
        assert "SELECT" not in sql  # the ids themselves
    else:
        assert "SELECT" in sql  # SQLite reads the (tag, contact) index itself
    monkeypatch.setattr(taxonomy, "COMMON_MEMBERS", 2)
    cache.clear()  # the count is remembered a few minutes
    common = taxonomy.member_condition(ContactTag.contact_id, ContactTag.tag_id, tag.id)
    assert "EXISTS" in str(common.compile(db.session.get_bind()))
    for condition in (rare, common):
        ids = set(db.session.scalars(db.select(Contact.id).where(condition)))
        assert ids == {c.id for c in people[:3]}


def test_a_common_groups_probe_seeks_the_contact_first_index(ctx, member, team, monkeypatch):
    """SQLite: a common group's per-row probe seeks ix_contact_group_members_contact (contact, group) by
    the contact and tests the group on the entry, not the primary key (group, contact) whose entries
    all share their first column (1.91 -> 1.40 M instructions for the page statement at 1M contacts).
    PostgreSQL keeps its probe of both columns."""
    from core.models import GroupMember
    from core.services import groups

    user = db.session.get(User, member.id)
    people = [factories.contact(db.session.merge(team), f"G{i}", "Member") for i in range(4)]
    group = groups.create_group(user, {"name": "Board"})
    groups.add_to_group(user, [c.id for c in people[:3]], group.id)
    db.session.commit()
    monkeypatch.setattr(taxonomy, "COMMON_MEMBERS", 2)
    cache.clear()  # the count is remembered a few minutes
    common = taxonomy.member_condition(GroupMember.contact_id, GroupMember.group_id, group.id, probe_by_contact=True)
    stmt = service.contacts_statement(user, columns=(Contact.id,), extra_filters=[lambda s: s.where(common)])
    plan = statements.plan(stmt.order_by(Contact.sort_name, Contact.id).limit(51))
    if db.session.get_bind().dialect.name == "sqlite":
        assert "COVERING INDEX ix_contact_group_members_contact (contact_id=?)" in plan, plan
    else:
        assert "+contact_group_members" not in str(common.compile(db.session.get_bind()))
    assert set(db.session.scalars(stmt)) == {c.id for c in people[:3]}
    page = service.list_contacts(user, extra_filters=[lambda s: groups.group_filter(s, str(group.id), user)], rows=True)
    assert [c.id for c in page.items] == [c.id for c in sorted(people[:3], key=lambda c: (c.sort_name, c.id))]


def test_a_rare_tag_page_reads_its_contacts_by_id(ctx, member, team):
    """SQLite: a few ids (search.few_contacts) are read by id and sorted, never the list's sort index
    walked and tested against them (20 ms instead of 1.9 at 1M contacts for a tag on 1,000)."""
    tag, people = _tagged(team, "rare", "Rare", 3, 2)
    user = db.session.get(User, member.id)
    rare = taxonomy.member_condition(ContactTag.contact_id, ContactTag.tag_id, tag.id)
    stmt = service.contacts_statement(user, columns=(Contact.id,), extra_filters=[lambda s: s.where(rare)])
    if db.session.get_bind().dialect.name == "sqlite":
        plan = statements.plan(stmt.order_by(Contact.sort_name, Contact.id).limit(51))
        assert "+contacts.deleted_at" in str(stmt.compile(db.session.get_bind()))
        assert "ix_contacts_live_name" not in plan and "TEMP B-TREE FOR ORDER BY" in plan, plan
    assert set(db.session.scalars(stmt)) == {c.id for c in people[:2]}
    page = service.list_contacts(user, extra_filters=[lambda s: s.where(rare)], rows=True)
    assert [c.id for c in page.items] == [c.id for c in sorted(people[:2], key=lambda c: (c.sort_name, c.id))]


def test_the_toolbars_rare_tag_joins_its_links_and_the_builders_reads_its_ids(ctx, member, team):
    """The toolbar's tag is ANDed with the rest: a rare one joins contact_tags (SQLite had copied
    the tag's ids into a temporary index first: 6.19 -> 4.88 M instructions for the page statement
    at 1M contacts). The builder's may sit under an OR: it stays ``contacts.id IN (SELECT ...)``."""
    tag, people = _tagged(team, "few", "Few", 4, 2)
    people[3].status = "inactive"
    db.session.commit()
    user = db.session.get(User, member.id)
    tagged = sorted(people[:2], key=lambda c: (c.sort_name, c.id))
    cases = {
        "toolbar": ({"tag": str(tag.id)}, tagged),
        "builder": ({"f": f"tag.is.{tag.id}"}, tagged),
        "builder OR": ({"f": [f"tag.is.{tag.id}", "or", "status.is.inactive"]},
                       sorted([*people[:2], people[3]], key=lambda c: (c.sort_name, c.id))),
    }
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    for name, (args, expected) in cases.items():
        query = list_query.ListQuery.from_args(MultiDict([(k, v) for k, vs in args.items()
                                                          for v in (vs if isinstance(vs, list) else [vs])]))
        stmt = service.contacts_statement(user, columns=(Contact.id,), **query.statement_kwargs(user))
        sql = str(stmt.compile(db.session.get_bind()))
        if name == "toolbar" and sqlite:
            assert "FROM contacts, contact_tags" in sql and "IN (SELECT" not in sql, sql
            plan = statements.plan(stmt.order_by(Contact.sort_name, Contact.id).limit(51))
            assert plan.startswith("SEARCH contact_tags USING COVERING INDEX ix_contact_tags_tag_contact"), plan
            assert "LIST SUBQUERY" not in plan, plan
        elif sqlite:
            assert "contact_tags" not in sql.split("WHERE")[0] and "IN (SELECT contact_tags.contact_id" in sql, sql
        page = service.list_contacts(user, rows=True, **query.statement_kwargs(user))
        assert [c.id for c in page.items] == [c.id for c in expected], name
        assert list_query.count(user, query) == (len(expected), False), name


@pytest.mark.parametrize("who", ["member", "admin"])
@pytest.mark.parametrize("filters", [
    {}, {"status": "lead"}, {"type": "person"}, {"organization_id": 7},
    {"status": "lead", "type": "person", "organization_id": 7},
])
def test_the_plain_list_statement_is_the_one_contacts_statement_builds(ctx, member, admin, who, filters):
    # contacts._plain is a copy of contacts_statement's filters built once with bind parameters (the
    # list's speed); this keeps the two the same SQL with the same values, for a member (teams) and an admin.
    user = db.session.get(User, (member if who == "member" else admin).id)
    columns = (Contact.id, Contact.sort_name)
    plain, params = service._plain_statement(user, columns, filters)
    dialect = db.session.get_bind().dialect

    def sql(stmt, values=None):
        if values:
            stmt = stmt.params(**values)
        return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    assert sql(plain, params) == sql(service.contacts_statement(user, columns=columns, **filters))


def _category_crowd(team):
    """Three of the team's contacts in category "Key", one of another team there too, and 300 others
    of the team in no category."""
    from core.models import Category

    t = db.session.merge(team)
    key = Category(name="Key", name_key="key")
    db.session.add(key)
    db.session.flush()
    mine = [factories.contact(t, "Grace", f"Hopper{i}", category_id=key.id).id for i in range(3)]
    _crowd(t.id)
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE contacts"))
    return key, mine


@pytest.mark.parametrize(("column", "index"), [
    ("sort_name", "ix_contacts_live_name"), ("created_at", "ix_contacts_live_created"),
    ("updated_at", "ix_contacts_live_updated"),
])
def test_a_page_decides_team_and_category_in_the_sort_index(ctx, member, team, other_team, column, index):
    """SQLite (core_0028): the live sort indexes carry the owner team and the category, so walking one
    for a page tests the member's teams and a category filter on the index entry and reads only the
    rows that pass: the ids of such a page (what the lazy count reads) come from the index alone."""
    key, mine = _category_crowd(team)
    factories.contact(db.session.merge(other_team), "Ada", "Lovelace", category_id=key.id)  # not visible
    user = db.session.get(User, member.id)
    order = getattr(Contact, column)
    ids = service.contacts_statement(user, columns=(Contact.id,), extra_filters=[
        lambda s: s.where(Contact.category_id == key.id)]).order_by(order, Contact.id).limit(51)
    if db.session.get_bind().dialect.name == "sqlite":
        plan = statements.plan(ids)
        assert f"COVERING INDEX {index} " in plan and "TEMP B-TREE" not in plan, plan
    assert sorted(db.session.scalars(ids)) == sorted(mine)


def _program(stmt) -> list[tuple]:
    """SQLite's bytecode for ``stmt``: (opcode, p1, p2, p3, p4) rows."""
    compiled = stmt.compile(db.session.get_bind(), compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[k] for k in compiled.positiontup)
    return [tuple(r[1:6]) for r in db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", params)]


def test_a_category_pages_rows_are_read_after_the_index_decided(app, ctx, team, other_team):
    """SQLite: the page (every column) of a member of two teams (as the bench's) walks
    ix_contacts_live_name in a common category and tests the teams and the category on the index
    entry; the contact's row is read only for the entries that pass."""
    from core.models import Category
    from tests.conftest import _user

    t, other = db.session.merge(team), db.session.merge(other_team)
    common = Category(name="Common", name_key="common")
    db.session.add(common)
    db.session.flush()
    sub = Category(name="Sub", name_key="sub", parent_id=common.id)
    db.session.add(sub)
    db.session.flush()
    rows = [{"first_name": "P", "last_name": f"P{i:03}", "sort_name": f"p p{i:03}", "type": "person", "status": "active",
             "owner_team_id": (t.id, other.id)[i % 2], "category_id": (None, common.id, sub.id)[i % 3], "version": 1}
            for i in range(300)]
    db.session.execute(insert(Contact), rows)
    factories.contact(factories.team("Ops"), "A", "A", category_id=common.id)  # not visible
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    user = db.session.get(User, _user(app, "member", [team, other_team]).id)
    subtree = [lambda s: categories.category_filter(s, str(common.id))]  # the category and its subcategory
    page = service.contacts_statement(user, extra_filters=subtree)
    page = page.order_by(Contact.sort_name, Contact.id).limit(51)
    if db.session.get_bind().dialect.name == "sqlite":
        roots = dict(db.session.execute(text("SELECT name, rootpage FROM sqlite_master")).all())
        program = _program(page)
        cursors = {p2: p1 for op, p1, p2, *_ in program if op == "OpenRead"}
        assert roots["ix_contacts_live_name"] in cursors, statements.plan(page)
        index, table = cursors[roots["ix_contacts_live_name"]], cursors[roots["contacts"]]
        first_row_read = min(i for i, (op, p1, *_) in enumerate(program) if op == "Column" and p1 == table)
        before = {p2 for op, p1, p2, *_ in program[:first_row_read] if op == "Column" and p1 == index}
        assert {3, 4} <= before, "\n".join(map(str, program))  # owner_team_id, category_id of the entry
    wanted = [r["sort_name"] for r in rows if r["category_id"]][:51]
    assert [c.sort_name for c in db.session.scalars(page)] == wanted
