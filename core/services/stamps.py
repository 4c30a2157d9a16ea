"""Version stamps of what pages show, kept in the database and changed in the writing transaction.

A page about one contact (the contact page, its panels, its edit form) is a function of rows that
name the contact and of rows every such page may show (users, teams, tags, groups, vocabularies,
plugin settings, other contacts' names...). So there are two kinds of scope, one row each in
``cache_stamps``:

- ``contact:<id>``: changed when a row referring to that contact is inserted, changed or deleted
  (a foreign key to ``contacts.id`` or a ``contact_id`` column: details, tags, groups, notes,
  communications, relationships on both sides, ...) and when the contact itself is created;
- ``shared``: changed by every other write: any other table, any change to an existing contact
  (its name shows on other contacts' pages: reporting line, relationships, merges), and every
  bulk statement (``update()``/``delete()``/raw SQL through the session), whose rows are unknown.

Nothing has to remember to invalidate: a session listener sees every ORM write, and the new
stamps are written in the same transaction just before it commits, so a reader sees the rows and
their stamps together (one snapshot on SQLite; on PostgreSQL it reads the stamps first, and data
can only be newer than its stamps, never older). Stamps are random, not counters, so a restored
backup or a recycled id can never bring back a key that was issued for other rows.

Writes that bypass the session (a raw connection) must call ``touch_shared`` in their transaction.
Audit entries are the one exception to the rule above: they accompany a write that has already
bumped its scope; an entry about a contact touches that contact (its history shows on its page).
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from ..database import is_bulk_write
from ..extensions import db
from ..models import ApiToken, AuditEntry, CacheStamp, Contact, Job

SHARED = "shared"
_PENDING = "contacts_stamps"  # session.info keys: the scopes this transaction changed,
_CREATED = "contacts_stamps_created"  # and the contacts it created
_paused: ContextVar[bool] = ContextVar("contacts_stamps_paused", default=False)


@contextmanager
def paused():
    """Write no stamps inside this block: for code that writes to a database whose schema predates
    ``cache_stamps`` (core_0017), e.g. a migration test filling an old revision with data."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def contact_scope(contact_id: int) -> str:
    return f"contact:{contact_id}"


def read(names) -> dict[str, int]:
    """The current stamp of each scope (0 for a scope never written)."""
    names = list(names)
    found = dict(db.session.execute(select(CacheStamp.name, CacheStamp.stamp).where(CacheStamp.name.in_(names))).all())
    return {n: found.get(n, 0) for n in names}


def touch_shared(session=None) -> None:
    """Mark everything changed, for a write the session does not see (call it inside the write)."""
    _pending(session or db.session()).add(SHARED)


def _pending(session) -> set:
    return session.info.setdefault(_PENDING, set())


_contact_columns: dict = {}


def _contact_refs(mapper) -> tuple[str, ...]:
    """Attribute names holding a contact id in this mapper's table (cached per mapper)."""
    found = _contact_columns.get(mapper)
    if found is None:
        cols = [
            c for c in mapper.local_table.columns
            if c.name == "contact_id" or any(fk.column.table.name == Contact.__tablename__ for fk in c.foreign_keys)
        ]
        found = tuple(mapper.get_property_by_column(c).key for c in cols)
        _contact_columns[mapper] = found
    return found


def _scopes_of(obj, is_new: bool, created: set) -> set[str]:
    if isinstance(obj, (CacheStamp, ApiToken, Job)):  # no page about a contact shows these rows
        return set()
    if isinstance(obj, AuditEntry):
        return {contact_scope(obj.entity_id)} if obj.entity_type == "contact" and obj.entity_id else set()
    if isinstance(obj, Contact) and not is_new:
        return {SHARED}
    state = inspect(obj)
    refs = _contact_refs(state.mapper)
    if not refs:
        return {SHARED}
    ids = set()
    for key in refs:
        history = state.attrs[key].history  # the value now and, when it changed, the one before
        ids.update(v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None)
    if isinstance(obj, Contact):
        created.add(obj.id)
    return {contact_scope(i) for i in ids}


@event.listens_for(Session, "after_flush")
def _collect(session, _flush_context) -> None:
    pending = _pending(session)
    created = session.info.setdefault(_CREATED, set())
    for obj in session.new:
        pending |= _scopes_of(obj, True, created)
    for obj in session.dirty:
        if session.is_modified(obj):  # collections too: team membership lives in an association table
            pending |= _scopes_of(obj, False, created)
    for obj in session.deleted:
        pending |= _scopes_of(obj, False, created)


@event.listens_for(Session, "do_orm_execute")
def _bulk(orm_execute_state) -> None:
    if is_bulk_write(orm_execute_state):
        _pending(orm_execute_state.session).add(SHARED)


_UPSERT = "INSERT INTO cache_stamps (name, stamp) VALUES ({0}, {0}) ON CONFLICT (name) DO UPDATE SET stamp = excluded.stamp"


@event.listens_for(Session, "before_commit")
def _write(session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit's own flush comes after this hook: collect its scopes now
    pending = session.info.pop(_PENDING, None)
    created = session.info.pop(_CREATED, ())
    if not pending or _paused.get():
        return
    if SHARED in pending:  # every page's key holds the shared stamp: the contacts' own add nothing
        pending = {SHARED}
    # A contact created in this transaction had no page before; its id is new, or was a deleted
    # contact's, and deleting one changes the shared stamp: no key of its pages was ever issued.
    pending -= {contact_scope(i) for i in created}
    if not pending:
        return
    conn = session.connection()
    sql = _UPSERT.format("?" if conn.dialect.paramstyle == "qmark" else "%s")
    rows = [(name, secrets.randbits(62)) for name in sorted(pending)]
    conn.exec_driver_sql(sql, rows if len(rows) > 1 else rows[0])


@event.listens_for(Session, "after_transaction_end")
def _forget(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (a savepoint keeps what was seen)
        session.info.pop(_PENDING, None)
        session.info.pop(_CREATED, None)
