"""core/flask_app.py: the application class remembers which functions ``ensure_sync`` found plain."""

from __future__ import annotations

import flask.app
import pytest


def test_ensure_sync_asks_once_per_function(app, monkeypatch, member_client):
    asked = []
    plain = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda func: asked.append(func) or plain(func))

    def view():
        return "ok"

    assert app.ensure_sync(view) is view and app.ensure_sync(view) is view
    assert asked == [view]
    member_client.get("/healthz")
    first = len(asked)
    member_client.get("/healthz")
    assert len(asked) == first  # the app's hooks, views and bound-method hooks: known after one request


class Handler:
    def handle(self):
        return "ok"

    async def handle_async(self):
        return "ok"


def test_methods_are_known_by_their_function(app):
    one, other = Handler(), Handler()
    assert app.ensure_sync(one.handle) == one.handle and app.ensure_sync(other.handle) == other.handle
    for _ in range(2):
        with pytest.raises(RuntimeError, match="async"):
            app.ensure_sync(one.handle_async)


def test_ensure_sync_still_refuses_async_views_without_asgiref(app):
    async def view():
        return "ok"

    for _ in range(2):  # never remembered as plain
        with pytest.raises(RuntimeError, match="async"):
            app.ensure_sync(view)
