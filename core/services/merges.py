"""Merge two contacts, and undo a merge.

A merge keeps ``target`` with the chosen value of each field, soft-deletes ``source`` with
``merged_into_id`` (its email_key freed for the survivor), asks every plugin to move its rows
(``contacts_contacts_merged``, in the same transaction) and stores a Merge record: both
contacts' core fields before, the target's version after, and the plugins' undo records. A
survivor that takes the source's status gets a status-history entry saying so (undone with it).

An unmerge puts both contacts' fields back exactly (their versions go up, so an editor holding
the merged version gets a 409), undeletes the source and hands the undo records back to the
plugins. It is refused, with the reason, when a field of the survivor changed after the merge
(the undo would silently throw that change away; undoing a later merge puts the fields back, so
it does not count), when a later merge involving either contact is still in
place (undo that first), or when someone else took the source's email address since.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import aliased

from ..database import after_commit, transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..models import MAX_ID, Contact, Merge, utcnow
from ..models.merges import MERGED, OPEN
from ..plugins import hook
from ..policy import can, require, visible_team_ids
from . import audit, hierarchy, status_history
from .contacts import sort_name
from .duplicates import mark_pair
from .pagination import Page, paginate
from .records import apply_changes

# The fields a merge lets the user choose, in form order.
CHOICE_FIELDS = ("first_name", "last_name", "email", "phone", "organization_id", "type", "status", "owner_team_id",
                 "category_id", "reports_to_id")
# What a merge snapshots and an unmerge restores, per contact.
SNAPSHOT = (*CHOICE_FIELDS, "sort_name", "email_key", "deleted_at", "deleted_by_id", "merged_into_id")
TIMES = ("deleted_at",)


def snapshot(contact: Contact) -> dict:
    data = {name: getattr(contact, name) for name in SNAPSHOT}
    for name in TIMES:
        data[name] = data[name].isoformat() if data[name] is not None else None
    return data


def _restore(contact: Contact, data: dict) -> dict:
    values = {name: data[name] for name in SNAPSHOT if name in data}
    for name in TIMES:
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    return apply_changes(contact, values)


def default_choices(target: Contact, source: Contact) -> dict[str, str]:
    """Per field: the target's value unless it is empty and the source has one."""
    return {
        name: "source" if getattr(target, name) in (None, "") and getattr(source, name) not in (None, "") else "target"
        for name in CHOICE_FIELDS
    }


def differing(target: Contact, source: Contact) -> list[str]:
    return [name for name in CHOICE_FIELDS if getattr(target, name) != getattr(source, name)]


def _clean_choices(choices) -> dict[str, str]:
    if choices is None:
        return {}
    if not isinstance(choices, dict):
        raise ValidationError({"fields": "Give a choice per field, e.g. {\"email\": \"source\"}."})
    errors = {}
    for name, pick in choices.items():
        if name not in CHOICE_FIELDS:
            errors[str(name)[:60]] = "Unknown field."
        elif pick not in ("target", "source"):
            errors[name] = 'Choose "target" or "source".'
    if errors:
        raise ValidationError(errors)
    return dict(choices)


def _lock(*contact_ids: int) -> None:
    """Hold both contacts' rows for this transaction, in id order (PostgreSQL; SQLite's writers
    take turns already): the same merge or undo asked twice at once waits for the first and then
    reads what it did, instead of acting on what both read before (a 500: the version moved on)."""
    ids = sorted(i for i in contact_ids if 0 < i <= MAX_ID)
    if ids and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Contact.id).where(Contact.id.in_(ids)).order_by(Contact.id).with_for_update())


def _contact(contact_id, *, missing) -> Contact:
    contact = db.session.get(Contact, contact_id, populate_existing=True) if 0 < contact_id <= MAX_ID else None
    if contact is None:
        raise missing
    return contact


def merge_contacts(actor, target_id: int, source_id, choices: dict | None = None) -> Merge:
    """Merge ``source_id`` into ``target_id``; ``choices`` maps a field to "target" or "source"
    (fields left out take the default: the target's value unless it is empty)."""
    try:
        source_id = int(source_id)
    except (TypeError, ValueError):
        raise ValidationError({"source_id": "Choose the contact to merge in."}) from None
    picks = _clean_choices(choices)
    if source_id == target_id:
        raise ValidationError({"source_id": "A contact cannot be merged into itself."})
    with transaction():
        _lock(target_id, source_id)
        target = _contact(target_id, missing=NotFound("No such contact."))
        if target.deleted_at is not None:
            raise NotFound("No such contact.")
        require(actor, "contact.view", target)
        no_source = ValidationError({"source_id": "No such contact."})
        source = _contact(source_id, missing=no_source)
        try:
            require(actor, "contact.view", source)
        except NotFound:
            raise no_source from None
        if source.deleted_at is not None:
            raise ValidationError({"source_id": "That contact is in the trash."})
        require(actor, "contact.edit", target)
        require(actor, "contact.edit", source)
        picks = default_choices(target, source) | picks
        values = {name: getattr(source if picks[name] == "source" else target, name) for name in CHOICE_FIELDS}
        notes = _reporting_line(actor, target, source, picks, values)
        before = {"target": snapshot(target), "source": snapshot(source)}
        now = utcnow()
        # The source lets go of its email address first, so the survivor may take it.
        source.email_key = None
        source.deleted_at, source.deleted_by_id, source.merged_into_id = now, actor.id, target.id
        db.session.flush()
        changes = apply_changes(target, values)
        target.email_key = target.email.lower() if target.email else None
        target.sort_name = sort_name(target.first_name, target.last_name)
        target.updated_at = now  # always a new version, even when every kept value was the target's
        db.session.flush()
        status_entry = (status_history.record_merge(actor, target, source, *changes["status"])
                        if "status" in changes else None)
        undo: dict = {}
        for answer in hook().contacts_contacts_merged(target=target, source=source, actor=actor):
            if answer:
                undo.update(answer)
        merge = Merge(
            target_id=target.id, source_id=source.id, actor_id=actor.id, created_at=now, before=before,
            after={"target_version": target.version, "fields": snapshot(target), "choices": picks,
                   "status_entry": status_entry, "notes": notes},
            undo=json.loads(json.dumps(undo, default=str)),
        )
        db.session.add(merge)
        mark_pair(target.id, source.id, MERGED, actor)
        db.session.flush()
        audit.record(actor, "merged", "contact", target.id, {**changes, "merged_from": (None, source.id)})
        audit.record(actor, "merged", "contact", source.id,
                     {"merged_into_id": (None, target.id), "deleted_at": (None, now)})
        _announce(actor, target, source, changes, "deleted")
    return merge


def _reporting_line(actor, target: Contact, source: Contact, picks: dict, values: dict) -> list[str]:
    """The survivor's manager (``values["reports_to_id"]``), checked as the contact form checks it.
    A survivor reporting to the source reports to the source's manager instead; a manager the
    survivor may not take (a cycle: they report to the survivor, directly or not) leaves the
    survivor's own, and the note returned says why."""
    if values["reports_to_id"] == source.id:
        values["reports_to_id"] = source.reports_to_id if source.reports_to_id != target.id else None
    chosen = values["reports_to_id"]
    if chosen is None or chosen == target.reports_to_id:
        return []
    errors: dict = {}
    hierarchy.clean_reports_to(actor, {"reports_to_id": chosen}, target, errors)
    if not errors:
        return []
    values["reports_to_id"], picks["reports_to_id"] = target.reports_to_id, "target"
    own = db.session.get(Contact, target.reports_to_id) if target.reports_to_id else None
    theirs = db.session.get(Contact, chosen)
    if theirs is not None and (theirs.deleted_at is not None or not can(actor, "contact.view", theirs)):
        theirs = None  # not named to someone who may not see them
    reason = " ".join(errors["reports_to_id"]) if isinstance(errors["reports_to_id"], list) else errors["reports_to_id"]
    return [f"Reports to: {target.full_name} keeps {own.full_name if own else 'no manager'}, not "
            f"{source.full_name}'s ({theirs.full_name if theirs else f'#{chosen}'}): {reason}"]


def _announce(actor, target, source, changes, source_action) -> None:
    def run():
        relay = hook()
        relay.contacts_record_changed(entity_type="contact", entity_id=target.id, action="updated",
                                      actor=actor, changes=changes)
        relay.contacts_record_changed(entity_type="contact", entity_id=source.id, action=source_action,
                                      actor=actor, changes={})

    after_commit(run)


def _later_merge(merge: Merge) -> Merge | None:
    ids = (merge.target_id, merge.source_id)
    return db.session.scalars(
        select(Merge).where(
            Merge.id > merge.id, Merge.undone_at.is_(None), or_(Merge.target_id.in_(ids), Merge.source_id.in_(ids))
        ).order_by(Merge.id.desc()).limit(1)
    ).first()


def unmerge(actor, merge_id: int) -> Merge:
    """Undo a merge: both contacts back as they were, the plugins' rows back on the source."""
    with transaction():
        merge = db.session.get(Merge, merge_id) if 0 < merge_id <= MAX_ID else None
        if merge is None:
            raise NotFound("No such merge.")
        _lock(merge.target_id, merge.source_id)
        db.session.refresh(merge)  # as the undo that held the contacts left it
        target = _contact(merge.target_id, missing=NotFound("No such merge."))
        source = _contact(merge.source_id, missing=NotFound("No such merge."))
        try:
            require(actor, "contact.view", target)
            require(actor, "contact.view", source)
        except NotFound:
            raise NotFound("No such merge.") from None
        require(actor, "contact.edit", target)
        require(actor, "contact.edit", source)
        if merge.undone_at is not None:
            raise Conflict("This merge was already undone.")
        later = _later_merge(merge)
        if later is not None:
            raise Conflict(f"Contact {later.source_id} was merged into contact {later.target_id} after this merge: "
                           "undo that merge first.")
        if target.deleted_at is not None:
            raise Conflict(f"{target.full_name} is in the trash: restore it first, then undo the merge.")
        if source.deleted_at is None or source.merged_into_id != target.id:
            raise Conflict(f"{source.full_name} was restored or changed since the merge; it cannot be un-merged.")
        merged = merge.after.get("fields", {})
        changed = {name: (merged.get(name), getattr(target, name)) for name in CHOICE_FIELDS
                   if name in merged and merged[name] != getattr(target, name)}  # (merges before a field was added)
        if changed:
            raise Conflict(
                f"{target.full_name} was changed after the merge ({', '.join(changed)}). Undoing the merge would "
                "lose those changes; edit the contacts by hand instead.",
                current=target, changes=changed,
            )
        before = merge.before
        for email_key in {before["target"].get("email_key"), before["source"].get("email_key")} - {None}:
            holder = db.session.scalars(
                select(Contact.id).where(Contact.email_key == email_key, Contact.id.not_in((target.id, source.id)))
            ).first()
            if holder is not None:
                raise Conflict(f"Another contact (#{holder}) now has the address {email_key}: "
                               "change it there first, then undo the merge.")
        target_changes = _restore(target, before["target"])
        target.updated_at = utcnow()
        db.session.flush()  # the target lets go of the source's email address first
        source_changes = _restore(source, before["source"])
        db.session.flush()
        status_history.drop_merge_entry(target, merge.after.get("status_entry"))
        hook().contacts_contacts_unmerged(target=target, source=source, actor=actor, undo=merge.undo or None)
        merge.undone_at, merge.undone_by_id = utcnow(), actor.id
        mark_pair(target.id, source.id, OPEN, actor)
        audit.record(actor, "unmerged", "contact", target.id, {**target_changes, "unmerged": (None, source.id)})
        audit.record(actor, "unmerged", "contact", source.id, source_changes)
        _announce(actor, target, source, target_changes, "restored")
    return merge


def get_merge(actor, merge_id: int) -> Merge:
    merge = db.session.get(Merge, merge_id) if 0 < merge_id <= MAX_ID else None
    if merge is None or not _sees(actor, merge):
        raise NotFound("No such merge.")
    return merge


def _sees(actor, merge: Merge) -> bool:
    teams = visible_team_ids(actor)
    return teams is None or (merge.target.owner_team_id in teams and merge.source.owner_team_id in teams)


# Built once: a new alias per call made every contact page rebuild (and recompile) this query.
_TARGET, _SOURCE = aliased(Contact, name="merge_target"), aliased(Contact, name="merge_source")


@functools.cache
def _merged_once():
    """Any merge of the contact ``id`` (as survivor or source), visible or not: built once, run on
    every contact page (the merges panel), each side by its own index."""
    return select(Merge.id).where(or_(Merge.target_id == bindparam("id"), Merge.source_id == bindparam("id"))).limit(1)


def list_merges(actor, contact_id: int | None = None, cursor: str | None = None, limit: int = 25) -> Page:
    """Merges newest first: all the user may see, or those of one contact (as survivor or source)."""
    require(actor, "contact.list")
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    if contact_id is not None and not cursor and db.session.execute(_merged_once(), {"id": contact_id}).first() is None:
        return Page([])  # most contacts were never merged: one plain-row probe, not the merges with both contacts
    t, s = _TARGET, _SOURCE
    stmt = select(Merge).join(t, t.id == Merge.target_id).join(s, s.id == Merge.source_id)
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(t.owner_team_id.in_(teams or [-1]), s.owner_team_id.in_(teams or [-1]))
    if contact_id is not None:
        stmt = stmt.where(or_(Merge.target_id == contact_id, Merge.source_id == contact_id))
    return paginate(db.session, stmt, (Merge.id,), [int], cursor, limit, True, key_of=lambda m: [m.id])
