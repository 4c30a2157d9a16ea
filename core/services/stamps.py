"""Version stamps of what pages show, kept in the database and changed in the writing transaction.

A page is a function of rows, and each row belongs to scopes, kept as rows of ``cache_stamps``:

- ``contact:<id>``: changed when a row referring to that contact is inserted, changed or deleted
  (a foreign key to ``contacts.id`` or a ``contact_id`` column: details, tags, groups, notes,
  communications, relationships on both sides, ...). A page about one contact (the contact page,
  its panels, its edit form) reads this and the shared stamps.
- ``contacts:<k>``: changed, on one of ``STRIPES`` rows, by every transaction that changes any
  contact's scope or creates a contact. A page listing contacts (the list, search results) reads
  all of these and the shared stamps.
- ``shared:<k>``: changed, on one of ``STRIPES`` rows, by every other write: any other table, any
  change to an existing contact (its name shows on other contacts' pages and in lists), and every
  bulk statement (``update()``/``delete()``/raw SQL through the session), whose rows are unknown.
  Every page reads all of these.

Each kind of wide scope is striped: a transaction changes one row of the kind, picked at random,
and readers read every row of it (one indexed query). With one row per kind, concurrent writers
on PostgreSQL queue on that row's lock until each commits: 8 psycopg connections doing an insert
and the stamp made ~1,200-3,100 transactions/s with one row and ~3,900 with 16 rows, against
~5,000 without any stamp (this machine, under load). Through the services, 8 threads of one process
updating contacts make ~210-290 updates/s either way (Python is the limit there): the row lock
matters at the 1,000 writes/s issue 5 asks for, spread over processes.

Nothing has to remember to invalidate: a session listener sees every ORM write, and the new
stamps are written in the same transaction just before it commits, so a reader sees the rows and
their stamps together (one snapshot on SQLite; on PostgreSQL it reads the stamps first, and data
can only be newer than its stamps, never older). Stamps are random, not counters, so a restored
backup or a recycled id can never bring back a key that was issued for other rows. A write through
``session.connection()`` escapes the listener: the only ones (communications' dashboard rollup)
change nothing a versioned page shows; bulk statements go through the session and are seen.

Audit entries are the one exception to the rule above: they accompany a write that has already
bumped its scope; an entry about a contact touches that contact (its history shows on its page).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app
from sqlalchemy import bindparam, event, inspect, literal_column, select
from sqlalchemy.orm import Session

from ..database import is_bulk_write
from ..extensions import db
from ..models import ApiToken, AuditEntry, CacheStamp, Contact, Job

SHARED = "shared"  # in a transaction's pending scopes: one of the shared stripes changes
STRIPES = 16
SHARED_STRIPES = tuple(f"shared:{k}" for k in range(STRIPES))
CONTACTS_STRIPES = tuple(f"contacts:{k}" for k in range(STRIPES))
_PENDING = "contacts_stamps"  # session.info keys: the scopes this transaction changed,
_CREATED = "contacts_stamps_created"  # and the contacts it created
_SHARED_SEEN = "contacts_stamps_shared"  # the shared stamps this transaction read (shared_version)
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


def page_scopes(contact_id: int | None = None) -> tuple[str, ...]:
    """What a page reads: about one contact (``contact_id``), or a list of contacts (``None``)."""
    if contact_id is None:
        return SHARED_STRIPES + CONTACTS_STRIPES
    return (*SHARED_STRIPES, contact_scope(contact_id))


def _inlined(names) -> list:
    """The stripes' names written into the statement (they are this module's constants): a statement
    with 32 bound parameters cost ~240 µs of CPU a page to build, key and bind on every request; one
    built once with them inline costs ~40 µs."""
    return [literal_column(f"'{name}'") for name in names]


_STAMPS = CacheStamp.__table__
_LIST_ORDER = tuple(sorted(page_scopes(None)))
_LIST_VERSION = select(_STAMPS.c.name, _STAMPS.c.stamp).where(_STAMPS.c.name.in_(_inlined(_LIST_ORDER)))
_CONTACT_VERSION = select(_STAMPS.c.name, _STAMPS.c.stamp).where(
    _STAMPS.c.name.in_([*_inlined(SHARED_STRIPES), bindparam("scope")])
)


def page_version(contact_id: int | None = None) -> tuple[int, ...]:
    """The stamps of ``page_scopes(contact_id)`` in a fixed order (their names', 0 for a scope never
    written), from one statement built once: any write that could change such a page changes this
    tuple. Read on every list and contact page (conditional GETs, the page cache). The shared stamps
    read here are kept for ``shared_version`` until this transaction ends."""
    conn = db.session.connection()  # a Core statement on the transaction's connection: no ORM execution (~60 µs)
    if contact_id is None:
        order, rows = _LIST_ORDER, conn.execute(_LIST_VERSION)
    else:
        scope = contact_scope(contact_id)
        order, rows = sorted(page_scopes(contact_id)), conn.execute(_CONTACT_VERSION, {"scope": scope})
    found = dict(rows.all())
    db.session.info[_SHARED_SEEN] = _shared_hash(found)
    return tuple(found.get(n, 0) for n in order)


def _pending(session) -> set:
    return session.info.setdefault(_PENDING, set())


def touch_shared(session) -> None:
    """Every page changes with this transaction: for writes the session listener cannot see (rows
    written through the transaction's connection, e.g. ``bulk_insert.insert_rows``)."""
    _pending(session).add(SHARED)


def contact_created(session, contact_id: int) -> None:
    """A contact inserted through the transaction's connection (not the unit of work): lists change
    with this transaction, as they do for a contact the session created."""
    session.info.setdefault(_CREATED, set()).add(contact_id)


_SHARED_VERSION = select(_STAMPS.c.name, _STAMPS.c.stamp).where(_STAMPS.c.name.in_(_inlined(SHARED_STRIPES)))


def _shared_hash(found) -> int:
    """``found``: name -> stamp of the shared stripes read (a stripe never written is 0)."""
    return hash(tuple(found.get(n, 0) for n in SHARED_STRIPES))


def shared_version() -> int:
    """One number that changes whenever any shared stripe does: for caches of what only shared rows
    decide (the list's filter choices). A page read them already with its version (``page_version``,
    the same transaction: on SQLite the same snapshot); else a statement built once, run on the
    connection."""
    seen = db.session.info.get(_SHARED_SEEN)
    if seen is not None:
        return seen
    found = db.session.info[_SHARED_SEEN] = _shared_hash(dict(db.session.connection().execute(_SHARED_VERSION).all()))
    return found


_LOCAL: OrderedDict = OrderedDict()  # least recently used first
_LOCAL_APP_KEY = "contacts_stamps_local"  # app.extensions: the app's part of the keys
LOCAL_SIZE = 256  # a list page keeps ~5 (its menus the largest, tens of kB): a bound on a worker's memory


def local(name: str, *parts, make, otherwise=None):
    """``make()``, kept in this process under (``name``, the shared version this transaction read,
    ``parts``): for values that only shared rows and ``parts`` decide (a list page's filter choices,
    whether a tag exists...). Any write that could change such a value changes the shared version,
    so an entry is never stale, in any worker, and nothing invalidates it. A list page reads a few:
    each would otherwise be a read of the shared cache (a file or a Redis round trip, 15-30 µs) or a
    statement (~70 µs). Only when the shared stamps were read already (``page_version``): otherwise
    reading them would cost the statement this saves, and ``make()`` (or ``otherwise()``, when given)
    is simply called."""
    seen = db.session.info.get(_SHARED_SEEN)
    if seen is None:
        return (otherwise or make)()
    app = current_app._get_current_object()
    token = app.extensions.get(_LOCAL_APP_KEY)
    if token is None:  # one process may hold several apps (tests): each its own entries
        token = app.extensions[_LOCAL_APP_KEY] = secrets.token_hex(8)
    key = (name, token, seen, *parts)
    found = _LOCAL.get(key, _LOCAL)
    if found is _LOCAL:
        found = make()
        _LOCAL[key] = found
        # The least recently used goes: entries of an older version first (versions only ever move
        # on), never those the active users' pages keep asking for (emptying all of it at once made
        # every user's menus, identity and nav again once more than ~50 users shared a worker).
        while len(_LOCAL) > LOCAL_SIZE:
            try:
                _LOCAL.popitem(last=False)
            except KeyError:  # another thread emptied it meanwhile
                break
    else:
        try:
            _LOCAL.move_to_end(key)
        except KeyError:  # another thread dropped it meanwhile: the value found is still right
            pass
    return found


def forget_local() -> None:
    """Empty ``local``'s entries: for tests that empty the database, and its stamps with it (the
    shared version of empty stamps is the same in every database)."""
    _LOCAL.clear()


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
    pending = session.info.pop(_PENDING, None) or set()
    created = session.info.pop(_CREATED, ())
    if not (pending or created) or _paused.get():
        return
    if SHARED in pending:  # every page's version holds the shared stamps: the contacts' own add nothing
        names = {secrets.choice(SHARED_STRIPES)}
    else:
        # A contact created in this transaction had no page before; its id is new, or was a deleted
        # contact's, and deleting one changes a shared stamp: no key of its pages was ever issued.
        # It does show in lists, as every changed contact may: one contacts stripe covers them.
        names = (pending - {contact_scope(i) for i in created}) | {secrets.choice(CONTACTS_STRIPES)}
    conn = session.connection()
    sql = _UPSERT.format("?" if conn.dialect.paramstyle == "qmark" else "%s")
    rows = [(name, secrets.randbits(62)) for name in sorted(names)]
    conn.exec_driver_sql(sql, rows if len(rows) > 1 else rows[0])


@event.listens_for(Session, "after_transaction_end")
def _forget(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (a savepoint keeps what was seen)
        session.info.pop(_PENDING, None)
        session.info.pop(_CREATED, None)
    session.info.pop(_SHARED_SEEN, None)  # a savepoint too: what was read inside it may have been rolled back
