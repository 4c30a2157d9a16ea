"""SQLite: the web workers' write transactions take turns on a file lock before ``BEGIN IMMEDIATE``.

SQLite's own wait for its write lock (the busy timeout) polls, sleeping 1, 2, 5, 10, 15, 20,
25 ... 100 ms between tries. Under steady writes from several processes a waiting writer sleeps
through the lock's release, the other worker (its next request already parsed) takes it again,
and the sleeper's next nap is longer: that is the tail of sustained writes (p99 48 ms at 518
writes/s where a write holds the lock about a millisecond). Writers that queue here first are let
in within half a millisecond of the release instead, and one waiting at most ``timeout`` goes on
to ``BEGIN IMMEDIATE`` without its turn (SQLite's lock is still what makes the write safe; this
only orders the writers of this code).

The lock is ``flock`` on ``<database file>-writers`` (created on first use, next to the WAL
file): held by an open file description, so two threads of a process queue like two processes,
and released by the kernel when a process dies. It is opened per write (a descriptor kept across
a fork would be shared by parent and child). Writers that do not come through
``core.database.transaction`` (the WAL checkpoint, scripts) simply don't queue.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager

_FIRST_NAP = 0.00005  # seconds; doubled up to _LAST_NAP while the lock is held by another writer
_LAST_NAP = 0.0005
_paths: dict = {}


def lock_path(engine) -> str | None:
    """The lock file of ``engine``'s database; None when not a SQLite file (PostgreSQL, memory)."""
    url = engine.url
    path = _paths.get(url, False)
    if path is False:
        database = url.database if engine.dialect.name == "sqlite" else None
        path = None if not database or database == ":memory:" or database.startswith("file:") else f"{database}-writers"
        _paths[url] = path
    return path


@contextmanager
def turn(path: str | None, timeout: float):
    """Hold the writers' lock of ``path`` for the block (nothing when ``path`` is None); after
    ``timeout`` seconds of waiting, go on without it."""
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        nap, deadline = _FIRST_NAP, None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + timeout
                elif now >= deadline:
                    break
                time.sleep(nap)
                nap = min(nap * 2, _LAST_NAP)
        yield
    finally:
        os.close(fd)  # releases the lock
