"""Merge with a choice per field, with the real plugins' rows moving over; undo restoring both
contacts and every row exactly; refusals; permissions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, GroupMember, Merge, User
from core.plugins import hookimpl
from core.services import contacts as contact_service
from core.services import groups, merges
from plugins.collaboration import services as notes
from plugins.collaboration.models import Note
from plugins.communications import services as comms
from plugins.communications.models import Communication
from plugins.monitoring.models import Activity
from tests import factories


def _team(t):
    return db.session.merge(t)


@pytest.fixture
def pair(ctx, member, team):
    """Two Grace Hoppers with notes, communications, group memberships (one group holds both) and activity."""
    t = _team(team)
    org = factories.organization(t, "Navy")
    target = factories.contact(t, "Grace", "Hopper", phone="+442079460001", organization_id=org.id).id
    source = factories.contact(t, "Grace B.", "Hopper", email="grace@navy.example", phone="+442079460002").id
    for cid in (target, source, source):
        notes.add_note(member, cid, f"note on {cid}")
    comms.log_communication(member, source, {"type": "call", "subject": "hello"})
    both = groups.create_group(member, {"name": "Both"})
    only = groups.create_group(member, {"name": "Source only"})
    for group, cid in ((both, target), (both, source), (only, source)):
        groups.add_member(member, group.id, cid)
    contact_service.update_contact(member, source, {"status": "lead"}, None)  # activity on the source
    return target, source


def state(target_id: int, source_id: int) -> dict:
    """Everything a merge touches, for both contacts, without versions and timestamps."""
    db.session.expire_all()
    ids = (target_id, source_id)
    contacts = {c.id: merges.snapshot(c) for c in db.session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    rows = {
        "notes": select(Note.id, Note.contact_id).where(Note.contact_id.in_(ids)),
        "communications": select(Communication.id, Communication.contact_id).where(Communication.contact_id.in_(ids)),
        "groups": select(GroupMember.group_id, GroupMember.contact_id, GroupMember.added_at, GroupMember.added_by_id)
        .where(GroupMember.contact_id.in_(ids)),
        "activity": select(Activity.id, Activity.contact_id).where(Activity.contact_id.in_(ids)),
    }
    return {"contacts": contacts, **{k: sorted(tuple(r) for r in db.session.execute(q)) for k, q in rows.items()}}


def test_merge_with_choices_then_undo_restores_exactly(pair, member):
    target_id, source_id = pair
    before = state(target_id, source_id)
    versions = {cid: db.session.get(Contact, cid).version for cid in pair}

    done = merges.merge_contacts(member, target_id, source_id, {"first_name": "source", "phone": "source"})
    db.session.expire_all()
    target, source = db.session.get(Contact, target_id), db.session.get(Contact, source_id)
    assert (target.first_name, target.last_name, target.phone) == ("Grace B.", "Hopper", "+442079460002")
    assert (target.email, target.email_key) == ("grace@navy.example", "grace@navy.example")  # empty: the source's
    assert target.organization_id is not None and target.status == "active"  # the target's by default
    assert source.deleted_at is not None and source.merged_into_id == target_id and source.email_key is None
    assert target.version == versions[target_id] + 1
    moved = state(target_id, source_id)
    assert {cid for _, cid in moved["notes"]} == {target_id} and len(moved["notes"]) == 3
    assert [cid for _, cid in moved["communications"]] == [target_id]
    assert {(g, cid) for g, cid, _, _ in moved["groups"]} == {(g, target_id) for g, _, _, _ in moved["groups"]}
    assert len(moved["groups"]) == 2  # the group holding both keeps one membership
    assert {g[3] for g in moved["groups"]} == {member.id}  # who added them moves along
    assert {"collaboration", "core_taxonomy", "communications", "monitoring"} <= set(done.undo)
    assert done.before["source"]["email_key"] == "grace@navy.example"
    actions = db.session.execute(select(AuditEntry.entity_id, AuditEntry.action).where(
        AuditEntry.entity_type == "contact", AuditEntry.action == "merged")).all()
    # the merge's own entry on each contact, plus the groups that moved to the target (core/services/taxonomy.py)
    assert sorted(actions) == sorted([(target_id, "merged"), (target_id, "merged"), (source_id, "merged")])

    merges.unmerge(member, done.id)
    after = state(target_id, source_id)
    old_activity = {row for row in before["activity"]}
    assert {k: v for k, v in after.items() if k != "activity"} == {k: v for k, v in before.items() if k != "activity"}
    assert old_activity <= set(after["activity"])  # the rows from before are back where they were
    assert all(db.session.get(Contact, cid).version > versions[cid] for cid in pair)
    assert db.session.get(Merge, done.id).undone_at is not None
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "unmerged", AuditEntry.entity_type == "contact")) == 3  # with the groups given back
    with pytest.raises(Conflict, match="already undone"):
        merges.unmerge(member, done.id)


def test_merge_swapping_emails_and_undo(ctx, member, team):
    t = _team(team)
    target = factories.contact(t, "Ann", "Lee", email="ann@one.example").id
    source = factories.contact(t, "Ann", "Lee", email="ann@two.example").id
    before = state(target, source)
    done = merges.merge_contacts(member, target, source, {"email": "source"})
    assert db.session.get(Contact, target).email_key == "ann@two.example"
    # The target's old address is free again: a new contact may take it.
    contact_service.create_contact(member, {"first_name": "X", "email": "ann@one.example"})
    with pytest.raises(Conflict, match="now has the address ann@one.example"):
        merges.unmerge(member, done.id)
    db.session.rollback()
    holder = db.session.scalar(select(Contact.id).where(Contact.email_key == "ann@one.example", Contact.id != target))
    contact_service.update_contact(member, holder, {"email": ""}, None)
    merges.unmerge(member, done.id)
    assert state(target, source)["contacts"] == before["contacts"]


def test_undo_refused_when_the_survivor_changed(pair, member):
    target_id, source_id = pair
    done = merges.merge_contacts(member, target_id, source_id)
    contact_service.update_contact(member, target_id, {"last_name": "Hopper-Murray"}, None)
    with pytest.raises(Conflict) as err:
        merges.unmerge(member, done.id)
    assert "changed after the merge (last_name)" in err.value.message
    db.session.rollback()
    assert db.session.get(Contact, source_id).deleted_at is not None


def test_a_later_merge_must_be_undone_first(ctx, member, team):
    t = _team(team)
    a, b, c = (factories.contact(t, "Al", "Bo").id for _ in range(3))
    first = merges.merge_contacts(member, a, b)
    second = merges.merge_contacts(member, a, c)
    with pytest.raises(Conflict, match="undo that merge first"):
        merges.unmerge(member, first.id)
    db.session.rollback()
    merges.unmerge(member, second.id)
    merges.unmerge(member, first.id)
    assert all(db.session.get(Contact, cid).deleted_at is None for cid in (a, b, c))


@pytest.mark.parametrize(
    ("source", "choices", "field"),
    [
        ("self", None, "source_id"),
        ("abc", None, "source_id"),
        (999999, None, "source_id"),
        ("other", {"nickname": "source"}, "nickname"),
        ("other", {"email": "both"}, "email"),
        ("other", ["email"], "fields"),
    ],
)
def test_bad_merge_input_names_the_field(ctx, member, team, source, choices, field):
    t = _team(team)
    target, other = factories.contact(t, "A", "B").id, factories.contact(t, "C", "D").id
    source = {"self": target, "other": other}.get(source, source)
    with pytest.raises(ValidationError) as err:
        merges.merge_contacts(member, target, source, choices)
    assert field in err.value.errors


def test_trashed_source_is_refused(ctx, member, team):
    t = _team(team)
    target, source = factories.contact(t, "A", "B").id, factories.contact(t, "C", "D").id
    contact_service.delete_contact(member, source)
    with pytest.raises(ValidationError) as err:
        merges.merge_contacts(member, target, source)
    assert "trash" in err.value.errors["source_id"][0]


def test_permissions(ctx, member, outsider, viewer, admin, team, other_team):
    mine = [factories.contact(_team(team), "A", str(i)).id for i in range(2)]
    theirs = factories.contact(_team(other_team), "A", "theirs").id
    with pytest.raises(NotFound):
        merges.merge_contacts(member, theirs, mine[0])  # a member cannot merge another team's contact
    with pytest.raises(ValidationError) as err:
        merges.merge_contacts(member, mine[0], theirs)
    assert err.value.errors["source_id"] == ["No such contact."]
    with pytest.raises(PermissionDenied):
        merges.merge_contacts(viewer, mine[0], mine[1])
    done = merges.merge_contacts(admin, mine[0], theirs)  # admins may, across teams
    with pytest.raises(NotFound):
        merges.unmerge(member, done.id)
    assert merges.list_merges(member).items == [] and len(merges.list_merges(admin).items) == 1
    with pytest.raises(NotFound):
        merges.get_merge(outsider, done.id)
    merges.unmerge(admin, done.id)


def test_a_merged_contact_comes_back_only_by_undo(ctx, member, team):
    t = _team(team)
    target, source = factories.contact(t, "A", "B").id, factories.contact(t, "C", "D", email="c@d.example").id
    done = merges.merge_contacts(member, target, source)
    with pytest.raises(ValidationError) as err:
        contact_service.restore_contact(member, source)
    assert "undo the merge" in err.value.errors["merged_into_id"][0]
    db.session.rollback()
    merges.unmerge(member, done.id)
    assert db.session.get(Contact, source).email_key == "c@d.example"


def test_a_merge_that_changes_the_status_is_in_the_status_history_until_undone(ctx, member, team):
    """The survivor taking the source's status is a status change (from, to, who, when, why) like any
    other; undoing the merge takes that entry away with the status it explained."""
    from core.services import status_history

    t = _team(team)
    target = contact_service.create_contact(member, {"first_name": "Ada", "last_name": "Byron", "status": "lead",
                                                     "owner_team_id": t.id}).id
    source = contact_service.create_contact(member, {"first_name": "Ada", "last_name": "King", "status": "active",
                                                     "owner_team_id": t.id}).id

    def entries(cid):
        return [(e["from_status"], e["to_status"], e["actor_id"]) for e in status_history.history(member, cid)]

    before = {cid: entries(cid) for cid in (target, source)}
    done = merges.merge_contacts(member, target, source, {"status": "source"})
    latest = status_history.history(member, target)[0]
    assert (latest["from_status"], latest["to_status"], latest["actor_id"]) == ("lead", "active", member.id)
    assert "Ada King" in latest["reason"] and "merge" in latest["reason"].lower()

    merges.unmerge(member, done.id)
    assert {cid: entries(cid) for cid in (target, source)} == before


def test_a_merge_keeping_the_status_adds_no_status_entry(ctx, member, team):
    from core.services import status_history

    t = _team(team)
    target = factories.contact(t, "Ada", "Byron").id
    source = factories.contact(t, "Ada", "King").id
    count = len(status_history.history(member, target)) + len(status_history.history(member, source))
    merges.merge_contacts(member, target, source)
    assert len(status_history.history(member, target)) == count  # the source's entries moved, none added


def test_the_survivor_keeps_the_sources_title_birthday_notes_and_category_where_it_had_none(ctx, member, admin, team):
    """A merge fills what the survivor lacks from the source (the rule of every merged field: the
    target's value unless it is empty); the source's job title, birthday, notes and category were
    left behind on the trashed source. The undo takes them away again."""
    from datetime import date

    from core.models.details import ContactDetails
    from core.services import categories
    from core.services import details as details_service

    t = _team(team)
    category = categories.create_category(admin, {"name": "Partners"}).id
    target = details_service.create_contact(member, {"first_name": "Ada", "last_name": "Byron", "title": "Countess",
                                                     "owner_team_id": t.id}).id
    source = details_service.create_contact(member, {"first_name": "Ada", "last_name": "King", "title": "Analyst",
                                                     "birthday": "1815-12-10", "notes": "Wrote the first program",
                                                     "category_id": category, "owner_team_id": t.id}).id
    bare = factories.contact(t, "Bare", "Target").id

    def details(cid):
        db.session.expire_all()
        row = db.session.get(ContactDetails, cid)
        return (row.title, row.birthday, row.notes) if row else None

    before = {cid: details(cid) for cid in (target, source, bare)}
    done = merges.merge_contacts(member, target, source)
    assert details(target) == ("Countess", date(1815, 12, 10), "Wrote the first program")  # its own title stays
    assert db.session.get(Contact, target).category_id == category
    merges.unmerge(member, done.id)
    assert {cid: details(cid) for cid in (target, source, bare)} == before
    assert db.session.get(Contact, target).category_id is None

    done = merges.merge_contacts(member, bare, source)  # a target with no details row gets one
    assert details(bare) == ("Analyst", date(1815, 12, 10), "Wrote the first program")
    merges.unmerge(member, done.id)
    assert details(bare) is None and details(source) == before[source]


def test_the_survivor_takes_the_sources_manager_unless_that_makes_a_cycle(ctx, member, team):
    """The source's "reports to" goes to a survivor that reports to no one (the rule of every
    merged field), through the reporting line's cycle check: a manager who already reports to the
    survivor is not taken, the survivor keeps its own and the merge says why. The undo puts every
    reporting line back (state() compares every row of both contacts, reports_to_id included)."""
    t = _team(team)
    boss, deputy = factories.contact(t, "Bea", "Boss").id, factories.contact(t, "Dee", "Deputy").id
    target, source = factories.contact(t, "Ada", "Byron").id, factories.contact(t, "Ada", "King").id
    contact_service.update_contact(member, source, {"reports_to_id": boss}, None)
    report = factories.contact(t, "Rae", "Report").id
    contact_service.update_contact(member, report, {"reports_to_id": source}, None)

    def lines():
        db.session.expire_all()
        return {c: db.session.get(Contact, c).reports_to_id for c in (boss, deputy, target, source, report)}

    def rows_of(target, source):  # the merge's own activity entries stay (as in the test above)
        return {k: v for k, v in state(target, source).items() if k != "activity"}

    before, rows = lines(), rows_of(target, source)
    done = merges.merge_contacts(member, target, source)
    assert lines()[target] == boss and lines()[report] == target and done.after["notes"] == []
    assert done.after["choices"]["reports_to_id"] == "source"
    merges.unmerge(member, done.id)
    assert lines() == before and rows_of(target, source) == rows

    contact_service.update_contact(member, boss, {"reports_to_id": deputy}, None)
    contact_service.update_contact(member, deputy, {"reports_to_id": target}, None)  # Ada Byron > Dee > Bea
    before, rows = lines(), rows_of(target, source)
    done = merges.merge_contacts(member, target, source, {"reports_to_id": "source"})
    assert lines()[target] is None and lines()[report] == target  # no cycle Ada > Dee > Bea > Ada
    assert done.after["choices"]["reports_to_id"] == "target"
    assert done.after["notes"] == [
        "Reports to: Ada Byron keeps no manager, not Ada King's (Bea Boss): Bea Boss already reports to Ada Byron "
        "through Dee Deputy; Ada Byron cannot report to Bea Boss."]
    merges.unmerge(member, done.id)
    assert lines() == before and rows_of(target, source) == rows


def test_a_manager_the_merger_may_not_see_is_neither_taken_nor_named(ctx, member, team, other_team):
    t = _team(team)
    hidden = factories.contact(_team(other_team), "Hidden", "Boss").id
    target, source = factories.contact(t, "Ada", "Byron").id, factories.contact(t, "Ada", "King").id
    db.session.execute(db.update(Contact).where(Contact.id == source).values(reports_to_id=hidden))
    db.session.commit()
    done = merges.merge_contacts(member, target, source)
    assert db.session.get(Contact, target).reports_to_id is None
    assert done.after["notes"] == [f"Reports to: Ada Byron keeps no manager, not Ada King's (#{hidden}): No such contact."]


def test_a_survivor_reporting_to_the_source_takes_the_sources_manager(ctx, member, team):
    t = _team(team)
    boss = factories.contact(t, "Bea", "Boss").id
    target, source = factories.contact(t, "Ada", "Byron").id, factories.contact(t, "Ada", "King").id
    contact_service.update_contact(member, source, {"reports_to_id": boss}, None)
    contact_service.update_contact(member, target, {"reports_to_id": source}, None)
    rows = state(target, source)["contacts"]
    done = merges.merge_contacts(member, target, source)
    db.session.expire_all()
    assert db.session.get(Contact, target).reports_to_id == boss  # not the merged-away source
    merges.unmerge(member, done.id)  # refused if the survivor looked changed since the merge
    assert state(target, source)["contacts"] == rows


class SecondMergeMeanwhile:
    """While the first merge is inside its transaction (its plugins moving rows), the same merge is
    asked again from another thread, as a double-clicked button or a retried API call does."""

    def __init__(self, app, member_id, target, source):
        self.app, self.member_id, self.target, self.source = app, member_id, target, source
        self.thread, self.outcome = None, {}

    @hookimpl
    def contacts_contacts_merged(self, target, source, actor):
        if self.thread is not None:
            return None
        self.thread = threading.Thread(target=self.again, daemon=True)
        self.thread.start()
        self.thread.join(timeout=2)  # the second one reads, then waits for this transaction (either way)
        return None

    def again(self):
        with self.app.test_request_context():
            try:
                self.act(db.session.get(User, self.member_id))
            except (ValidationError, Conflict, NotFound) as exc:
                self.outcome["refused"] = exc
            except Exception as exc:  # noqa: BLE001 - the test says what went wrong
                self.outcome["error"] = exc
            finally:
                db.session.remove()

    def act(self, actor):
        self.outcome["merge"] = merges.merge_contacts(actor, self.target, self.source).id


def test_the_same_merge_twice_at_once_merges_once(app, ctx, member, team):
    """On PostgreSQL the second merge read both contacts before the first committed, then merged
    again from that stale reading: two merges of one pair, the second's undo putting the fields back
    but leaving the notes and groups on the survivor, and the first then refusing its own undo."""
    t = _team(team)
    target = factories.contact(t, "Grace", "Hopper").id
    source = factories.contact(t, "Grace B.", "Hopper").id
    notes.add_note(member, source, "on the source")
    db.session.commit()
    racer = SecondMergeMeanwhile(app, member.id, target, source)
    pm = app.extensions["contacts_pm"]
    pm.register(racer, name="test-second-merge")
    try:
        merges.merge_contacts(member, target, source)
        racer.thread.join(timeout=30)
    finally:
        pm.unregister(racer)
    assert not racer.thread.is_alive()
    assert "merge" not in racer.outcome and isinstance(racer.outcome.get("refused"), ValidationError), racer.outcome
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(Merge)) == 1


class SecondUndoMeanwhile(SecondMergeMeanwhile):
    """The same for an undo: asked again while the first one is inside its transaction."""

    def __init__(self, app, member_id, merge_id):
        super().__init__(app, member_id, None, None)
        self.merge_id = merge_id

    @hookimpl
    def contacts_contacts_unmerged(self, target, source, actor, undo):
        self.contacts_contacts_merged(target, source, actor)

    def act(self, actor):
        self.outcome["undo"] = merges.unmerge(actor, self.merge_id).id


def test_the_same_undo_twice_at_once_undoes_once(app, ctx, member, team):
    t = _team(team)
    target = factories.contact(t, "Grace", "Hopper").id
    source = factories.contact(t, "Grace B.", "Hopper").id
    done = merges.merge_contacts(member, target, source).id
    db.session.commit()
    racer = SecondUndoMeanwhile(app, member.id, done)
    pm = app.extensions["contacts_pm"]
    pm.register(racer, name="test-second-undo")
    try:
        merges.unmerge(member, done)
        racer.thread.join(timeout=30)
    finally:
        pm.unregister(racer)
    assert not racer.thread.is_alive()
    assert isinstance(racer.outcome.get("refused"), Conflict), racer.outcome
    assert "already undone" in str(racer.outcome["refused"])


def test_a_survivor_without_a_photo_gets_the_sources_until_undone(ctx, member, team):
    from core.models.details import ContactPhoto
    from core.services import details as details_service

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    t = _team(team)
    target = factories.contact(t, "Ada", "Byron").id
    source = factories.contact(t, "Ada", "King").id
    with_photo = factories.contact(t, "Ada", "Photo").id
    details_service.set_photo(member, source, png)
    details_service.set_photo(member, with_photo, png + b"\x01")

    def digest(cid):
        db.session.expire_all()
        row = db.session.get(ContactPhoto, cid)
        return row.digest if row else None

    done = merges.merge_contacts(member, target, source)
    assert digest(target) == digest(source) is not None  # the source keeps its own
    merges.unmerge(member, done.id)
    assert digest(target) is None and digest(source) is not None
    own = digest(with_photo)
    done = merges.merge_contacts(member, with_photo, source)
    assert digest(with_photo) == own  # a survivor's own photo stays
    merges.unmerge(member, done.id)
    assert digest(with_photo) == own
