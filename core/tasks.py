"""Background work with huey: one instance per app, built from configuration.

SQLite file by default, Redis when ``CONTACTS_REDIS_URL`` is set. Tasks are plain functions
registered with ``register``; each run opens an app context of its own. huey does not
acknowledge tasks (a worker killed mid-task loses it), so work that must happen is recorded in
a table first and tasks are written to be idempotent.
"""

from __future__ import annotations

import functools
import sys

from flask import current_app, has_app_context

# huey's storage module imports redis and psycopg as it loads, for its Redis and PostgreSQL
# backends; the default install (SQLite, huey on SQLite) uses neither, and they were half of what
# importing this module cost (0.33 s of CPU and 52 MB resident; without them 0.16 s and 34 MB).
# huey is imported with them hidden unless something loaded them already: this app never uses
# huey's PostgreSQL backend (SQLAlchemy imports psycopg itself for a PostgreSQL database), and an
# app with Redis hands redis to huey (_huey_redis).
LAZY = ("redis", "psycopg")


def _import_huey():
    hidden = [name for name in LAZY if name not in sys.modules] if "huey" not in sys.modules else []
    for name in hidden:
        sys.modules[name] = None  # "import redis" raises ImportError; huey.storage then sets it to None
    try:
        import huey
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return huey


huey_lib = _import_huey()


def _huey_redis():
    """Hand redis to huey's storage module if huey was imported without it (``_import_huey``): the
    four names it would have imported, and the client class RedisStorage instantiates."""
    from huey import storage

    if storage.Redis is None:
        import redis
        from redis import exceptions

        storage.ConnectionPool, storage.Redis = redis.ConnectionPool, redis.Redis
        storage.ConnectionError, storage.TimeoutError = exceptions.ConnectionError, exceptions.TimeoutError
        storage.RedisStorage.redis_client = redis.Redis


def make_huey(app):
    if app.config.get("REDIS_URL"):
        _huey_redis()
        huey = huey_lib.RedisHuey("contacts", url=app.config["REDIS_URL"])
    else:
        huey = huey_lib.SqliteHuey("contacts", filename=app.config["HUEY_FILENAME"])
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
