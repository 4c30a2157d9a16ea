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

The thread starts with each process's first connection, not when the app is built: ``contacts
serve`` builds the app once in gunicorn's master and forks the workers from it (``--preload``,
core/serve.py), and a thread does not survive a fork (one left running in the master could hold
one of SQLite's locks at the moment a worker is forked). The master never connects after the
build, so each worker runs one thread and the master none.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

from flask import Flask
from sqlalchemy import event

from .extensions import db

log = logging.getLogger(__name__)
PAGE_BYTES = 4096
THREAD_NAME = "contacts-wal-checkpoint"


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


def checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (busy, frames in the log, frames copied)."""
    return tuple(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())


def _run(path: str, seconds: float, busy_ms: int) -> None:
    conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False)
    while True:
        time.sleep(seconds)
        try:
            checkpoint(conn)
        except sqlite3.Error as exc:  # e.g. the file went away: try again next time
            log.warning("WAL checkpoint failed: %s", exc)
