"""WAL checkpoints off the request path (core/checkpoints.py): a production web process leaves
them to its thread, its connections only checkpoint past the WAL size limit, and a checkpoint
copies what the requests wrote."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from core import checkpoints, create_app
from core.extensions import db
from core.models import Team
from tests import conftest


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


def test_requests_leave_checkpoints_to_the_thread(sqlite_app):
    thread = checkpoints.start(sqlite_app)
    assert thread is not None and thread.daemon and thread.is_alive()
    limit_pages = sqlite_app.config["SQLITE_WAL_LIMIT_BYTES"] // checkpoints.PAGE_BYTES
    with sqlite_app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == limit_pages
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
    assert checkpoints.start(app) is None
