"""The production app plus, per request, a count of SQL statements (``X-Bench-Queries``) and of
app-cache ``get`` lookups (``X-Bench-Cache-Hits`` / ``X-Bench-Cache-Misses``).

Served by its own gunicorn (same argv) beside the measured server, and used once per scenario
to report how many statements a user action costs, and over a run of the Zipf read mix for the
cache hit rate; never used for the timings. Opt-in: nothing in core/ changes; the counters wrap
the SQLAlchemy engine (an event) and the flask-caching backend's ``get`` in this process.
"""

import threading

from sqlalchemy import event

from core.extensions import cache, db
from core.wsgi import app as flask_app

_local = threading.local()

with flask_app.app_context():
    _engine = db.engine
    _backend = cache.cache  # the configured flask-caching backend (FileSystemCache, RedisCache, ...)


@event.listens_for(_engine, "before_cursor_execute")
def _count(*_args):
    _local.count = getattr(_local, "count", 0) + 1


def _tally(found: bool) -> None:
    key = "hits" if found else "misses"
    setattr(_local, key, getattr(_local, key, 0) + 1)


def _wrap(name: str, found_of) -> None:
    original = getattr(_backend, name, None)
    if original is None:
        return

    def counted(*args, **kwargs):
        result = original(*args, **kwargs)
        for found in found_of(result):
            _tally(found)
        return result

    setattr(_backend, name, counted)


_wrap("get", lambda value: [value is not None])  # cachelib's get_many and has go through get or are unused


def app(environ, start_response):
    _local.count = _local.hits = _local.misses = 0

    def counting_start_response(status, headers, exc_info=None):
        extra = [("X-Bench-Queries", str(_local.count)), ("X-Bench-Cache-Hits", str(_local.hits)),
                 ("X-Bench-Cache-Misses", str(_local.misses))]
        return start_response(status, [*headers, *extra], exc_info)

    return flask_app(environ, counting_start_response)
