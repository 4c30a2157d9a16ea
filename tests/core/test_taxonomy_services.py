"""Tags, groups and categories through their services: rules, permissions, audit, the bulk
operations other features call, the contact fields, filters, search and merge/unmerge."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, ContactTag, GroupMember, Tag, User
from core.services import categories, groups, tags, taxonomy
from core.services import contacts as contacts_service
from tests import factories


def _u(user):
    return db.session.get(User, user.id)


def _names(actor, **filters) -> list[str]:
    extra = taxonomy.list_filters(filters, actor)
    return [c.first_name for c in contacts_service.list_contacts(actor, extra_filters=extra, limit=200).items]


def _audits(entity_type: str, entity_id=None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.entity_type == entity_type).order_by(AuditEntry.id)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return list(db.session.scalars(stmt))


# --- tags -------------------------------------------------------------------------------------------


def test_contact_tags_are_set_from_names_created_on_the_fly_case_insensitively(ctx, member, team):
    actor = _u(member)
    c = contacts_service.create_contact(actor, {"first_name": "Ada", "tags": "VIP, customer, vip"})
    assert taxonomy.tag_names(actor, c) == ["customer", "VIP"]
    assert {t.color for t in db.session.scalars(select(Tag))} <= set(tags.PALETTE)
    created = _audits("contact", c.id)[-1]
    assert created.action == "created" and created.changes["tags"] == [None, "customer, VIP"]
    version = c.version
    c = contacts_service.update_contact(actor, c.id, {"tags": ["vip", "Partner"]}, version)
    assert [t.name for t in tags.tags_of([c.id])[c.id]] == ["Partner", "VIP"]  # "vip" found "VIP"
    assert c.version == version + 1  # a tag change is a change of the contact (new ETag)
    entry = _audits("contact", c.id)[-1]
    assert entry.action == "updated" and entry.changes["tags"] == ["customer, VIP", "Partner, VIP"]
    assert db.session.scalar(select(Tag).where(Tag.name_key == "customer")) is not None  # tags outlive their use


@pytest.mark.parametrize("value", ["a,", ["x" * 51], [3], "ok, " + "y" * 60])
def test_bad_tag_names_name_the_field(ctx, member, value):
    with pytest.raises(ValidationError) as exc:
        contacts_service.create_contact(_u(member), {"first_name": "Ada", "tags": value if value != "a," else ["a,b"]})
    assert "tags" in exc.value.errors


def test_tag_names_are_unique_and_only_admins_manage_tags(ctx, admin, member):
    tag = tags.create_tag(_u(member), {"name": "Lead"})
    with pytest.raises(ValidationError) as exc:
        tags.create_tag(_u(member), {"name": "lead"})
    assert "name" in exc.value.errors
    with pytest.raises(PermissionDenied):
        tags.update_tag(_u(member), tag.id, {"name": "Leads"})
    with pytest.raises(ValidationError) as exc:
        tags.update_tag(_u(admin), tag.id, {"color": "magenta"})
    assert "color" in exc.value.errors
    tags.update_tag(_u(admin), tag.id, {"name": "Hot lead", "color": "red"})
    assert (tag.name, tag.name_key, tag.color) == ("Hot lead", "hot lead", "red")
    assert [e.action for e in _audits("tag", tag.id)] == ["created", "updated"]


def test_deleting_a_tag_takes_it_off_contacts_and_is_audited(ctx, admin, member, team):
    t = db.session.merge(team)
    a, b = factories.contact(t, "A"), factories.contact(t, "B")
    result = tags.add_tags(_u(member), [a.id, b.id], ["old"])
    assert result.as_dict() == {"changed": 2, "unchanged": 0, "skipped": 0}
    tag_id = tags.find("old").id
    assert tags.delete_tag(_u(admin), tag_id) == 2
    assert db.session.scalars(select(ContactTag)).all() == []
    assert _audits("tag", tag_id)[-1].changes == {"name": ["old", None], "contacts": [2, 0]}


def test_bulk_tagging_skips_and_counts_what_the_actor_may_not_edit(ctx, member, viewer, team, other_team):
    t, o = db.session.merge(team), db.session.merge(other_team)
    mine, theirs = factories.contact(t, "Mine"), factories.contact(o, "Theirs")
    trashed = factories.contact(t, "Trashed")
    contacts_service.delete_contact(_u(member), trashed.id)
    result = tags.add_tags(_u(member), [mine.id, theirs.id, trashed.id, 999_999, "junk"], "a, b")
    assert result.as_dict() == {"changed": 1, "unchanged": 0, "skipped": 4}
    assert tags.add_tags(_u(member), [mine.id], ["A"]).as_dict() == {"changed": 0, "unchanged": 1, "skipped": 0}
    assert tags.tags_of([theirs.id]) == {}
    assert tags.add_tags(_u(viewer), [mine.id], ["c"]).skipped == 1
    removed = tags.remove_tags(_u(member), [mine.id, theirs.id], ["b", "nope"])
    assert removed.as_dict() == {"changed": 1, "unchanged": 0, "skipped": 1}
    assert [t.name for t in tags.tags_of([mine.id])[mine.id]] == ["a"]
    assert [e.changes["tags"] for e in _audits("contact", mine.id) if "tags" in e.changes] == [
        ["", "a, b"], ["a, b", "a"]]


def test_tag_filter_and_options(ctx, member, team):
    t = db.session.merge(team)
    a, b = factories.contact(t, "Ann"), factories.contact(t, "Bob")
    factories.contact(t, "Cy")
    tags.add_tags(_u(member), [a.id, b.id], ["Vip"])
    tags.add_tags(_u(member), [b.id], ["Vintage"])
    vip = tags.find("vip")
    assert _names(_u(member), tag=str(vip.id)) == ["Ann", "Bob"] or sorted(_names(_u(member), tag=str(vip.id))) == ["Ann", "Bob"]
    assert _names(_u(member), tag="VINTAGE") == ["Bob"]
    with pytest.raises(ValidationError) as exc:
        _names(_u(member), tag="nope")
    assert "tag" in exc.value.errors
    assert [t.name for t in tags.options(_u(member), "vi")] == ["Vintage", "Vip"]
    assert [t.name for t in tags.options(_u(member), "vip")] == ["Vip"]
    assert tags.counts([vip.id]) == {vip.id: 2}


def test_counts_are_capped(ctx, member, team, monkeypatch):
    t = db.session.merge(team)
    ids = [factories.contact(t, f"P{i}").id for i in range(4)]
    tags.add_tags(_u(member), ids, ["many"])
    monkeypatch.setattr(tags, "COUNT_CAP", 2)
    assert tags.counts([tags.find("many").id]) == {tags.find("many").id: 3}  # shown as "2+"


def test_search_finds_contacts_by_tag_name_and_follows_renames(ctx, admin, member, team):
    t = db.session.merge(team)
    a = factories.contact(t, "Ann", "Smith")
    factories.contact(t, "Bob", "Jones")
    tags.add_tags(_u(member), [a.id], ["Golf club"])
    assert [c.first_name for c in contacts_service.list_contacts(_u(member), q="golf").items] == ["Ann"]
    assert [c.first_name for c in contacts_service.list_contacts(_u(member), q="golf cl").items] == ["Ann"]
    assert contacts_service.list_contacts(_u(member), q="golf jones").items == []
    tags.update_tag(_u(admin), tags.find("golf club").id, {"name": "Tennis"})
    assert contacts_service.list_contacts(_u(member), q="golf").items == []
    assert [c.first_name for c in contacts_service.list_contacts(_u(member), q="tenn").items] == ["Ann"]


# --- groups -----------------------------------------------------------------------------------------


def test_groups_follow_team_permissions(ctx, member, viewer, outsider, team):
    g = groups.create_group(_u(member), {"name": "Board", "description": "The board"})
    assert g.owner_team_id == db.session.merge(team).id
    with pytest.raises(ValidationError) as exc:
        groups.create_group(_u(member), {"name": "board"})
    assert "name" in exc.value.errors
    with pytest.raises(NotFound):
        groups.get_group(_u(outsider), g.id)
    with pytest.raises(PermissionDenied):
        groups.update_group(_u(viewer), g.id, {"name": "X"})
    with pytest.raises(PermissionDenied):
        groups.create_group(_u(viewer), {"name": "Mine"})
    groups.update_group(_u(member), g.id, {"name": "Board of directors"})
    assert [e.action for e in _audits("contact_group", g.id)] == ["created", "updated"]


def test_group_members_pages_and_bulk_membership(ctx, member, outsider, team, other_team):
    t, o = db.session.merge(team), db.session.merge(other_team)
    g = groups.create_group(_u(member), {"name": "G"})
    ids = [factories.contact(t, f"P{i}").id for i in range(5)]
    foreign = factories.contact(o, "Foreign").id
    result = groups.add_to_group(_u(member), [*ids, foreign], g.id)
    assert result.as_dict() == {"changed": 5, "unchanged": 0, "skipped": 1}
    assert set(db.session.scalars(select(GroupMember.added_by_id))) == {member.id}  # who added them
    seen, cursor = [], None
    while True:
        page = groups.members(_u(member), g.id, cursor=cursor, limit=2)
        seen += [m.contact_id for m in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    assert groups.remove_from_group(_u(member), ids[:2], g.id).changed == 2
    assert groups.remove_member(_u(member), g.id, ids[0]) is False
    assert groups.add_member(_u(member), g.id, ids[0]) is True
    assert sorted(_names(_u(member), group=str(g.id))) == ["P0", "P2", "P3", "P4"]
    with pytest.raises(ValidationError):
        _names(_u(outsider), group=str(g.id))
    entries = [e.changes for e in _audits("contact", ids[1])]
    assert entries == [{"group_ids": [None, g.id]}, {"group_ids": [g.id, None]}]
    groups.delete_group(_u(member), g.id)
    assert db.session.scalars(select(GroupMember)).all() == []


def test_contact_form_groups_keep_memberships_the_actor_cannot_change(ctx, member, admin, team, other_team):
    t = db.session.merge(team)
    c = factories.contact(t, "Ada")
    mine = groups.create_group(_u(member), {"name": "Mine"})
    hidden = groups.create_group(_u(admin), {"name": "Hidden", "owner_team_id": db.session.merge(other_team).id})
    groups.add_to_group(_u(admin), [c.id], hidden.id)
    contacts_service.update_contact(_u(member), c.id, {"group_ids": [mine.id]}, None)
    assert set(groups.group_ids_of(_u(admin), c.id)) == {mine.id, hidden.id}
    assert groups.group_ids_of(_u(member), c.id) == [mine.id]
    with pytest.raises(ValidationError) as exc:
        contacts_service.update_contact(_u(member), c.id, {"group_ids": [hidden.id]}, None)
    assert "group_ids" in exc.value.errors
    contacts_service.update_contact(_u(member), c.id, {"group_ids": []}, None)
    assert groups.group_ids_of(_u(admin), c.id) == [hidden.id]


# --- categories -------------------------------------------------------------------------------------


def test_category_tree_moves_refuse_cycles_and_filter_includes_subcategories(ctx, admin, member, team):
    a = _u(admin)
    with pytest.raises(PermissionDenied):
        categories.create_category(_u(member), {"name": "Nope"})
    top = categories.create_category(a, {"name": "Suppliers"})
    mid = categories.create_category(a, {"name": "Food", "parent_id": top.id})
    leaf = categories.create_category(a, {"name": "Bakers", "parent_id": mid.id})
    other = categories.create_category(a, {"name": "Customers"})
    with pytest.raises(ValidationError) as exc:
        categories.update_category(a, top.id, {"parent_id": leaf.id})
    assert "subcategories" in exc.value.errors["parent_id"][0]
    with pytest.raises(ValidationError):
        categories.update_category(a, top.id, {"parent_id": top.id})
    with pytest.raises(ValidationError) as exc:
        categories.create_category(a, {"name": "food", "parent_id": top.id})
    assert "name" in exc.value.errors
    t = db.session.merge(team)
    bread, soup, buyer = factories.contact(t, "Bread"), factories.contact(t, "Soup"), factories.contact(t, "Buyer")
    assert categories.set_category(_u(member), [bread.id], leaf.id).changed == 1
    contacts_service.update_contact(_u(member), soup.id, {"category_id": mid.id}, None)
    categories.set_category(_u(member), [buyer.id], other.id)
    assert sorted(_names(_u(member), category=str(top.id))) == ["Bread", "Soup"]
    assert _names(_u(member), category=str(leaf.id)) == ["Bread"]
    categories.update_category(a, mid.id, {"parent_id": other.id})  # move the subtree
    assert [(c.name, d) for c, d in categories.tree()] == [
        ("Customers", 0), ("Food", 1), ("Bakers", 2), ("Suppliers", 0)]
    assert sorted(_names(_u(member), category=str(other.id))) == ["Bread", "Buyer", "Soup"]
    assert [c.name for c in categories.path(leaf.id)] == ["Customers", "Food", "Bakers"]
    with pytest.raises(ValidationError) as exc:
        contacts_service.update_contact(_u(member), soup.id, {"category_id": 999_999}, None)
    assert "category_id" in exc.value.errors
    assert categories.delete_category(a, mid.id) == 1
    assert db.session.get(Contact, soup.id).category_id is None
    assert db.session.get(type(leaf), leaf.id).parent_id == other.id
    assert _audits("category", mid.id)[-1].action == "deleted"


def test_no_two_categories_under_one_parent_share_a_name(ctx, admin):
    """Deleting a category moves its subcategories up beside its siblings, and moving a category
    puts it beside others: either could leave two "Europe" under one parent (a filter list and a
    form offering both). The delete or the move is refused, naming the clash and what to do."""
    a = _u(admin)
    sales = categories.create_category(a, {"name": "Sales"})
    europe = categories.create_category(a, {"name": "Europe", "parent_id": sales.id})
    categories.create_category(a, {"name": "Asia", "parent_id": sales.id})
    categories.create_category(a, {"name": "europe"})  # top level, beside Sales
    with pytest.raises(Conflict) as exc:
        categories.delete_category(a, sales.id)
    assert exc.value.message == ("“Sales” cannot be deleted: its subcategory “Europe” would move up beside another "
                                 "“europe”. Rename or move one of them first.")
    assert sorted(c.name for c, _ in categories.tree()) == ["Asia", "Europe", "Sales", "europe"]  # nothing changed
    with pytest.raises(ValidationError) as exc:
        categories.update_category(a, europe.id, {"parent_id": ""})  # a move alone, without the name
    assert exc.value.errors["name"] == ["There is already a category with this name here."]
    categories.update_category(a, europe.id, {"name": "Western Europe"})
    assert categories.delete_category(a, sales.id) == 0
    assert sorted((c.name, d) for c, d in categories.tree()) == [("Asia", 0), ("Western Europe", 0), ("europe", 0)]


# --- merge --------------------------------------------------------------------------------------------


def test_merge_unions_tags_and_groups_and_unmerge_restores_exactly(app, ctx, member, admin, team):
    t = db.session.merge(team)
    target, source = factories.contact(t, "Target"), factories.contact(t, "Source")
    tid, sid = target.id, source.id
    tags.add_tags(_u(member), [tid], ["shared", "target-only"])
    tags.add_tags(_u(member), [sid], ["shared", "source-only"])
    g1, g2 = groups.create_group(_u(member), {"name": "Both"}), groups.create_group(_u(member), {"name": "Src"})
    groups.add_to_group(_u(member), [tid, sid], g1.id)
    groups.add_to_group(_u(member), [sid], g2.id)
    cat_t, cat_s = categories.create_category(_u(admin), {"name": "T"}), categories.create_category(_u(admin), {"name": "S"})
    categories.set_category(_u(member), [tid], cat_t.id)
    categories.set_category(_u(member), [sid], cat_s.id)

    def state(cid):
        return (sorted(db.session.execute(select(ContactTag.tag_id).where(ContactTag.contact_id == cid)).scalars()),
                sorted(db.session.execute(select(GroupMember.group_id, GroupMember.added_at, GroupMember.added_by_id)
                                          .where(GroupMember.contact_id == cid)).all()),
                db.session.get(Contact, cid).category_id)

    before = {cid: state(cid) for cid in (tid, sid)}
    relay = app.extensions["contacts_pm"].hook
    undo = {}
    for answer in relay.contacts_contacts_merged(target=db.session.get(Contact, tid), source=db.session.get(Contact, sid),
                                                 actor=_u(member)):
        undo.update(answer or {})
    db.session.commit()
    undo = json.loads(json.dumps(undo))
    assert sorted(t.name for t in tags.tags_of([tid])[tid]) == ["shared", "source-only", "target-only"]
    assert sorted(groups.group_ids_of(_u(member), tid)) == sorted([g1.id, g2.id])
    assert db.session.get(Contact, tid).category_id == cat_t.id  # the target keeps its category
    assert tags.tags_of([sid]) == {} and groups.group_ids_of(_u(member), sid) == []
    assert set(db.session.scalars(select(GroupMember.added_by_id).where(GroupMember.contact_id == tid))) == {member.id}
    for _ in range(2):  # idempotent
        relay.contacts_contacts_unmerged(target=db.session.get(Contact, tid), source=db.session.get(Contact, sid),
                                         actor=_u(member), undo=undo)
        db.session.commit()
        assert {cid: state(cid) for cid in (tid, sid)} == before


def test_a_tag_on_very_many_contacts_walks_the_sort_index_with_the_same_answer(ctx, member, team, monkeypatch):
    from core.services import search

    t = db.session.merge(team)
    ids = [factories.contact(t, name, "Zed").id for name in ("Cy", "Al", "Bo")]
    factories.contact(t, "Di", "Zed")
    factories.contact(t, "Golfer", "Young")  # by name, not by tag
    tags.add_tags(_u(member), ids, ["Golf"])
    answers = {}
    for common in (10**9, 2):
        monkeypatch.setattr(search, "COMMON_HITS", common)
        monkeypatch.setattr(search, "PG_COMMON_HITS", common)
        condition, by_hits = search.search_plan("golf")
        if db.session.get_bind().dialect.name == "sqlite":
            assert by_hits is (common != 2)
        else:  # PostgreSQL: the tag's contacts as an id list, or an EXISTS per row of the walk
            sql = str(condition.compile(db.session.get_bind()))
            assert ("EXISTS (SELECT 1 FROM contact_tags" in sql) is (common == 2), sql
        answers[common] = [c.first_name for c in contacts_service.list_contacts(_u(member), q="golf").items]
    assert answers[10**9] == answers[2] == ["Golfer", "Al", "Bo", "Cy"]


def test_common_tags_and_groups_filter_with_the_same_answer(ctx, member, team, monkeypatch):
    t = db.session.merge(team)
    ids = [factories.contact(t, name, "Zed").id for name in ("Cy", "Al", "Bo")]
    factories.contact(t, "Di", "Zed")
    tags.add_tags(_u(member), ids, ["Golf"])
    g = groups.create_group(_u(member), {"name": "G"})
    groups.add_to_group(_u(member), ids, g.id)
    answers = set()
    for common in (10**6, 2):  # few members: read them and sort; many: walk the sort index (EXISTS)
        monkeypatch.setattr(taxonomy, "COMMON_MEMBERS", common)
        assert taxonomy._is_common(ContactTag.contact_id, ContactTag.tag_id, tags.find("golf").id) is (common == 2)
        answers.add(tuple(_names(_u(member), tag="golf")))
        answers.add(tuple(_names(_u(member), group=str(g.id))))
    assert answers == {("Al", "Bo", "Cy")}
