"""WAL checkpoints off the request path (core/checkpoints.py): a production web process leaves
them to its thread, its connections only checkpoint past the WAL size limit, and a checkpoint
copies what the requests wrote."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from core import checkpoints, create_app
from core.extensions import db
from core.models import Team
from tests import conftest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_app(tmp_path_factory):
    if conftest.TEST_DB:
        pytest.skip("SQLite only: PostgreSQL has no WAL file to checkpoint")
    config = conftest.test_config(tmp_path_factory, REDIS_URL=None, CACHE_TYPE="SimpleCache",
                                  SQLITE_CHECKPOINT_SECONDS=3600)  # the thread sleeps: the test checkpoints
    app = create_app(config, plugins=[])
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _threads():
    return [t for t in threading.enumerate() if t.name == checkpoints.THREAD_NAME]


def test_requests_leave_checkpoints_to_the_thread(sqlite_app):
    before = _threads()  # other tests' apps may have left theirs
    assert checkpoints.start(sqlite_app) is True
    assert _threads() == before  # the process's first connection starts it
    limit_pages = sqlite_app.config["SQLITE_WAL_LIMIT_BYTES"] // checkpoints.PAGE_BYTES
    with sqlite_app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == limit_pages
        (thread,) = [t for t in _threads() if t not in before]
        assert thread.daemon and thread.is_alive()
        with db.engine.connect():
            pass
        db.engine.dispose()
        with db.engine.connect():  # a new connection of the same process
            pass
        assert len(_threads()) == len(before) + 1
        for n in range(20):
            db.session.add(Team(name=f"Checkpointed {n}"))
            db.session.commit()
        path = db.engine.url.database
    conn = sqlite3.connect(path)
    busy, in_log, copied = checkpoints.checkpoint(conn)
    assert busy == 0 and in_log > 0 and copied == in_log
    conn.close()


def test_nothing_starts_when_disabled(tmp_path_factory):
    config = conftest.test_config(tmp_path_factory, SQLITE_CHECKPOINT_SECONDS=0)
    app = create_app(config, plugins=[])
    assert checkpoints.start(app) is False


def test_each_forked_worker_runs_its_own_thread_and_the_master_none(tmp_path):
    """gunicorn --preload (core/serve.py): the master builds the app and forks the workers. A thread
    does not survive a fork; each worker starts its own with its first connection."""
    code = (
        "import json, os, threading\n"
        "import core.wsgi\n"
        "from sqlalchemy import text\n"
        "from core import checkpoints\n"
        "from core.extensions import db\n"
        "def running():\n"
        "    return sum(t.name == checkpoints.THREAD_NAME for t in threading.enumerate())\n"
        "master = running()\n"
        "read, write = os.pipe()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    with core.wsgi.app.app_context():\n"
        "        inherited = db.engine.pool.checkedin()\n"
        "        db.session.execute(text('select 1'))\n"
        "    os.write(write, json.dumps([inherited, running()]).encode())\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print(json.dumps([master, *json.loads(os.read(read, 100)), running()]))"
    )
    env = {**os.environ, "CONTACTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "CONTACTS_INSTANCE_PATH": str(tmp_path),
           "CONTACTS_SECRET_KEY": "checkpoints-test"}
    env.pop("CONTACTS_REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    master, inherited, worker, master_after = json.loads(out.stdout.strip().splitlines()[-1])
    assert (master, inherited, worker, master_after) == (0, 0, 1, 0)


def _write_teams(app, count: int, prefix: str) -> str:
    with app.app_context():
        for n in range(count):
            db.session.add(Team(name=f"{prefix} {n}"))
            db.session.commit()
        return db.engine.url.database


def _frames(path: str) -> int:
    """Frames in the log now (a PASSIVE checkpoint's count, nothing copied twice)."""
    conn = sqlite3.connect(path)
    try:
        return checkpoints.checkpoint(conn)[1]
    finally:
        conn.close()


def test_past_the_limit_the_thread_restarts_the_log_so_the_next_write_starts_it_over(sqlite_app):
    path = _write_teams(sqlite_app, 20, "Logged")
    conn = checkpoints.connect(path)
    before = _frames(path)
    (busy, in_log, copied), restarted = checkpoints.step(conn, path, restart_frames=before)
    assert restarted and busy == 0 and copied == in_log >= before
    assert _frames(path) == 1  # the thread started the log over itself (page 1), not the next request
    _write_teams(sqlite_app, 1, "After")
    assert 1 < _frames(path) < before  # the next write appends to the new log: no commit checkpoints it
    conn.close()


def test_below_the_limit_and_when_nothing_was_written_since_only_passive(sqlite_app):
    path = _write_teams(sqlite_app, 5, "Few")
    conn = checkpoints.connect(path)
    frames = _frames(path)
    assert checkpoints.step(conn, path, restart_frames=frames + 1)[1] is False
    assert checkpoints.step(conn, path, restart_frames=frames)[1] is True
    assert checkpoints.step(conn, path, restart_frames=2)[1] is False  # idle: the log holds one frame
    conn.close()


def test_a_restart_gives_up_at_once_when_a_reader_uses_the_log_and_succeeds_after(sqlite_app):
    path = _write_teams(sqlite_app, 5, "Read")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM teams").fetchone()  # a snapshot that reads from the log
    _write_teams(sqlite_app, 3, "Meanwhile")
    conn = checkpoints.connect(path)
    (busy, _in_log, _copied), restarted = checkpoints.step(conn, path, restart_frames=1)
    assert restarted and busy == 1  # no wait (busy timeout 0): the writers are not held back
    assert _frames(path) > 1  # and the log was not started over under the reader
    reader.execute("COMMIT")
    (busy, in_log, copied), restarted = checkpoints.step(conn, path, restart_frames=1)
    assert restarted and busy == 0 and copied == in_log
    reader.close()
    conn.close()


def test_one_process_checkpoints_a_database(tmp_path):
    """The lock is held per open file: two holders in one process exclude each other as two processes do."""
    path = str(tmp_path / "c.db")
    first, second = [], []
    assert checkpoints._is_checkpointer(path, first) is True
    assert checkpoints._is_checkpointer(path, second) is False
    assert checkpoints._is_checkpointer(path, first) is True  # kept
    os.close(first.pop())  # its process ended: the kernel releases the lock
    assert checkpoints._is_checkpointer(path, second) is True
    os.close(second.pop())
