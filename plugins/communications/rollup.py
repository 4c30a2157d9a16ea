"""Communication counts per team, month, channel and direction (``communications_rollup``), kept
equal to a direct count in the same transaction as every change, and the dashboard's summary.

What is counted: every communication (any status) of a live contact, under the contact's owner
team and the UTC month of ``scheduled_at``. So the counts move when a communication is created,
deleted, moved in time or to another contact, and when a contact changes team, goes to the trash
or comes back.

Two ways in, both inside the caller's transaction:

- ORM changes (``session.add``/``delete`` of a communication, a contact's ``owner_team_id`` or
  ``deleted_at`` set on the object, from any service of the core or a plugin) are caught by a
  ``before_flush`` listener, so no code path that edits through the ORM can forget them;
- the bulk ``UPDATE`` statements of this plugin (re-pointing on merge and unmerge, rescheduling)
  call ``move`` and ``shift`` themselves.

The counts are read as the database has them (the last flushed state), so the order of flushes
inside one transaction does not matter. ``backfill`` recomputes everything (the migration, the
benchmark loader).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import String, event, func, select, text
from sqlalchemy.orm import Session, attributes

from core.extensions import db
from core.models import Contact, utcnow
from core.policy import require, visible_team_ids

from .models import Communication, CommunicationCount

MONTHS = 12  # the widget's window, the current month included
TRACKED = ("contact_id", "type", "direction", "scheduled_at")


def month_of(when: datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def month_sql(dialect: str, column: str = "scheduled_at") -> str:
    """The month key of a timestamp column in SQL ("2026-11"); SQLite keeps DateTime as ISO text."""
    return f"to_char({column}, 'YYYY-MM')" if dialect == "postgresql" else f"substr({column}, 1, 7)"


def _month_expr(dialect: str):
    if dialect == "postgresql":
        return func.to_char(Communication.scheduled_at, "YYYY-MM", type_=String)
    return func.substr(Communication.scheduled_at, 1, 7, type_=String)


def backfill(conn) -> int:
    """Recompute the whole table from the communications (a migration or a bulk load)."""
    dialect = conn.dialect.name
    conn.execute(text("DELETE FROM communications_rollup"))
    result = conn.execute(text(
        "INSERT INTO communications_rollup (team_id, month, type, direction, count) "
        f"SELECT c.owner_team_id, {month_sql(dialect, 'm.scheduled_at')}, m.type, m.direction, count(*) "
        "FROM communications m JOIN contacts c ON c.id = m.contact_id WHERE c.deleted_at IS NULL "
        "GROUP BY 1, 2, 3, 4"))
    return result.rowcount or 0


# --- keeping the counts ---------------------------------------------------------------------------


def _apply(conn, deltas: Counter) -> None:
    rows = [{"team_id": k[0], "month": k[1], "type": k[2], "direction": k[3], "count": n}
            for k, n in sorted(deltas.items()) if n]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = CommunicationCount.__table__
    stmt = insert(table).values(rows)
    conn.execute(stmt.on_conflict_do_update(index_elements=list(table.primary_key.columns.keys()),
                                            set_={"count": table.c.count + stmt.excluded["count"]}))


def _stored_teams(conn, contact_ids) -> dict:
    """contact id -> its owner team as the database has it now, or None when it is in the trash."""
    ids = sorted({i for i in contact_ids if i is not None})
    if not ids:
        return {}
    rows = conn.execute(select(Contact.id, Contact.owner_team_id, Contact.deleted_at).where(Contact.id.in_(ids)))
    return {cid: (team if deleted is None else None) for cid, team, deleted in rows}


def _counts(conn, *where) -> list:
    month = _month_expr(conn.dialect.name)
    stmt = (select(month, Communication.type, Communication.direction, func.count())
            .where(*where).group_by(month, Communication.type, Communication.direction))
    return conn.execute(stmt).all()


def _add_moved(deltas: Counter, counts, old_team, new_team) -> None:
    if old_team == new_team:
        return
    for month, kind, direction, n in counts:
        if old_team is not None:
            deltas[(old_team, month, kind, direction)] -= n
        if new_team is not None:
            deltas[(new_team, month, kind, direction)] += n


def move(session, where, from_contact_id: int, to_contact_id: int) -> None:
    """Before ``UPDATE communications SET contact_id = to WHERE <where>`` (the rows are on
    ``from_contact_id``): move their counts from that contact's team to the other's."""
    session.flush()  # the contacts' pending changes reach the rollup first
    conn = session.connection()
    teams = _stored_teams(conn, (from_contact_id, to_contact_id))
    deltas: Counter = Counter()
    _add_moved(deltas, _counts(conn, Communication.contact_id == from_contact_id, *where),
               teams.get(from_contact_id), teams.get(to_contact_id))
    _apply(conn, deltas)


def shift(session, comm: Communication, old_when: datetime, new_when: datetime) -> None:
    """After a bulk UPDATE moved ``comm`` from ``old_when`` to ``new_when``."""
    if month_of(old_when) == month_of(new_when):
        return
    conn = session.connection()
    team = _stored_teams(conn, (comm.contact_id,)).get(comm.contact_id)
    if team is not None:
        _apply(conn, Counter({(team, month_of(old_when), comm.type, comm.direction): -1,
                              (team, month_of(new_when), comm.type, comm.direction): 1}))


def _old(obj, name: str):
    hist = attributes.get_history(obj, name)
    if hist.deleted:
        return hist.deleted[0]
    return hist.unchanged[0] if hist.unchanged else getattr(obj, name)


def _changed(obj, names) -> bool:
    return any(attributes.get_history(obj, name).has_changes() for name in names)


def _live_team(session, contact_id):
    contact = session.get(Contact, contact_id) if contact_id is not None else None
    if contact is None or contact.deleted_at is not None or contact in session.deleted:
        return None
    return contact.owner_team_id


def _key(session, contact_id, when, kind, direction):
    team = _live_team(session, contact_id)
    if team is None or when is None:
        return None
    return team, month_of(when), kind, direction or "outbound"


def _enabled() -> bool:
    return has_app_context() and current_app.extensions["contacts_pm"].has_plugin("communications")


def _before_flush(session, _context, _instances) -> None:
    if not _enabled():
        return
    new = [o for o in session.new if isinstance(o, Communication)]
    gone = [o for o in session.deleted if isinstance(o, Communication)]
    edited = [o for o in session.dirty if isinstance(o, Communication) and _changed(o, TRACKED)]
    moved = [o for o in session.dirty if isinstance(o, Contact) and _changed(o, ("owner_team_id", "deleted_at"))]
    purged = [o for o in session.deleted if isinstance(o, Contact)]
    if not (new or gone or edited or moved or purged):
        return
    conn = session.connection()
    deltas: Counter = Counter()
    if moved or purged:  # the contacts first: their stored communications follow them
        stored = _stored_teams(conn, [c.id for c in moved + purged])
        for contact in moved + purged:
            now_team = None if contact in purged or contact.deleted_at is not None else contact.owner_team_id
            if stored.get(contact.id) != now_team:
                _add_moved(deltas, _counts(conn, Communication.contact_id == contact.id), stored.get(contact.id), now_team)
    for comm in new:
        key = _key(session, comm.contact_id, comm.scheduled_at, comm.type, comm.direction)
        if key:
            deltas[key] += 1
    for comm in gone + edited:
        key = _key(session, *(_old(comm, name) for name in ("contact_id", "scheduled_at", "type", "direction")))
        if key:
            deltas[key] -= 1
    for comm in edited:
        key = _key(session, comm.contact_id, comm.scheduled_at, comm.type, comm.direction)
        if key:
            deltas[key] += 1
    _apply(conn, deltas)


event.listen(Session, "before_flush", _before_flush)


# --- the dashboard ----------------------------------------------------------------------------------


def last_months(today: datetime, count: int = MONTHS) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def summary(actor, today: datetime | None = None) -> dict:
    """The communications of the contacts ``actor`` may see over the last 12 months (the current
    one included): per month, per channel and per direction, from the rollup alone."""
    require(actor, "communication.list")
    months = last_months(today or utcnow())
    t = CommunicationCount
    stmt = (select(t.month, t.type, t.direction, func.sum(t.count))
            .where(t.month >= months[0], t.month <= months[-1])
            .group_by(t.month, t.type, t.direction))
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(t.team_id.in_(teams or [-1]))
    per_month, per_type, per_direction = Counter(), Counter(), Counter()
    for month, kind, direction, n in db.session.execute(stmt):
        per_month[month] += int(n)
        per_type[kind] += int(n)
        per_direction[direction] += int(n)
    return {
        "months": [(m, per_month[m]) for m in months],
        "this_month": per_month[months[-1]],
        "total": sum(per_month.values()),
        "by_type": sorted(((k, n) for k, n in per_type.items() if n), key=lambda kn: (-kn[1], kn[0])),
        "by_direction": {d: per_direction[d] for d in ("inbound", "outbound")},
    }
