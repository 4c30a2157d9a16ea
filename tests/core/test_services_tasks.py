"""core.tasks: the huey instance from configuration and tasks that open their own app context."""

from __future__ import annotations

import threading

import pytest
from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey

from core import tasks


class FakeApp:
    def __init__(self, **config):
        self.config = config


def test_make_huey_from_configuration(tmp_path):
    sqlite = tasks.make_huey(FakeApp(HUEY_FILENAME=str(tmp_path / "h.db"), HUEY_IMMEDIATE=True))
    assert isinstance(sqlite, SqliteHuey) and sqlite.immediate
    redis = tasks.make_huey(FakeApp(REDIS_URL="redis://127.0.0.1:6390/0"))  # no connection until used
    assert isinstance(redis, RedisHuey) and not redis.immediate


def test_a_task_run_outside_a_context_opens_one(app):
    def which_app():
        return has_app_context() and current_app.name

    wrapped = tasks.in_app_context(app, which_app)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("name", wrapped()))  # a worker thread has no context
    thread.start()
    thread.join(10)
    assert result == {"name": app.name}
    assert wrapped.__name__ == "which_app"


def test_registered_tasks_are_queued_by_name(app):
    huey = tasks.huey_of(app)
    calls = []
    task = tasks.register(app, huey, lambda x: calls.append(x) or x + 1, name="test.increment_once")
    assert app.extensions["contacts_tasks"]["test.increment_once"] is task
    with app.app_context():
        assert tasks.huey_of() is huey
        assert tasks.enqueue("test.increment_once", 41).get() == 42  # immediate in tests
        with pytest.raises(KeyError):
            tasks.enqueue("test.no_such_task")
    assert calls == [41]
