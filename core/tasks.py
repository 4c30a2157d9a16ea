"""Background work with huey: one instance per app, built from configuration.

SQLite file by default, Redis when ``CONTACTS_REDIS_URL`` is set. Tasks are plain functions
registered with ``register``; each run opens an app context of its own. huey does not
acknowledge tasks (a worker killed mid-task loses it), so work that must happen is recorded in
a table first and tasks are written to be idempotent.
"""

from __future__ import annotations

import functools

from flask import current_app, has_app_context
from huey import RedisHuey, SqliteHuey


def make_huey(app):
    if app.config.get("REDIS_URL"):
        huey = RedisHuey("contacts", url=app.config["REDIS_URL"])
    else:
        huey = SqliteHuey("contacts", filename=app.config["HUEY_FILENAME"])
    huey.immediate = bool(app.config.get("HUEY_IMMEDIATE"))
    return huey


def in_app_context(app, fn):
    """Wrap ``fn`` so that it runs inside an app context of ``app`` (or the current one)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        if has_app_context():
            return fn(*args, **kwargs)
        with app.app_context():
            return fn(*args, **kwargs)

    return run


def register(app, huey, fn, name: str | None = None, **task_options):
    """Register ``fn`` as a huey task of ``app`` under ``name`` (default: module.function)."""
    name = name or f"{fn.__module__}.{fn.__name__}"
    task = huey.task(name=name, **task_options)(in_app_context(app, fn))
    app.extensions["contacts_tasks"][name] = task
    return task


def enqueue(name: str, *args, **kwargs):
    """Queue the task registered as ``name`` on the current app's huey."""
    return current_app.extensions["contacts_tasks"][name](*args, **kwargs)


def huey_of(app=None):
    return (app or current_app).extensions["huey"]
