"""Status history: every change of a contact's status (create, edit, bulk, a merge that takes the
source's status), written in the same transaction as the change by the contacts service (and the
bulk actions, and the merge)."""

from __future__ import annotations

import functools

from sqlalchemy import bindparam, delete, select, update

from ..database import transaction
from ..driver_sql import DriverStatement
from ..extensions import db
from ..models import Contact, ContactStatusChange, User, utcnow
from .records import get_owned

REASON_MAX = 500


_INSERT = DriverStatement(ContactStatusChange.__table__.insert(),
                          ("contact_id", "from_status", "to_status", "actor_id", "reason", "changed_at"))


def record(actor, contact_id: int, before: str | None, after: str, reason: str = "") -> None:
    """Add one entry; call inside the transaction that creates the contact or changes its status.
    Inserted at once on the transaction's connection as driver SQL (core/driver_sql.py), not through
    the unit of work (a log row, never read back by the write): that contact's own change stamps its
    pages (core/services/stamps.py)."""
    _INSERT.execute(db.session.connection(), {
        "contact_id": contact_id, "from_status": before, "to_status": after, "actor_id": getattr(actor, "id", None),
        "reason": (reason or "")[:REASON_MAX], "changed_at": utcnow(),
    })


def record_many(actor, changes, reason: str = "") -> None:
    """For bulk actions: ``changes`` is an iterable of ``(contact_id, before, after)``."""
    now = utcnow()
    db.session.add_all(
        ContactStatusChange(contact_id=cid, from_status=before, to_status=after, actor_id=getattr(actor, "id", None),
                            reason=(reason or "")[:REASON_MAX], changed_at=now)
        for cid, before, after in changes if before != after
    )


def history(actor, contact_id: int, limit: int = 50) -> list[dict]:
    """The latest changes of a contact ``actor`` may view, newest first, with the actor's name."""
    get_owned(actor, Contact, contact_id, "contact")
    rows = db.session.execute(_history_query(), {"contact_id": contact_id, "limit": limit})
    return [
        {"id": e.id, "from_status": e.from_status, "to_status": e.to_status, "reason": e.reason,
         "changed_at": e.changed_at, "actor_id": e.actor_id, "actor_name": e.name or e.email or "System"}
        for e in rows
    ]


@functools.cache
def _history_query():
    """``history``'s rows (the columns it shows, no entities), built once: every contact page asks it."""
    c = ContactStatusChange
    return (
        select(c.id, c.from_status, c.to_status, c.reason, c.changed_at, c.actor_id, User.name, User.email)
        .outerjoin(User, User.id == c.actor_id)
        .where(c.contact_id == bindparam("contact_id"))
        .order_by(c.changed_at.desc(), c.id.desc())
        .limit(bindparam("limit"))
    )


# --- merge -----------------------------------------------------------------------------------


def record_merge(actor, target, source, before: str | None, after: str) -> int:
    """The survivor of a merge took the source's status: one entry saying so; its id, for the undo."""
    entry = ContactStatusChange(contact_id=target.id, from_status=before, to_status=after,
                                actor_id=getattr(actor, "id", None), changed_at=utcnow(),
                                reason=f"Merged with {source.full_name} (#{source.id})"[:REASON_MAX])
    db.session.add(entry)
    db.session.flush()
    return entry.id


def drop_merge_entry(target, entry_id) -> None:
    """Undoing a merge: its entry goes with the status it explained."""
    if isinstance(entry_id, int):
        db.session.execute(delete(ContactStatusChange).where(ContactStatusChange.id == entry_id,
                                                              ContactStatusChange.contact_id == target.id))


def merge(target, source) -> dict | None:
    """Move the source's history to the target; the undo record lists the moved ids."""
    with transaction() as session:
        ids = session.scalars(select(ContactStatusChange.id).where(ContactStatusChange.contact_id == source.id)).all()
        if ids:
            session.execute(update(ContactStatusChange).where(ContactStatusChange.id.in_(ids)).values(contact_id=target.id))
    return {"moved": list(ids)} if ids else None


def unmerge(target, source, record: dict) -> None:
    ids = [i for i in record.get("moved", []) if isinstance(i, int)]
    if not ids:
        return
    with transaction() as session:
        session.execute(
            update(ContactStatusChange)
            .where(ContactStatusChange.id.in_(ids), ContactStatusChange.contact_id == target.id)
            .values(contact_id=source.id)
        )
