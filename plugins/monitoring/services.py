"""Writing and reading the activity feed.

``add`` is called from the ``contacts_record_written`` hook, inside the transaction of the change
it describes (contacts and their details): the entry commits with the change, in the same commit,
or rolls back with it. ``record`` is called from the ``contacts_record_changed`` event hook, after
a change announced only that way was committed (other plugins' records, merges): it writes in its
own transaction (a savepoint when the caller still has one open) and never raises, so a broken
feed can not break a change that is already saved.
"""

from __future__ import annotations

import functools
import logging

from sqlalchemy import bindparam, select, update

from core.database import in_write, transaction
from core.driver_sql import DriverStatement
from core.errors import ValidationError
from core.extensions import db
from core.models import MAX_ID, Contact, Organization, Team, User, parse_id, utcnow
from core.policy import require, visible_team_ids
from core.services.bulk_insert import insert_rows
from core.services.pagination import Page, decode_cursor, encode_cursor

from .models import Activity

log = logging.getLogger(__name__)

ENTITY_TYPES = ("contact", "organization", "communication", "note", "list")
HIDDEN_FIELDS = {"version", "updated_at", "email_key", "sort_name", "name_key"}


def _after_value(change):
    """The value after a change given as ``(before, after)`` (or a bare value)."""
    if isinstance(change, (list, tuple)) and len(change) == 2:
        return change[1] if change[1] is not None else change[0]
    return change



def summarize(entity_type: str, action: str, changes: dict) -> str:
    """A short line for people: "changed email, status", "created note"."""
    if action == "updated":
        fields = [
            name for name, change in (changes or {}).items()
            if name not in HIDDEN_FIELDS
            and not (isinstance(change, (list, tuple)) and len(change) == 2 and change[0] == change[1])
        ]
        text = f"changed {', '.join(fields)}" if fields else f"updated {entity_type}"
    else:
        text = f"{action} {entity_type}"
    return text if len(text) <= 500 else text[:499] + "…"


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "display_name", None) or getattr(actor, "email", None) or "system"


def _scope(entity_type: str, entity_id, changes: dict, known: dict | None = None) -> tuple[int | None, int | None]:
    """(contact_id, owner_team_id) of a change, by the convention documented on the hook.
    ``known``: owner teams already read, by ``(table, id)`` (see ``_teams``)."""
    contact_id = None
    if entity_type == "contact":
        contact_id = parse_id(entity_id)
    elif "contact_id" in changes:
        contact_id = parse_id(_after_value(changes["contact_id"]))
    team_id = parse_id(_after_value(changes["owner_team_id"])) if "owner_team_id" in changes else None
    if team_id is None and contact_id is not None:
        if known is not None:
            team_id = known.get(("contact", contact_id))
        else:  # usually still loaded by the request that made the change (no query then)
            contact = db.session.get(Contact, contact_id)
            team_id = contact.owner_team_id if contact is not None else None
    if team_id is None and entity_type == "organization" and parse_id(entity_id):
        if known is not None:
            team_id = known.get(("organization", parse_id(entity_id)))
        else:
            team_id = db.session.scalar(select(Organization.owner_team_id).where(Organization.id == int(entity_id)))
    return contact_id, team_id


def _teams(entity_type: str, items: list) -> dict:
    """The owner teams a batch of changes needs, by ``("contact" | "organization", id)``: one
    query per table for the whole batch instead of one per change."""
    wanted: dict[str, set] = {"contact": set(), "organization": set()}
    for entity_id, _action, changes in items:
        if "owner_team_id" in changes:
            continue
        contact_id = parse_id(entity_id) if entity_type == "contact" else (
            parse_id(_after_value(changes["contact_id"])) if "contact_id" in changes else None)
        if contact_id is not None:
            wanted["contact"].add(contact_id)
        elif entity_type == "organization" and parse_id(entity_id):
            wanted["organization"].add(parse_id(entity_id))
    known: dict = {}
    for table, model in (("contact", Contact), ("organization", Organization)):
        ids = sorted(wanted[table])
        for start in range(0, len(ids), 1000):  # bounded IN lists
            rows = db.session.execute(select(model.id, model.owner_team_id).where(model.id.in_(ids[start:start + 1000])))
            known.update(((table, i), team) for i, team in rows)
    return known


def _values(entity_type: str, entity_id, action: str, actor, changes: dict, known: dict | None = None) -> dict:
    contact_id, team_id = _scope(entity_type, entity_id, changes, known)
    return {
        "actor_id": getattr(actor, "id", None),
        "actor_name": actor_label(actor),
        "entity_type": str(entity_type)[:50],
        "entity_id": parse_id(entity_id),
        "contact_id": contact_id,
        "action": str(action)[:20],
        "summary": summarize(entity_type, action, changes),
        "owner_team_id": team_id,
    }


# Run as driver SQL (core/driver_sql.py): every change of a contact sends it.
_INSERT = DriverStatement(Activity.__table__.insert(), ("actor_id", "actor_name", "entity_type", "entity_id",
                                                        "contact_id", "action", "summary", "owner_team_id",
                                                        "occurred_at"))


def add(entity_type: str, entity_id, action: str, actor, changes: dict | None) -> bool:
    """Append one entry in the caller's open transaction, so it commits or rolls back with the
    change. Inserted at once on the transaction's connection, not through the unit of work: a log
    row that the write never reads back, about a change whose own rows stamp the pages it shows on
    (core/services/stamps.py). An entry that can not be built is logged and left out: the feed never
    refuses a change; a failing insert is a failing database, which fails the change.
    Returns whether an entry was written."""
    try:
        values = _values(entity_type, entity_id, action, actor, dict(changes or {}))
    except Exception:  # noqa: BLE001 - see ``record``
        log.exception("activity feed: could not record %s %s %s", action, entity_type, entity_id)
        return False
    _INSERT.execute(db.session.connection(), {**values, "occurred_at": utcnow()})
    return True


def record(entity_type: str, entity_id, action: str, actor, changes: dict | None) -> Activity | None:
    """Append one entry. Logs and swallows every error: the change itself is already committed."""
    try:
        changes = dict(changes or {})
        joined = in_write()
        with transaction() as session:
            entry = Activity(**_values(entity_type, entity_id, action, actor, changes))
            if joined:
                with session.begin_nested():  # a failure here never poisons the caller's open transaction
                    session.add(entry)
            else:  # our own transaction: a failure rolls back only the entry
                session.add(entry)
        return entry
    except Exception:  # noqa: BLE001 - the feed must never break the change it reports
        log.exception("activity feed: could not record %s %s %s", action, entity_type, entity_id)
        return None


def record_many(entity_type: str, items, actor) -> int:
    """Append one entry per ``(entity_id, action, changes)`` of a committed batch: one query for
    the owner teams, one multi-row insert. Logs and swallows every error, like ``record``.
    Returns how many entries were written."""
    try:
        items = [(entity_id, action, dict(changes or {})) for entity_id, action, changes in items]
        if not items:
            return 0
        joined = in_write()
        with transaction() as session:
            known = _teams(entity_type, items)
            now = utcnow()
            rows = [{**_values(entity_type, entity_id, action, actor, changes, known), "occurred_at": now}
                    for entity_id, action, changes in items]
            if joined:
                with session.begin_nested():  # as in ``record``: never poison the caller's transaction
                    insert_rows(Activity.__table__, rows)
            else:
                insert_rows(Activity.__table__, rows)
        return len(rows)
    except Exception:  # noqa: BLE001 - see ``record``
        log.exception("activity feed: could not record a batch of %s changes", entity_type)
        return 0


def repoint_contact(source_id: int, target_id: int) -> list[int]:
    """After a merge, entries about ``source`` belong to ``target``. Returns the ids moved."""
    try:
        with transaction() as session:
            ids = sorted(session.scalars(select(Activity.id).where(Activity.contact_id == source_id)).all())
            if ids:
                session.execute(update(Activity).where(Activity.contact_id == source_id).values(contact_id=target_id))
        return ids
    except Exception:  # noqa: BLE001 - see ``record``
        log.exception("activity feed: could not re-point contact %s to %s", source_id, target_id)
        return []


def unrepoint_contact(source_id: int, target_id: int, activity_ids) -> int:
    """Undo ``repoint_contact``: the listed entries still on ``target`` go back to ``source``.
    Entries deleted since are skipped. Returns how many moved back."""
    ids = [int(i) for i in activity_ids or []]
    if not ids:
        return 0
    try:
        moved = 0
        with transaction() as session:
            for start in range(0, len(ids), 500):  # bounded IN lists
                chunk = ids[start:start + 500]
                moved += session.execute(
                    update(Activity).where(Activity.id.in_(chunk), Activity.contact_id == target_id)
                    .values(contact_id=source_id)
                ).rowcount or 0
        return moved
    except Exception:  # noqa: BLE001 - see ``record``
        log.exception("activity feed: could not move entries back from contact %s to %s", target_id, source_id)
        return 0


def _page(stmt, cursor: str | None, limit: int) -> Page:
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    if cursor:
        (last_id,) = decode_cursor(cursor, [int])
        if not 0 < last_id <= MAX_ID:
            raise ValidationError({"cursor": "This cursor is not valid; start again from the first page."})
        stmt = stmt.where(Activity.id < last_id)
    return _paged(db.session.scalars(stmt.order_by(Activity.id.desc()).limit(limit + 1)).all(), limit)


def _paged(rows: list, limit: int) -> Page:
    """A Page from the ``limit + 1`` newest rows read (the extra one says there is more)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor([rows[-1].id]) if more and rows else None)


def parse_filters(args) -> dict:
    """The feed's query-string filters, validated; bad values name their field (422)."""
    errors: dict = {}
    entity_type = (args.get("entity_type") or "").strip()
    if len(entity_type) > 50:
        errors["entity_type"] = "At most 50 characters."
    actor_id = None
    raw = (args.get("actor") or "").strip()
    if raw:
        actor_id = parse_id(raw)
        if actor_id is None:
            errors["actor"] = "Must be a user id."
    cursor = args.get("cursor") or None
    if errors:
        raise ValidationError(errors)
    return {"entity_type": entity_type, "actor_id": actor_id, "cursor": cursor}


def list_activity(actor, *, entity_type: str = "", actor_id: int | None = None, cursor: str | None = None,
                  limit: int = 50) -> Page:
    """The global feed, newest first, limited to the teams ``actor`` may see.

    Entries without an owner team (plugin records not tied to a team or contact) are shown to
    administrators only.
    """
    require(actor, "activity.list")
    stmt = select(Activity)
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(Activity.owner_team_id.in_(teams or [-1]))
    if entity_type:
        stmt = stmt.where(Activity.entity_type == entity_type)
    if actor_id is not None:
        stmt = stmt.where(Activity.actor_id == actor_id)
    return _page(stmt, cursor, limit)


def contact_activity(actor, contact: Contact, *, cursor: str | None = None, limit: int = 20) -> Page:
    """Everything recorded about ``contact``; the caller has already checked that ``actor`` may
    view it (``core.services.contacts.get_contact``), which is what grants its history."""
    require(actor, "activity.list", contact)
    if not cursor and 1 <= limit <= 200:  # every contact page: the first page's statement is built once
        rows = db.session.scalars(_contact_first_page(), {"contact_id": contact.id, "limit": limit + 1}).all()
        return _paged(rows, limit)
    return _page(select(Activity).where(Activity.contact_id == contact.id), cursor, limit)


@functools.cache
def _contact_first_page():
    return (select(Activity).where(Activity.contact_id == bindparam("contact_id"))
            .order_by(Activity.id.desc()).limit(bindparam("limit")))


def contact_names(actor, entries) -> dict[int, str]:
    """Names of the contacts the entries concern, in one query, for those ``actor`` may see."""
    ids = {e.contact_id for e in entries if e.contact_id}
    if not ids:
        return {}
    stmt = select(Contact).where(Contact.id.in_(ids))
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(Contact.owner_team_id.in_(teams or [-1]))
    return {c.id: c.full_name for c in db.session.scalars(stmt).unique()}


def actor_options(actor) -> list[tuple[int, str]]:
    """Users offered in the actor filter: everyone for admins, else the members of one's teams."""
    stmt = select(User).order_by(User.name, User.email).limit(500)
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(User.teams.any(Team.id.in_(teams or [-1])))
    return [(u.id, u.display_name) for u in db.session.scalars(stmt)]
