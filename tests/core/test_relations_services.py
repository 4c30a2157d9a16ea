"""Hierarchy and typed relationships through the services: cycles, dates, permissions, both sides,
audit, the admin-defined types and the merge contract (round trip)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.errors import NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, Organization, Relationship, RelationshipType
from core.services import contacts, hierarchy, organizations, relations_merge
from core.services import relationship_types as types
from core.services import relationships as service
from tests import factories


def _t(team):
    return db.session.merge(team)


def _type(name: str) -> RelationshipType:
    return db.session.scalar(select(RelationshipType).where(RelationshipType.name == name))


@pytest.fixture
def people(ctx, team):
    t = _t(team)
    return [factories.contact(t, name, "Test") for name in ("Ada", "Bob", "Carol", "Dan")]


# --- hierarchy -------------------------------------------------------------------------------


def test_reports_to_is_set_audited_and_shown_both_ways(ctx, member, people):
    ada, bob, carol, _ = people
    contacts.update_contact(member, bob.id, {"reports_to_id": ada.id}, None)
    contacts.update_contact(member, carol.id, {"reports_to_id": str(bob.id)}, None)
    carol = db.session.get(Contact, carol.id)
    assert [c.id for c in hierarchy.reporting_chain(member, carol)] == [bob.id, ada.id]
    assert [c.id for c in hierarchy.direct_reports(member, ada.id).items] == [bob.id]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_id == bob.id, AuditEntry.action == "updated"))
    assert entry.changes["reports_to_id"] == [None, ada.id]


def test_report_names_page_through_a_managers_reports_by_name(ctx, member, people):
    ada, bob, carol, dan = people
    for report in (dan, bob, carol):
        contacts.update_contact(member, report.id, {"reports_to_id": ada.id}, None)
    first = hierarchy.report_names(member, ada.id, limit=2)
    assert [(r.id, r.full_name) for r in first.items] == [(bob.id, "Bob Test"), (carol.id, "Carol Test")]
    assert first.next_cursor
    rest = hierarchy.report_names(member, ada.id, cursor=first.next_cursor, limit=2)
    assert [r.id for r in rest.items] == [dan.id] and rest.next_cursor is None


def test_self_and_cycles_are_refused_naming_the_chain(ctx, member, people):
    ada, bob, carol, _ = people
    with pytest.raises(ValidationError) as err:
        contacts.update_contact(member, ada.id, {"reports_to_id": ada.id}, None)
    assert "cannot report to themselves" in err.value.errors["reports_to_id"][0]
    contacts.update_contact(member, bob.id, {"reports_to_id": ada.id}, None)
    contacts.update_contact(member, carol.id, {"reports_to_id": bob.id}, None)
    with pytest.raises(ValidationError) as err:
        contacts.update_contact(member, ada.id, {"reports_to_id": bob.id}, None)
    assert err.value.errors["reports_to_id"] == ["Bob Test already reports to Ada Test; Ada Test cannot report to Bob Test."]
    with pytest.raises(ValidationError) as err:
        contacts.update_contact(member, ada.id, {"reports_to_id": carol.id}, None)
    assert err.value.errors["reports_to_id"] == [
        "Carol Test already reports to Ada Test through Bob Test; Ada Test cannot report to Carol Test."]
    assert db.session.get(Contact, ada.id).reports_to_id is None


def test_reports_to_must_be_a_visible_live_contact(ctx, member, people, other_team):
    stranger = factories.contact(_t(other_team), "Eve", "Other")
    for bad in (stranger.id, 999999, "x"):
        with pytest.raises(ValidationError) as err:
            contacts.update_contact(member, people[0].id, {"reports_to_id": bad}, None)
        assert "reports_to_id" in err.value.errors
    created = contacts.create_contact(member, {"first_name": "New", "reports_to_id": people[0].id})
    assert created.reports_to_id == people[0].id


def test_organization_parent_and_cycles(ctx, member, team):
    t = _t(team)
    group, branch, shop = (factories.organization(t, n) for n in ("Group", "Branch", "Shop"))
    organizations.update_organization(member, branch.id, {"parent_id": group.id}, None)
    organizations.update_organization(member, shop.id, {"parent_id": branch.id}, None)
    with pytest.raises(ValidationError) as err:
        organizations.update_organization(member, group.id, {"parent_id": shop.id}, None)
    assert err.value.errors["parent_id"] == ["Shop already belongs to Group through Branch; Group cannot belong to Shop."]
    with pytest.raises(ValidationError) as err:
        organizations.update_organization(member, group.id, {"parent_id": group.id}, None)
    assert "own parent" in err.value.errors["parent_id"][0]
    shop = db.session.get(Organization, shop.id)
    assert [o.name for o in hierarchy.parent_chain(member, shop)] == ["Branch", "Group"]
    assert [o.name for o in hierarchy.child_organizations(member, group.id).items] == ["Branch"]


def test_org_chart_roots_and_levels(ctx, member, team):
    t = _t(team)
    org = factories.organization(t, "Acme")
    boss = factories.contact(t, "Boss", "A", organization_id=org.id)
    mid = factories.contact(t, "Mid", "B", organization_id=org.id, reports_to_id=boss.id)
    factories.contact(t, "Low", "C", organization_id=org.id, reports_to_id=mid.id)
    outside_boss = factories.contact(t, "Outside", "D")
    lone = factories.contact(t, "Lone", "E", organization_id=org.id, reports_to_id=outside_boss.id)
    roots = hierarchy.chart_roots(member, org.id).items
    assert [c.id for c in roots] == [boss.id, lone.id]  # a manager outside the org makes a root
    assert hierarchy.report_counts(member, [boss.id, lone.id], organization_id=org.id) == {boss.id: 1}
    assert [c.first_name for c in hierarchy.direct_reports(member, mid.id, organization_id=org.id).items] == ["Low"]


# --- relationships ----------------------------------------------------------------------------


def test_relationship_shows_on_both_sides_with_the_right_label(ctx, member, people):
    ada, bob, *_ = people
    rel = service.create_relationship(member, ada.id, {"type_id": _type("manager of").id, "other_contact_id": bob.id,
                                                       "start_date": "2024-01-01", "note": "new team"})
    assert (rel.contact_id, rel.other_contact_id, rel.start_date) == (ada.id, bob.id, date(2024, 1, 1))
    ada_side = service.for_contact(member, db.session.get(Contact, ada.id))
    bob_side = service.for_contact(member, db.session.get(Contact, bob.id))
    assert [(s.label, s.other.id, s.direction) for s in ada_side] == [("manager of", bob.id, "forward")]
    assert [(s.label, s.other.id, s.direction) for s in bob_side] == [("reports to", ada.id, "inverse")]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "relationship"))
    assert entry.action == "created" and entry.changes["other_contact_id"] == [None, bob.id]


def test_inverse_creation_and_symmetric_duplicates(ctx, member, people):
    ada, bob, *_ = people
    rel = service.create_relationship(member, bob.id, {"type_id": _type("manager of").id, "other_contact_id": ada.id,
                                                       "inverse": True})
    assert (rel.contact_id, rel.other_contact_id) == (ada.id, bob.id)  # stored as "Ada manager of Bob"
    spouse = _type("spouse of").id
    service.create_relationship(member, ada.id, {"type_id": spouse, "other_contact_id": bob.id})
    with pytest.raises(ValidationError) as err:
        service.create_relationship(member, bob.id, {"type_id": spouse, "other_contact_id": ada.id})
    assert err.value.errors["other_contact_id"] == ["Bob Test already has this relationship: spouse of Ada Test."]
    with pytest.raises(ValidationError) as err:  # read from the other side: a verb, not a noun ("is already reports to")
        service.create_relationship(member, bob.id, {"type_id": _type("manager of").id, "other_contact_id": ada.id,
                                                     "inverse": True})
    assert err.value.errors["other_contact_id"] == ["Bob Test already has this relationship: reports to Ada Test."]
    with pytest.raises(ValidationError) as err:
        service.create_relationship(member, ada.id, {"type_id": spouse, "other_contact_id": ada.id})
    assert "themselves" in err.value.errors["other_contact_id"][0]


def test_an_asymmetric_type_cannot_point_both_ways_at_the_same_time(ctx, member, people):
    """"Ada manager of Bob" and "Bob manager of Ada" say opposite things: the second is refused on
    the other contact, from either page (read forward or inverse), and by a change of type or dates
    that would make two rows say it. Periods that do not overlap are history, not a contradiction
    (Ada managed Bob until 2020, Bob manages Ada since 2021). Longer rings (Ada > Bob > Carol >
    Ada) are allowed: admin-defined types need not be a hierarchy (the reporting line is)."""
    ada, bob, carol, dan = people
    manager, assistant = _type("manager of").id, _type("assistant of").id
    first = service.create_relationship(member, ada.id, {"type_id": manager, "other_contact_id": bob.id})
    expected = ("Ada Test is already manager of Bob Test at that time, so Bob Test cannot also be manager of "
                "Ada Test. End one of them (an end date) before the other starts, or delete it.")
    with pytest.raises(ValidationError) as err:
        service.create_relationship(member, bob.id, {"type_id": manager, "other_contact_id": ada.id})
    assert err.value.errors["other_contact_id"] == [expected]
    with pytest.raises(ValidationError) as err:  # Ada's page: "Ada reports to Bob" stores Bob manager of Ada
        service.create_relationship(member, ada.id, {"type_id": manager, "other_contact_id": bob.id, "inverse": True})
    assert err.value.errors["other_contact_id"] == [expected]
    spouse = _type("spouse of").id  # symmetric: the other way round is the duplicate message, as before
    service.create_relationship(member, ada.id, {"type_id": spouse, "other_contact_id": bob.id})
    other_way = service.create_relationship(member, bob.id, {"type_id": assistant, "other_contact_id": ada.id})
    with pytest.raises(ValidationError) as err:  # a change of type that would contradict the first row
        service.update_relationship(member, other_way.id, {"type_id": manager})
    assert "cannot also be manager of" in err.value.errors["type_id"][0]
    service.update_relationship(member, first.id, {"start_date": "2015-01-01", "end_date": "2020-12-31"})
    later = service.create_relationship(member, bob.id, {"type_id": manager, "other_contact_id": ada.id,
                                                         "start_date": "2021-01-01"})
    with pytest.raises(ValidationError) as err:  # moving the end date into the later period
        service.update_relationship(member, first.id, {"end_date": "2021-06-30"})
    assert "at that time" in err.value.errors["end_date"][0]
    assert later.id and db.session.get(Relationship, first.id).end_date == date(2020, 12, 31)
    service.create_relationship(member, bob.id, {"type_id": assistant, "other_contact_id": carol.id})
    service.create_relationship(member, carol.id, {"type_id": assistant, "other_contact_id": dan.id})
    service.create_relationship(member, dan.id, {"type_id": assistant, "other_contact_id": bob.id})  # a ring


def test_contact_to_organization_relationship(ctx, member, team, people):
    org = factories.organization(_t(team), "Acme")
    board = _type("board member of").id
    with pytest.raises(ValidationError) as err:
        service.create_relationship(member, people[0].id, {"type_id": board, "other_contact_id": people[1].id})
    assert "organization_id" in err.value.errors
    service.create_relationship(member, people[0].id, {"type_id": board, "organization_id": org.id})
    sides = service.for_organization(member, db.session.get(Organization, org.id))
    assert [(s.label, s.other.id) for s in sides] == [("has board member", people[0].id)]
    assert service.for_contact(member, db.session.get(Contact, people[0].id))[0].label == "board member of"


@pytest.mark.parametrize(("data", "field"), [
    ({"start_date": "2024-05-01", "end_date": "2024-04-30"}, "end_date"),
    ({"start_date": "yesterday"}, "start_date"),
    ({"end_date": "2024-13-01"}, "end_date"),
    ({"type_id": None}, "type_id"),
    ({"type_id": 999999}, "type_id"),
    ({"other_contact_id": None}, "other_contact_id"),
    ({"other_contact_id": 999999}, "other_contact_id"),
    ({"note": "x" * 2001}, "note"),
    ({"colour": "red"}, "colour"),
])
def test_bad_relationship_input_names_the_field(ctx, member, people, data, field):
    base = {"type_id": _type("assistant of").id, "other_contact_id": people[1].id}
    with pytest.raises(ValidationError) as err:
        service.create_relationship(member, people[0].id, {**base, **data})
    assert field in err.value.errors
    assert db.session.scalar(select(Relationship.id)) is None


def test_update_checks_dates_against_the_stored_ones_and_audits(ctx, member, people):
    rel = service.create_relationship(member, people[0].id, {"type_id": _type("assistant of").id,
                                                             "other_contact_id": people[1].id, "start_date": "2024-01-01"})
    with pytest.raises(ValidationError) as err:
        service.update_relationship(member, rel.id, {"end_date": "2023-12-31"})
    assert "end_date" in err.value.errors
    service.update_relationship(member, rel.id, {"end_date": "2024-12-31", "note": "left"})
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "relationship")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.action == "updated" and entry.changes["end_date"] == [None, "2024-12-31"]
    service.delete_relationship(member, rel.id)
    assert db.session.get(Relationship, rel.id) is None


def test_permissions(ctx, member, viewer, outsider, people, other_team):
    ada, bob, *_ = people
    stranger = factories.contact(_t(other_team), "Eve", "Other")
    kind = _type("colleague of").id
    with pytest.raises(PermissionDenied):
        service.create_relationship(viewer, ada.id, {"type_id": kind, "other_contact_id": bob.id})
    with pytest.raises(NotFound):
        service.create_relationship(outsider, ada.id, {"type_id": kind, "other_contact_id": stranger.id})
    with pytest.raises(ValidationError) as err:  # the other side must be visible
        service.create_relationship(member, ada.id, {"type_id": kind, "other_contact_id": stranger.id})
    assert err.value.errors["other_contact_id"] == ["No such contact."]
    rel = service.create_relationship(member, ada.id, {"type_id": kind, "other_contact_id": bob.id})
    with pytest.raises(PermissionDenied):
        service.update_relationship(viewer, rel.id, {"note": "x"})
    with pytest.raises(PermissionDenied):
        service.delete_relationship(viewer, rel.id)
    with pytest.raises(NotFound):
        service.get_relationship(outsider, rel.id)
    assert service.for_contact(viewer, db.session.get(Contact, bob.id))[0].other.id == ada.id


def test_relationship_with_an_invisible_side_is_hidden(ctx, admin, member, people, other_team):
    stranger = factories.contact(_t(other_team), "Eve", "Other")
    service.create_relationship(admin, people[0].id, {"type_id": _type("colleague of").id,
                                                      "other_contact_id": stranger.id})
    assert service.for_contact(member, db.session.get(Contact, people[0].id)) == []
    assert len(service.for_contact(admin, db.session.get(Contact, people[0].id))) == 1


# --- types ----------------------------------------------------------------------------------


def test_default_types_are_seeded_and_admins_edit_them(ctx, admin, member):
    names = {(t.target_kind, t.name, t.inverse_label) for t in types.list_types()}
    assert ("contact", "manager of", "reports to") in names and ("contact", "spouse of", "spouse of") in names
    assert ("organization", "board member of", "has board member") in names
    with pytest.raises(PermissionDenied):
        types.create_type(member, {"name": "mentor of", "inverse_label": "mentee of"})
    mentor = types.create_type(admin, {"name": "Mentor of", "inverse_label": "mentee of"})
    assert (mentor.name, mentor.symmetric) == ("mentor of", False)
    twin = types.create_type(admin, {"name": "twin of", "inverse_label": ""})
    assert twin.symmetric
    with pytest.raises(ValidationError) as err:
        types.create_type(admin, {"name": "mentor of"})
    assert "name" in err.value.errors
    with pytest.raises(ValidationError) as err:
        types.update_type(admin, mentor.id, {"active": "zzz"})
    assert err.value.errors == {"active": ["Give true or false."]}
    assert mentor.id in {t.id for t in types.list_types()}
    types.update_type(admin, mentor.id, {"active": "0"})
    assert mentor.id not in {t.id for t in types.list_types()}
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.entity_type == "relationship_type",
                                                             AuditEntry.entity_id == mentor.id,
                                                             AuditEntry.action == "updated")) == "updated"


def test_an_archived_type_is_not_offered_but_kept(ctx, admin, member, people):
    assistant = _type("assistant of")
    rel = service.create_relationship(member, people[0].id, {"type_id": assistant.id, "other_contact_id": people[1].id})
    types.update_type(admin, assistant.id, {"active": "0"})
    with pytest.raises(ValidationError):
        service.create_relationship(member, people[2].id, {"type_id": assistant.id, "other_contact_id": people[1].id})
    service.update_relationship(member, rel.id, {"type_id": assistant.id, "note": "still here"})
    assert db.session.get(Relationship, rel.id).note == "still here"


# --- merge contract ----------------------------------------------------------------------------


def _state():
    rels = db.session.execute(select(Relationship.id, Relationship.type_id, Relationship.contact_id,
                                     Relationship.other_contact_id, Relationship.organization_id,
                                     Relationship.start_date, Relationship.note).order_by(Relationship.id)).all()
    bosses = db.session.execute(select(Contact.id, Contact.reports_to_id).order_by(Contact.id)).all()
    return [tuple(r) for r in rels], [tuple(b) for b in bosses]


def test_merge_repoints_drops_and_unmerge_restores_exactly(ctx, member, team, people):
    ada, bob, carol, dan = people  # merge Bob (source) into Ada (target)
    org = factories.organization(_t(team), "Acme")
    manager, spouse, board = _type("manager of").id, _type("spouse of").id, _type("board member of").id
    service.create_relationship(member, bob.id, {"type_id": manager, "other_contact_id": carol.id,
                                                 "start_date": "2020-02-02", "note": "moves"})
    service.create_relationship(member, ada.id, {"type_id": spouse, "other_contact_id": dan.id})
    service.create_relationship(member, dan.id, {"type_id": spouse, "other_contact_id": bob.id})  # duplicate after
    service.create_relationship(member, ada.id, {"type_id": _type("colleague of").id, "other_contact_id": bob.id})
    service.create_relationship(member, bob.id, {"type_id": board, "organization_id": org.id})
    contacts.update_contact(member, carol.id, {"reports_to_id": bob.id}, None)
    contacts.update_contact(member, ada.id, {"reports_to_id": dan.id}, None)
    contacts.update_contact(member, dan.id, {"reports_to_id": bob.id}, None)  # Ada -> Dan -> Bob: Dan is above Ada
    before = _state()
    target, source = db.session.get(Contact, ada.id), db.session.get(Contact, bob.id)

    undo = relations_merge.merge(target, source, member)
    db.session.commit()
    rels, bosses = _state()
    assert all(bob.id not in (r[2], r[3]) for r in rels)
    kept = {(r[1], r[2], r[3], r[4]) for r in rels}
    assert (manager, ada.id, carol.id, None) in kept and (board, ada.id, None, org.id) in kept
    assert len(rels) == 3  # the duplicate spouse and the self colleague row were dropped
    assert dict(bosses)[carol.id] == ada.id and dict(bosses)[dan.id] is None  # no cycle Ada -> Dan -> Ada
    assert len(undo["dropped"]) == 2

    relations_merge.unmerge(target, source, member, undo)
    db.session.commit()
    assert _state() == before
    relations_merge.unmerge(target, source, member, undo)  # idempotent
    db.session.commit()
    assert _state() == before


def test_merge_drops_a_row_that_would_contradict_the_survivors_and_unmerge_restores_it(ctx, member, people):
    """Ada manages Carol; Carol manages Bob, Ada's duplicate. Merged, "Carol manager of Ada" would
    sit beside "Ada manager of Carol" at the same time, which a user cannot save: dropped like a
    repeated row (kept in the undo record), and put back by the unmerge."""
    ada, bob, carol, dan = people  # merge Bob (source) into Ada (target)
    manager, assistant = _type("manager of").id, _type("assistant of").id
    service.create_relationship(member, ada.id, {"type_id": manager, "other_contact_id": carol.id,
                                                 "start_date": "2020-01-01"})
    service.create_relationship(member, carol.id, {"type_id": manager, "other_contact_id": bob.id,
                                                   "start_date": "2021-01-01"})
    service.create_relationship(member, bob.id, {"type_id": assistant, "other_contact_id": dan.id})
    before = _state()
    undo = relations_merge.merge(db.session.get(Contact, ada.id), db.session.get(Contact, bob.id), member)
    db.session.commit()
    assert sorted((r[1], r[2], r[3]) for r in _state()[0]) == sorted([(manager, ada.id, carol.id),
                                                                      (assistant, ada.id, dan.id)])
    assert [(d["contact_id"], d["other_contact_id"]) for d in undo["dropped"]] == [(carol.id, bob.id)]
    relations_merge.unmerge(db.session.get(Contact, ada.id), db.session.get(Contact, bob.id), member, undo)
    db.session.commit()
    assert _state() == before


def test_merge_hook_round_trip_through_pluggy(app, ctx, member, people):
    ada, bob, carol, _ = people
    service.create_relationship(member, bob.id, {"type_id": _type("assistant of").id, "other_contact_id": carol.id})
    before = _state()
    relay = app.extensions["contacts_pm"].hook
    target, source = db.session.get(Contact, ada.id), db.session.get(Contact, bob.id)
    undo = {}
    for answer in relay.contacts_contacts_merged(target=target, source=source, actor=member):
        undo.update(answer or {})
    assert relations_merge.KEY in undo
    db.session.commit()
    assert _state() != before
    relay.contacts_contacts_unmerged(target=target, source=source, actor=member, undo=undo)
    db.session.commit()
    assert _state() == before


def test_merge_with_nothing_to_move_answers_none(ctx, member, people):
    assert relations_merge.merge(db.session.get(Contact, people[0].id), db.session.get(Contact, people[1].id),
                                 member) is None


def test_parent_is_checked_again_under_the_write_lock(ctx, member, team):
    """A cycle made between the form's check and the write (another save in between) is refused."""
    t = _t(team)
    group, shop = factories.organization(t, "Group"), factories.organization(t, "Shop")
    organizations.update_organization(member, shop.id, {"parent_id": group.id}, None)
    group = db.session.get(Organization, group.id)
    with pytest.raises(ValidationError) as err:
        hierarchy.recheck_parent(member, group, {"parent_id": shop.id})
    assert "Shop already belongs to Group" in err.value.errors["parent_id"][0]
    hierarchy.recheck_parent(member, group, {"parent_id": None})  # clearing is always fine
