"""Communication use cases: log, list (the contact's timeline), delete, and re-point on merge.

A user may log or delete a communication only if they may edit its contact, and see it only if
they may view the contact: the contact's owner team decides, through ``core.policy``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload, lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from core.database import after_commit, transaction
from core.errors import NotFound, ValidationError
from core.extensions import db
from core.models import Contact, User, parse_id, utcnow
from core.plugins import hook
from core.policy import can, require, visible_team_ids
from core.services import audit
from core.services.contacts import get_contact as _get_contact
from core.services.fields import clean_text
from core.services.pagination import Page, decode_cursor, paginate

from . import rollup
from .models import DIRECTIONS, TYPES, Communication, CommunicationEvent

LOG_TYPES = ("call", "email", "meeting")
FIELDS = ("type", "direction", "subject", "content", "when")
MAX_SUBJECT = 300
MAX_CONTENT = 20_000
EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(2200, 1, 1)


# Ids are INTEGER columns: PostgreSQL refuses a larger number outright, so answer 404 first.
MAX_ID = 2**31 - 1


def get_contact(actor, contact_id: int) -> Contact:
    if not 0 < contact_id <= MAX_ID:
        raise NotFound("No such contact.")
    return _get_contact(actor, contact_id)


def _checked(cursor: str | None, kinds: list) -> str | None:
    """Refuse a cursor whose ids do not fit the INTEGER columns (PostgreSQL would raise)."""
    if cursor and any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in decode_cursor(cursor, kinds)):
        raise ValidationError({"cursor": "This cursor is not valid; start again from the first page."})
    return cursor


def _fire(comm_id: int, action: str, actor, changes: dict) -> None:
    after_commit(
        lambda: hook().contacts_record_changed(
            entity_type="communication", entity_id=comm_id, action=action, actor=actor, changes=changes
        )
    )


def parse_when(value, errors: dict, field: str = "when") -> datetime | None:
    """ISO 8601 date-time (``2026-11-23T10:30`` from a datetime-local input, or with an offset);
    aware values are converted to naive UTC. Empty means "now"."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = clean_text(value, field, errors, 40)
        if field in errors:
            return None
        if not text:
            return utcnow()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            errors[field] = "Not a date and time; use e.g. 2026-11-23T14:30."
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    if not EARLIEST <= parsed < LATEST:
        errors[field] = "Out of range (1900 to 2199)."
        return None
    return parsed


def clean(data: dict) -> dict:
    """Validate a new communication; raise ValidationError naming each bad field."""
    errors: dict = {}
    for name in sorted(set(data) - set(FIELDS) - {"csrf_token"}):
        errors[name] = "Unknown field."
    kind = clean_text(data.get("type"), "type", errors, 50, required=True)
    if "type" not in errors and kind not in LOG_TYPES:
        errors["type"] = f"Choose one of: {', '.join(LOG_TYPES)}."
    direction = clean_text(data.get("direction") or "outbound", "direction", errors, 10)
    if "direction" not in errors and direction not in DIRECTIONS:
        errors["direction"] = f"Choose one of: {', '.join(DIRECTIONS)}."
    subject = clean_text(data.get("subject"), "subject", errors, MAX_SUBJECT)
    content = clean_text(data.get("content"), "content", errors, MAX_CONTENT)
    if not subject and not content and "subject" not in errors and "content" not in errors:
        errors["subject"] = "Give a subject or some content."
    when = parse_when(data.get("when"), errors)
    if errors:
        raise ValidationError(errors)
    return {"type": kind, "direction": direction, "subject": subject, "content": content, "scheduled_at": when}


def may_log(actor, contact: Contact) -> bool:
    return can(actor, "contact.edit", contact) and can(actor, "communication.create", contact)


def log_communication(actor, contact_id: int, data: dict) -> Communication:
    """Record a call, email or meeting that happened (status ``logged``)."""
    contact = get_contact(actor, contact_id)  # 404 unless the actor may view the contact
    require(actor, "contact.edit", contact)
    require(actor, "communication.create", contact)
    values = clean(data)
    with transaction():
        comm = Communication(contact_id=contact.id, status="logged", created_by_id=getattr(actor, "id", None), **values)
        db.session.add(comm)
        db.session.flush()
        changes = {"contact_id": (None, contact.id), "type": (None, comm.type), "direction": (None, comm.direction),
                   "subject": (None, comm.subject), "scheduled_at": (None, comm.scheduled_at)}
        audit.record(actor, "created", "communication", comm.id, changes)
        _fire(comm.id, "created", actor, changes)
    return comm


def get_communication(actor, comm_id: int) -> Communication:
    comm = db.session.get(Communication, comm_id) if 0 < comm_id <= MAX_ID else None
    if comm is None:
        raise NotFound("No such communication.")
    contact = db.session.get(Contact, comm.contact_id)
    if contact is None or contact.deleted_at is not None:
        raise NotFound("No such communication.")
    require(actor, "contact.view", contact)
    require(actor, "communication.view", contact)
    return comm


def delete_communication(actor, comm_id: int) -> Communication:
    comm = get_communication(actor, comm_id)
    contact = db.session.get(Contact, comm.contact_id)
    require(actor, "contact.edit", contact)
    require(actor, "communication.delete", contact)
    with transaction():
        changes = {"contact_id": (comm.contact_id, None), "type": (comm.type, None), "subject": (comm.subject, None)}
        db.session.delete(comm)
        audit.record(actor, "deleted", "communication", comm.id, changes)
        _fire(comm.id, "deleted", actor, changes)
    return comm


LIST_FILTERS = ("type", "status", "since", "until", "created_by", "contact_status", "team")


def clean_filters(args, *, allowed=LIST_FILTERS) -> dict:
    """Filters of the timeline and of the global list, from query arguments; 422 names the field.

    ``type`` (the channel: call, email, ...), ``status``, ``since``/``until`` (dates, inclusive,
    UTC days), ``created_by`` (a user id: the owner), ``contact_status`` and ``team`` (the
    contact's status and owner team).
    """
    from .models import STATUSES

    errors: dict = {}
    out: dict = {}
    for key in allowed:
        raw = args.get(key)
        if raw is None or raw == "":
            continue
        text = clean_text(raw, key, errors, 50)
        if key in errors:
            continue
        if key == "type" and text not in TYPES:
            errors[key] = f"Choose one of: {', '.join(TYPES)}."
        elif key == "status" and text not in STATUSES:
            errors[key] = f"Choose one of: {', '.join(STATUSES)}."
        elif key in ("since", "until"):
            try:
                day = datetime.strptime(text, "%Y-%m-%d")
            except ValueError:
                errors[key] = "Not a date; use e.g. 2026-11-23."
                continue
            if not EARLIEST <= day < LATEST:
                errors[key] = "Out of range (1900 to 2199)."
                continue
            out[key] = day
            continue
        elif key in ("created_by", "team"):
            if parse_id(text) is None:
                errors[key] = "Not a valid id."
                continue
            out[key] = parse_id(text)
            continue
        out[key] = text
    if "since" in out and "until" in out and out["until"] < out["since"]:
        errors["until"] = "The end date is before the start date."
    if errors:
        raise ValidationError(errors)
    return out


def _filtered(stmt, filters: dict):
    """The filters on the communication's own columns."""
    from datetime import timedelta

    if "type" in filters:
        stmt = stmt.where(Communication.type == filters["type"])
    if "status" in filters:
        stmt = stmt.where(Communication.status == filters["status"])
    if "since" in filters:
        stmt = stmt.where(Communication.scheduled_at >= filters["since"])
    if "until" in filters:
        stmt = stmt.where(Communication.scheduled_at < filters["until"] + timedelta(days=1))
    if "created_by" in filters:
        stmt = stmt.where(Communication.created_by_id == filters["created_by"])
    return stmt


def timeline(actor, contact_id: int, *, cursor: str | None = None, limit: int = 20, filters: dict | None = None) -> Page:
    """The contact's communications, newest first, one keyset page at a time (``filters``: type, status)."""
    contact = get_contact(actor, contact_id)
    require(actor, "communication.list", contact)
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    filters = {k: v for k, v in (filters or {}).items() if k in ("type", "status", "since", "until")}
    if filters:
        stmt = select(Communication).where(Communication.contact_id == contact.id)
        stmt, params = _timeline_options(_filtered(stmt, filters)), None
    else:  # the contact page's panel: a statement built once
        stmt, params = _timeline_query(), {"contact_id": contact.id}
    page = paginate(
        db.session, stmt, (Communication.scheduled_at, Communication.id), [datetime, int],
        _checked(cursor, [datetime, int]), limit, True, key_of=lambda c: [c.scheduled_at, c.id], params=params,
    )
    _load_events(page.items)
    page.extra["contact"] = contact
    return page


def _timeline_options(stmt):
    # The authors: only what the entry shows (not their teams, which User loads eagerly). The status
    # history only matters for sends, so it is loaded below for those alone, in one query.
    return stmt.options(_author(joinedload(Communication.created_by)), lazyload(Communication.events))


@functools.cache
def _timeline_query():
    """The unfiltered timeline, built once: the contact page shows its first page on every view."""
    return _timeline_options(select(Communication).where(Communication.contact_id == bindparam("contact_id")))


def _author(loader):
    """``loader`` (of a User relationship) narrowed to the columns a timeline entry shows."""
    return loader.load_only(User.id, User.name, User.email).lazyload(User.teams)


def _load_events(comms: list) -> None:
    """Fill ``events`` of the sends among ``comms`` with one query; plain logged entries get an
    empty list without asking the database (they have no status history)."""
    sends = {c.id: c for c in comms if c.idempotency_key is not None and "events" not in c.__dict__}
    found: dict[int, list] = {cid: [] for cid in sends}
    if sends:
        stmt = (
            select(CommunicationEvent)
            .where(CommunicationEvent.communication_id.in_(list(sends)))
            .options(_author(joinedload(CommunicationEvent.actor)))
            .order_by(CommunicationEvent.id)
        )
        for event in db.session.scalars(stmt):
            found[event.communication_id].append(event)
    for c in comms:
        if "events" not in c.__dict__:
            set_committed_value(c, "events", found.get(c.id, []))


def recent(actor, *, cursor: str | None = None, limit: int = 50, filters: dict | None = None) -> Page:
    """Every communication ``actor`` may see, newest first (the global page), narrowed by ``filters``
    (see ``clean_filters``).

    The contact conditions (visible, not in the trash, status, team) are a correlated EXISTS, so
    the query walks a (filter, scheduled_at, id) index of communications newest first and stops
    after one page. A join lets SQLite start from the contacts instead and sort every
    communication of the visible teams (seconds at 10M rows), or build a Bloom filter over all
    contacts first.
    """
    require(actor, "communication.list")
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    filters = filters or {}
    visible = [Contact.id == Communication.contact_id, Contact.deleted_at.is_(None)]
    teams = visible_team_ids(actor)
    if teams is not None:
        visible.append(Contact.owner_team_id.in_(teams or [-1]))
    if "contact_status" in filters:
        visible.append(Contact.status == filters["contact_status"])
    if "team" in filters:
        visible.append(Contact.owner_team_id == filters["team"])
    stmt = select(Communication).where(select(Contact.id).where(*visible).exists())
    stmt = stmt.options(selectinload(Communication.contact), selectinload(Communication.created_by))
    stmt = _filtered(stmt, filters)
    return paginate(
        db.session, stmt, (Communication.scheduled_at, Communication.id), [datetime, int],
        _checked(cursor, [datetime, int]), limit, True,
        key_of=lambda c: [c.scheduled_at, c.id],
    )


def repoint(target, source, actor) -> list[int]:
    """Move every communication of ``source`` to ``target`` (after a merge). Returns the ids moved."""
    with transaction():
        ids = sorted(db.session.scalars(select(Communication.id).where(Communication.contact_id == source.id)).all())
        rollup.move(db.session, (), source.id, target.id)
        result = db.session.execute(
            update(Communication).where(Communication.contact_id == source.id).values(contact_id=target.id)
        )
        moved = result.rowcount or 0
        if moved:
            audit.record(actor, "merged", "communication", None,
                         {"contact_id": (source.id, target.id), "count": (None, moved)})
    return ids


def unrepoint(target, source, actor, ids) -> int:
    """Undo ``repoint``: the listed communications still on ``target`` go back to ``source``
    (those deleted or moved elsewhere since are skipped). Returns how many moved back."""
    ids = [int(i) for i in ids or []]
    moved = 0
    with transaction():
        for start in range(0, len(ids), 500):  # bounded IN lists
            rollup.move(db.session, (Communication.id.in_(ids[start:start + 500]),), target.id, source.id)
            moved += db.session.execute(
                update(Communication)
                .where(Communication.id.in_(ids[start:start + 500]), Communication.contact_id == target.id)
                .values(contact_id=source.id)
            ).rowcount or 0
        if moved:
            audit.record(actor, "unmerged", "communication", None,
                         {"contact_id": (target.id, source.id), "count": (None, moved)})
    return moved


__all__ = ["TYPES", "log_communication", "delete_communication", "timeline", "recent", "repoint", "unrepoint"]
