"""SQLite WAL checkpoints off the request path.

By default SQLite copies the write-ahead log back into the database file inside the commit that
pushes the log past 1,000 pages: with a few dozen pages written per contact (the table, its
indexes, the full-text index, the audit and activity rows), one write in every few dozen pays
for copying 4 MB into a multi-gigabyte file, and its request waits tens of milliseconds with
the write lock held: the p99 of writes. A production web process (``core/wsgi.py``) instead
runs a daemon thread that checkpoints every ``SQLITE_CHECKPOINT_SECONDS`` (PASSIVE: it never
waits for readers or writers), and raises its connections' automatic checkpoint to
``SQLITE_WAL_LIMIT_BYTES`` worth of pages, so the log stays bounded even if the thread stops.
Nothing changes for the CLI, tests or PostgreSQL.

A PASSIVE checkpoint alone did not keep the log short under steady writes: SQLite starts the log
over (the next writer writes from its beginning) only when a checkpoint has copied every frame
and no reader still uses the log, and with a write every few milliseconds a checkpoint that takes
~10 ms always finished behind the latest frames. The log grew to the fallback limit, and the
commit that crossed it ran the checkpoint itself: copying, syncing the log and syncing the
database file (all the pages the PASSIVE checkpoints had copied since the last start-over) with
the write lock held, 10-15 ms on a small database and several times that at 1M contacts: the few
slow requests of single-client writes (bench/write_tail.py). So, once the log passes
``RESTART_FRAMES``, the thread syncs the database file itself, outside every lock, then takes the
writers' turn (core/write_queue.py) and runs a RESTART checkpoint, which copies the few frames
written meanwhile and syncs, and starts the log over with a write of its own, whose commit syncs
the log's new header (else the next request's commit would); it does not wait for a writer or
reader it finds (busy: tried again next time).

Only one process checkpoints at a time: each process's thread tries to take ``<database>-checkpointer``
(``flock``, released by the kernel when its process dies) and the one holding it does the work;
the others only try again each period. With a thread in every web worker and in the huey
consumer, each of them copied and synced the log in turn.

The thread starts with each process's first connection, not when the app is built: ``contacts
serve`` builds the app once in gunicorn's master and forks the workers from it (``--preload``,
core/serve.py), and a thread does not survive a fork (one left running in the master could hold
one of SQLite's locks at the moment a worker is forked). The master never connects after the
build, so each worker runs one thread and the master none.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time

from flask import Flask
from sqlalchemy import event

from . import write_queue
from .extensions import db

log = logging.getLogger(__name__)
PAGE_BYTES = 4096
THREAD_NAME = "contacts-wal-checkpoint"
RESTART_FRAMES = 4096  # log frames (16 MB of 4 KB pages) past which the thread starts the log over
TURN_SECONDS = 0.05  # how long the thread waits for the writers' turn before trying without it


def start(app: Flask) -> bool:
    """Arrange the checkpoint thread for ``app``'s SQLite database: each process that connects gets
    one, started by its first connection. False: not SQLite, or disabled."""
    seconds = float(app.config.get("SQLITE_CHECKPOINT_SECONDS") or 0)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite" or seconds <= 0 or not engine.url.database:
        return False
    fallback_pages = max(1000, int(app.config["SQLITE_WAL_LIMIT_BYTES"]) // PAGE_BYTES)
    started_in = set()  # pids; a forked worker inherits its master's (empty) set
    lock = threading.Lock()
    args = (engine.url.database, seconds, int(app.config["SQLITE_BUSY_TIMEOUT_MS"]))

    @event.listens_for(engine, "connect")
    def _no_checkpoint_in_requests(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={fallback_pages}")
        if os.getpid() not in started_in:
            with lock:
                if os.getpid() not in started_in:
                    started_in.add(os.getpid())
                    threading.Thread(target=_run, args=args, name=THREAD_NAME, daemon=True).start()

    engine.dispose()  # connections opened while the app was built get the setting too
    return True


def checkpoint(conn: sqlite3.Connection, mode: str = "PASSIVE") -> tuple[int, int, int]:
    """One checkpoint: (busy, frames in the log, frames copied)."""
    return tuple(conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())


def connect(path: str) -> sqlite3.Connection:
    """The thread's connection: autocommit, and no busy wait (PASSIVE never waits; a RESTART that
    finds a writer or a reader gives up at once instead of holding the writers back)."""
    return sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)


def step(conn: sqlite3.Connection, path: str, restart_frames: int = RESTART_FRAMES) -> tuple[tuple[int, int, int], bool]:
    """A PASSIVE checkpoint; past ``restart_frames`` frames in the log, then the database file synced
    (outside every lock), and in the writers' turn a RESTART checkpoint and the log started over
    (``_start_log_over``: one frame left, so an idle database is not restarted again). Returns the
    last checkpoint's answer and whether it was a RESTART."""
    result = checkpoint(conn)
    if result[0] or result[1] < restart_frames:
        return result, False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # what PASSIVE copied reaches the disk now, not in the RESTART's own sync
    finally:
        os.close(fd)
    with write_queue.turn(f"{path}-writers", TURN_SECONDS):
        result = checkpoint(conn, "RESTART")
        if result[0] == 0:
            _start_log_over(conn)
    return result, True


def _start_log_over(conn: sqlite3.Connection) -> None:
    """The first write after a RESTART checkpoint starts the log over, and that commit syncs the
    log's new header (2-20 ms at 1M contacts on a busy disk, once 166): a write of the thread's
    own, then, not a request's. Setting ``user_version`` to its value rewrites page 1 and nothing
    else (the project does not use it). Busy (a writer outside the turns): the next writer does it."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _is_checkpointer(path: str, held: list) -> bool:
    """Whether this process holds ``<path>-checkpointer`` (taking it if free); kept once taken."""
    if held:
        return True
    fd = os.open(f"{path}-checkpointer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    held.append(fd)
    return True


def _run(path: str, seconds: float, _busy_ms: int) -> None:
    conn = connect(path)
    held: list = []
    while True:
        time.sleep(seconds)
        try:
            if _is_checkpointer(path, held):
                step(conn, path)
        except (sqlite3.Error, OSError) as exc:  # e.g. the file went away: try again next time
            log.warning("WAL checkpoint failed: %s", exc)
