"""SQLite writers take turns on a file lock before BEGIN IMMEDIATE (core/write_queue.py)."""

from __future__ import annotations

import threading

from sqlalchemy import create_engine

from core import write_queue


def test_lock_path_is_beside_a_sqlite_file_only(tmp_path):
    assert write_queue.lock_path(create_engine(f"sqlite:///{tmp_path / 'x.db'}")) == f"{tmp_path / 'x.db'}-writers"
    assert write_queue.lock_path(create_engine("sqlite://")) is None
    assert write_queue.lock_path(create_engine("postgresql+psycopg://u@127.0.0.1/x")) is None


def test_a_second_writer_waits_for_the_first_to_finish(tmp_path):
    path = str(tmp_path / "db-writers")
    order: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def first():
        with write_queue.turn(path, 10):
            order.append("first in")
            inside.set()
            release.wait(10)
            order.append("first out")

    def second():
        inside.wait(10)
        with write_queue.turn(path, 10):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(10)
    threading.Timer(0.05, release.set).start()  # the second is queued by then, or comes after: same order
    for t in threads:
        t.join(10)
    assert order == ["first in", "first out", "second in"]


def test_a_writer_that_waited_too_long_goes_on(tmp_path):
    """The turn only orders writers; SQLite's lock (and its busy timeout) still decides."""
    path = str(tmp_path / "db-writers")
    done = []

    def late():
        with write_queue.turn(path, 0.01):
            done.append("wrote")

    with write_queue.turn(path, 10):
        worker = threading.Thread(target=late)
        worker.start()
        worker.join(10)
        assert done == ["wrote"]  # while the first still holds its turn


def test_no_lock_without_a_file():
    with write_queue.turn(None, 10):
        pass


def test_writes_through_the_service_take_turns(app, tmp_path, monkeypatch):
    """core.database.transaction() holds the turn of the app's database while it writes (SQLite)."""
    from core.database import transaction
    from core.extensions import db

    seen = []
    real = write_queue.turn

    def spy(path, timeout):
        seen.append(path)
        return real(path, timeout)

    monkeypatch.setattr(write_queue, "turn", spy)
    with app.app_context():
        with transaction():
            with transaction():  # nested: joins, no second turn
                pass
        assert seen == [write_queue.lock_path(db.engine)]
