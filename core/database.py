"""Database engine tuning and the write transaction every service uses.

SQLite: WAL, ``synchronous=NORMAL``, a busy timeout, a bounded WAL file, and writes that start
with ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing with
"database is locked" when a read transaction tries to upgrade; before it, the writers of this
code take turns on a file lock (core/write_queue.py) instead of SQLite's sleeping busy wait. Reads
keep a deferred ``BEGIN`` so they never wait for a writer.
"""

from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import Table, event, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from . import write_queue
from .extensions import db
from .models import Team, User

_immediate = contextvars.ContextVar("contacts_begin_immediate", default=False)
_after_commit: contextvars.ContextVar[list | None] = contextvars.ContextVar("contacts_after_commit", default=None)


def is_sqlite(engine=None) -> bool:
    engine = engine or db.engine
    return engine.dialect.name == "sqlite"


def configure_engine(engine, app) -> None:
    if engine.dialect.name != "sqlite":
        return
    busy = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    wal_limit = int(app.config["SQLITE_WAL_LIMIT_BYTES"])
    # SQLite's page cache is private to each connection, so each web worker's memory; the file's pages
    # stay in the OS page cache, shared, and a page read from it costs microseconds. 8 MB (was 32 MB)
    # measured no slower on the 1M bench lists and searches, and 24 MB less resident per worker.
    cache_kib = int(app.config["SQLITE_CACHE_KIB"])

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy (not the sqlite3 module) emit BEGIN, so we can choose IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy}")
        cur.execute(f"PRAGMA journal_size_limit={wal_limit}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA cache_size=-{cache_kib}")
        cur.close()

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn, record):
        if record.info.pop(_CACHE_RAISED, False) and dbapi_conn is not None:  # see larger_page_cache
            dbapi_conn.execute(f"PRAGMA cache_size=-{cache_kib}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if _unbegun.get():  # see read_unbegun: the BEGIN waits for the next statement
            conn.info[_UNBEGUN] = True
            return
        conn.info.pop(_UNBEGUN, None)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")

    @event.listens_for(engine, "before_execute")
    def _begin_late(conn, *_args):
        if _UNBEGUN in conn.info and not _unbegun.get():
            del conn.info[_UNBEGUN]
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


_unbegun = contextvars.ContextVar("contacts_read_unbegun", default=False)
_UNBEGUN = "contacts_unbegun"  # conn.info: SQLAlchemy's transaction is open, SQLite's not yet


@contextmanager
def read_unbegun():
    """SQLite: the statement(s) inside read without a transaction of their own; the transaction the
    session has begun sends its ``BEGIN`` before the next statement after the block (a request's
    reads still share one snapshot), and a write that comes next needs no ``COMMIT`` of a read
    first. For one statement that needs no snapshot with the others: an API request's token, user
    and teams (core/services/identity.py), read before anything else. That read's BEGIN and the
    write's COMMIT of it were two of an API write's eleven statements."""
    token = _unbegun.set(True)
    try:
        yield
    finally:
        _unbegun.reset(token)


@contextmanager
def transaction():
    """One write: commit everything inside or nothing, then run the after-commit callbacks.

    Nested use joins the outer transaction. Any read transaction left open by the request is
    ended first so that the write starts fresh (and, on SQLite, takes the write lock up front).
    """
    if _after_commit.get() is not None:  # nested: the outer block commits
        yield db.session
        return
    session = db.session()
    engine = db.engine
    kept = _end_read_keeping_connection(session, engine)
    if kept is None:
        end_read_snapshot(session)
    callbacks: list = []
    token_cb = _after_commit.set(callbacks)
    token_imm = _immediate.set(True)
    try:
        # SQLite: take a turn among this database's writers first (core/write_queue.py), then
        # BEGIN IMMEDIATE now, not at the first write; the turn ends with the commit.
        with write_queue.turn(write_queue.lock_path(engine), _busy_seconds(engine)):
            try:
                if kept is None:
                    session.connection()
                elif kept.dialect.name == "sqlite":
                    kept.exec_driver_sql("BEGIN IMMEDIATE")
                yield session
                _commit_keeping_state(session)
            except BaseException:
                session.info.pop("contacts_bulk_write", None)
                session.info.pop(_WRITTEN, None)
                session.rollback()
                raise
    finally:
        _immediate.reset(token_imm)
        _after_commit.reset(token_cb)
    # Every callback runs even if one raises (the change is committed either way); the first
    # error is raised afterwards.
    error = None
    for cb in callbacks:
        try:
            cb()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            error = error or exc
    if error is not None:
        raise error


def _busy_seconds(engine) -> float:
    """How long a writer waits for its turn before going on to SQLite's own busy wait: half the busy
    timeout, so a writer stuck behind a long one still fails within 1.5 times that timeout."""
    return current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 10000) / 2000 if engine.dialect.name == "sqlite" else 0.0


def _end_read_keeping_connection(session, engine):
    """End the request's read transaction for the write to come and return its connection, for the
    write to go on with: the session's own commit, the connection's return to the pool and a checkout
    (PostgreSQL: with ``pool_pre_ping``'s ``SELECT 1``) with a new ``BEGIN`` cost ~3 % of an API
    create's instructions (callgrind; the write commits through the session as usual).

    SQLite: a plain ``COMMIT`` on the connection (none when no ``BEGIN`` was sent: an API request's
    token is read outside one, ``read_unbegun``); the write sends ``BEGIN IMMEDIATE``. PostgreSQL at
    its default isolation, read committed: nothing is sent, the write goes on in the same
    transaction: each statement there sees what was committed before it started, as in a new
    transaction (an API request's token read was committed on its own, a statement and a
    round trip of every API write). What ``end_read_snapshot`` does for the session is done too:
    records read are expired, and the session's listeners are told a transaction ended
    (core/services/stamps.py forgets the stamps read in it). None (nothing done) when another
    database or isolation (a server whose default is another: the dialect reads it at the first
    connection), no transaction is open, or the session has changes of its own: then
    ``end_read_snapshot`` commits them as before."""
    if not session.in_transaction() or session.info.get("contacts_bulk_write") or session.info.get(_WRITTEN):
        return None
    dialect = engine.dialect  # its default isolation is read at the first connection of the process
    read_committed = getattr(dialect, "default_isolation_level", None) == "READ COMMITTED"
    if not (dialect.name == "sqlite" or (dialect.name == "postgresql" and read_committed)):
        return None
    if session.in_nested_transaction() or not session._is_clean():
        return None
    transaction = session.get_transaction()
    conn = session.connection()
    if dialect.name == "sqlite" and not conn.info.pop(_UNBEGUN, False):  # no BEGIN was sent (read_unbegun): nothing to end
        conn.exec_driver_sql("COMMIT")
    session.dispatch.after_transaction_end(session, transaction)
    _expire_read(session)
    return conn


def _expire_read(session) -> None:
    for obj in list(session.identity_map.values()):
        if not isinstance(obj, (User, Team)):
            session.expire(obj)


def end_read_snapshot(session) -> None:
    """End the session's read snapshot, if one is open, so its next reads see what others have
    committed since. Records read in it are expired (read again, fresh, when used); the actor and
    its teams, loaded for this request, are kept."""
    if session.in_transaction():
        _commit_keeping_state(session)
        _expire_read(session)


def is_bulk_write(orm_execute_state) -> bool:
    """Whether a statement run through the session may write rows the unit of work does not see
    (``update()``, ``delete()``, ``insert()``, raw SQL other than a SELECT)."""
    if orm_execute_state.is_select:
        return False
    statement = orm_execute_state.statement
    return not (isinstance(statement, TextClause) and statement.text.lstrip()[:6].lower() == "select")


_WRITTEN = "contacts_bulk_tables"  # session.info: the tables written by insert()/update()/delete() statements


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_writes(orm_execute_state) -> None:
    """Remember a write the unit of work did not make: loaded objects may not show it, so that
    transaction's commit expires them. An ``insert()``, ``update()`` or ``delete()`` of a table says
    which table it wrote (only what could show it is expired, ``_expire_written``); anything else
    (raw SQL) expires every object, as a plain commit does."""
    if not is_bulk_write(orm_execute_state):
        return
    info = orm_execute_state.session.info
    table = getattr(orm_execute_state.statement, "table", None)
    if isinstance(table, Table):
        info.setdefault(_WRITTEN, set()).add(table.name)
    else:
        info["contacts_bulk_write"] = True


def _commit_keeping_state(session) -> None:
    """Commit without expiring the loaded objects.

    What a write flushed is what the database now holds (every default is Python-side,
    versions are counted by the mapper), so expiring it would only make the rest of the request
    reload the actor, its teams and the saved record. The session lives for one request. A
    transaction that wrote around the unit of work expires what that could have changed
    (``_expire_written``), or everything when it does not know what (raw SQL, bulk_insert.py).
    """
    written = session.info.pop(_WRITTEN, None)
    if session.info.pop("contacts_bulk_write", False):
        session.commit()
        return
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
    if written:
        _expire_written(session, written)


def _expire_written(session, tables: set) -> None:
    """Expire what statements writing ``tables`` around the unit of work may have made stale: the
    loaded objects of those tables, and of every table a foreign key action (ON DELETE/UPDATE) of
    theirs reaches; on other objects, the loaded relationships to them or through them (a link table).
    The rest (the actor and its teams, the saved contact when only its tags or custom values were
    written) stays loaded: a commit that expired everything made the answer read them all again
    (four statements after an API update of a contact's tags, custom fields or details)."""
    reached = _reached(frozenset(tables))
    for state in list(session.identity_map.all_states()):
        mapper = state.mapper
        obj = state.obj()
        if obj is None:
            continue
        if any(table.name in reached for table in mapper.tables):
            session.expire(obj)
            continue
        stale = [rel.key for rel in mapper.relationships if rel.key in state.dict and (
            any(table.name in reached for table in rel.mapper.tables)
            or getattr(rel.secondary, "name", None) in reached)]
        if stale:
            session.expire(obj, stale)


@functools.lru_cache(maxsize=256)
def _reached(tables: frozenset) -> frozenset:
    """``tables`` and every table whose rows a foreign key action of theirs may change, transitively."""
    reached, todo = set(tables), list(tables)
    while todo:
        name = todo.pop()
        for table in db.metadata.tables.values():
            if table.name in reached:
                continue
            if any(fk.column.table.name == name and (fk.ondelete or fk.onupdate) for fk in table.foreign_keys):
                reached.add(table.name)
                todo.append(table.name)
    return frozenset(reached)


def run_ddl(conn, by_dialect: dict) -> None:
    """Run the statements ``by_dialect[<conn's dialect>]()`` returns, in order (none for other dialects)."""
    make = by_dialect.get(conn.dialect.name)
    for sql in make() if make else ():
        conn.exec_driver_sql(sql)


_CACHE_RAISED = "contacts_page_cache_raised"


def larger_page_cache(session, kib: int) -> None:
    """SQLite: let the page cache of the session's connection hold ``kib`` KiB until it goes back to
    the pool (then it gets the configured size back). For a write that changes more pages than that
    cache holds (an import batch: thousands of index pages at 1M contacts): past it SQLite writes
    the changed pages to the log in the middle of the transaction and reads them back."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")
    conn.connection.info[_CACHE_RAISED] = True


def in_write() -> bool:
    """True inside a ``transaction()`` block (a new block would join it)."""
    return _after_commit.get() is not None


def after_commit(callback) -> None:
    """Run ``callback`` once the current ``transaction()`` commits (at once if none is open)."""
    pending = _after_commit.get()
    if pending is None:
        callback()
    else:
        pending.append(callback)


def lock_audit_chain(session, conn=None) -> None:
    """Serialize appends to the audit chain (SQLite already does, through BEGIN IMMEDIATE). ``conn``:
    the session's connection, when the caller has it."""
    conn = conn if conn is not None else session.connection()
    if conn.dialect.name == "postgresql":
        # On the connection: through the session it would autoflush what the write has pending.
        conn.execute(_AUDIT_LOCK)


_AUDIT_LOCK = text("SELECT pg_advisory_xact_lock(7201)")


def default_sqlalchemy_options(app) -> dict:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        return {"connect_args": {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


def ping() -> bool:
    """``SELECT 1`` on a connection of the pool, outside the ORM session: a health check needs no
    transaction of its own, and the session's begin and close were ~2/3 of ``/healthz``'s CPU
    beyond Flask's. A broken database still raises (the DBAPI's error)."""
    conn = db.engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchone()
        cursor.close()
    finally:
        conn.close()  # back to the pool, rolled back
    return True


def current_dialect() -> str:
    return db.engine.dialect.name if current_app else ""
