"""The hash-chained audit trail: append and verify."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import JSON, TypeDecorator, bindparam

from ..database import lock_audit_chain
from ..driver_sql import DriverStatement
from ..errors import ValidationError
from ..extensions import db
from ..models import AuditEntry, User, utcnow
from .pagination import Page

GENESIS = "0" * 64


# One encoder for every digest: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":"))
# Its C encoder, made once: ``_ENCODER.encode`` makes one per call (a third of the cost of an
# import's entry). The same arguments as ``JSONEncoder.iterencode`` gives it, but no circular
# check (markers): the changes encoded here are plain dicts and lists, never circular.
_C_ENCODER = json.encoder.c_make_encoder(
    None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, _ENCODER.key_separator,
    _ENCODER.item_separator, _ENCODER.sort_keys, _ENCODER.skipkeys, _ENCODER.allow_nan,
) if json.encoder.c_make_encoder is not None and _ENCODER.ensure_ascii else None


def _encode(value) -> str:
    """``_ENCODER.encode(value)``, the same text, by the kept C encoder when there is one."""
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    body = _ENCODER.encode(
        {
            "prev": prev_hash,
            "at": entry.created_at.isoformat(timespec="microseconds"),
            "actor": entry.actor_id,
            "action": entry.action,
            "type": entry.entity_type,
            "id": entry.entity_id,
            "changes": entry.changes,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# The newest entry's hash, read on the transaction's connection: built once, run as driver SQL
# (core/driver_sql.py: a text column, nothing to convert).
_LAST_HASH = db.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
_LAST_HASH_SQL = DriverStatement(_LAST_HASH)


def _last_hash(session, conn) -> str | None:
    """The hash the next entry chains to. Entries of this transaction not yet flushed are flushed
    first (they come before the new one); the rest of the change is flushed at commit, in the same
    flush as the entry: no flush of its own for a write's one entry."""
    if any(isinstance(obj, AuditEntry) for obj in session.new):
        session.flush()
    return _LAST_HASH_SQL.execute(conn).scalar()


def record(
    actor, action: str, entity_type: str, entity_id, changes: dict | None = None, *, stamped: bool = False
) -> None:
    """Append an entry in the caller's transaction. ``changes``: field -> [before, after].

    The entry is inserted at once on the transaction's connection (a prebuilt statement, not the
    unit of work: about a tenth of the CPU) whenever that changes no page's version stamp
    (core/services/stamps.py): an entry about anything but a contact stamps nothing, and one about
    a contact stamps that contact's pages, which a caller passing ``stamped=True`` stamps anyway (it
    creates or changes the contact row in this transaction). Otherwise it goes through the session.
    Either way ``changes`` is encoded to JSON once, for the digest and (written directly) the row.
    The request's session and its connection are taken once (each use of ``db.session`` looks the
    session up again)."""
    session = db.session()
    conn = session.connection()
    lock_audit_chain(session, conn)
    last = _last_hash(session, conn) or GENESIS
    now = utcnow()
    actor_id = getattr(actor, "id", None)
    direct = stamped or entity_type != "contact"
    text = _changes_text(changes, _ENCODER.encode)
    head, tail = _frame(action, actor_id, now, entity_type)
    digest = _chain(head, text, entity_id, last, tail)
    if direct:
        _INSERT_SQL.execute(conn, {"created_at": now, "actor_id": actor_id, "action": action, "entity_type": entity_type,
                                   "entity_id": entity_id, "changes_text": text, "prev_hash": last, "hash": digest})
    else:
        clean = {k: [jsonable(v[0]), jsonable(v[1])] for k, v in (changes or {}).items()}
        session.add(AuditEntry(created_at=now, actor_id=actor_id, action=action, entity_type=entity_type,
                               entity_id=entity_id, changes=clean, prev_hash=last, hash=digest))


class _EncodedJSON(TypeDecorator):
    """A JSON column's value given as the text already encoded: bound as is, not encoded again
    (PostgreSQL still sees a JSON parameter)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect):
        return None


# ``changes`` bound as the JSON text the digest hashed (keys sorted, compact), as ``record_many`` stores it.
_INSERT = AuditEntry.__table__.insert().values(changes=bindparam("changes_text", type_=_EncodedJSON()))
_INSERT_SQL = DriverStatement(_INSERT, ("created_at", "actor_id", "action", "entity_type", "entity_id", "changes_text",
                                        "prev_hash", "hash"))  # record's, as driver SQL (core/driver_sql.py)


def _frame(action: str, actor_id, at, entity_type: str) -> tuple[str, str]:
    """What ``_digest``'s body holds around an entry's changes, id and previous hash (its keys in sorted
    order: action, actor, at, changes, id, prev, type): the same for every entry of a ``record_many``."""
    encode = _ENCODER.encode
    head = (f'{{"action":{encode(action)},"actor":{encode(actor_id)},'
            f'"at":{encode(at.isoformat(timespec="microseconds"))},"changes":')
    return head, f'","type":{encode(entity_type)}}}'


def _chain(head: str, text: str, entity_id, prev: str, tail: str) -> str:
    """``_digest`` of the entry whose ``_frame`` is ``head``/``tail`` and whose changes encode to ``text``."""
    key = str(entity_id) if type(entity_id) is int else _ENCODER.encode(entity_id)
    return hashlib.sha256(f'{head}{text},"id":{key},"prev":"{prev}{tail}'.encode()).hexdigest()


def record_many(actor, action: str, entity_type: str, items) -> int:
    """Append one entry per ``(entity_id, changes)`` in ``items`` in the caller's transaction, with
    one chain lookup and one multi-row insert (imports write thousands per batch). The digests are
    ``_digest``'s, written out (``_frame``, ``_chain``): what is the same for every entry of the call is encoded once."""
    from .bulk_insert import insert_rows

    session = db.session()
    conn = session.connection()
    lock_audit_chain(session, conn)
    prev = _last_hash(session, conn) or GENESIS
    now = utcnow()
    actor_id = getattr(actor, "id", None)
    encode = _encode
    head, tail = _frame(action, actor_id, now, entity_type)
    rows = []
    for entity_id, changes in items:
        text = _changes_text(changes, encode)
        digest = _chain(head, text, entity_id, prev, tail)
        rows.append({"created_at": now, "actor_id": actor_id, "action": action, "entity_type": entity_type,
                     "entity_id": entity_id, "changes": text, "prev_hash": prev, "hash": digest})
        prev = digest
    # ``changes`` is stored as the very JSON text the digest hashed (keys sorted, compact).
    return insert_rows(AuditEntry.__table__, rows, ready=("changes",))


_PLAIN = frozenset({str, int, float, bool, type(None)})  # what ``jsonable`` gives back as it is


def _changes_text(changes: dict | None, encode) -> str:
    """``changes`` encoded as ``record`` stores them (each ``[jsonable(before), jsonable(after)]``).
    A pair of plain values (an import's new contact: names, ids, texts) encodes the same as it is,
    without a new dict and four calls a field."""
    if not changes:
        return "{}"
    for pair in changes.values():
        if len(pair) != 2 or type(pair[0]) not in _PLAIN or type(pair[1]) not in _PLAIN:
            return encode({k: [jsonable(v[0]), jsonable(v[1])] for k, v in changes.items()})
    return encode(changes)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; report the first entry edited, deleted or reordered."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return VerifyResult(True, checked)
        for entry in rows:
            if entry.prev_hash != prev:
                return VerifyResult(False, checked, entry.id, "an entry before it was deleted, inserted or reordered")
            if _digest(prev, entry) != entry.hash:
                return VerifyResult(False, checked, entry.id, "its content was edited")
            prev = entry.hash
            checked += 1
            last_id = entry.id
        db.session.expunge_all()


def history(entity_type: str, entity_id: int, limit: int = 50):
    return db.session.scalars(_history_query(), {"type": entity_type, "id": entity_id, "limit": limit}).all()


@functools.cache
def _history_query():
    """``history``'s statement, built once (every contact page asks it)."""
    return (
        db.select(AuditEntry)
        .where(AuditEntry.entity_type == bindparam("type"), AuditEntry.entity_id == bindparam("id"))
        .order_by(AuditEntry.id.desc())
        .limit(bindparam("limit"))
    )


def latest(cursor: str | None = None, limit: int = 50):
    """The newest entries first, one keyset page by id; ``cursor`` is the id to continue below.

    Returns a ``Page`` whose ``extra["actors"]`` maps actor ids to emails.
    """
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    stmt = db.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if cursor:
        if not cursor.isdecimal() or len(cursor) > 18:
            raise ValidationError({"cursor": "This cursor is not valid; start again from the first page."})
        stmt = stmt.where(AuditEntry.id < int(cursor))
    rows = db.session.scalars(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = {r.actor_id for r in rows if r.actor_id is not None}
    actors = dict(db.session.execute(db.select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}
    return Page(rows, str(rows[-1].id) if more and rows else None, {"actors": actors})
