"""The core's HTML views (HTMX pages and fragments)."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError

from ..errors import Conflict, ServiceError
from ..plugins import collect, implementations
from ..services import stamps


def register_views(app: Flask) -> None:
    from . import auth, contacts

    app.register_blueprint(auth.bp)
    app.register_blueprint(contacts.bp)
    for name in ("organizations", "relations", "trash", "admin", "admin_fields", "contact_data", "account", "health",
                 "dashboard", "jobs", "tags", "groups", "categories", "details", "merges", "contact_list", "imports"):
        try:
            module = __import__(f"core.views.{name}", fromlist=["bp"])
        except ModuleNotFoundError:
            continue
        app.register_blueprint(module.bp)

    def plugin_nav() -> list:
        from flask import g
        from flask_login import current_user

        user = current_user._get_current_object()
        if not user.is_authenticated:
            return []
        # Once a request for its user: a contact page renders a dozen panel fragments, each through here.
        cached = g.get("contacts_plugin_nav")
        if cached is not None and cached[0] is user:
            return cached[1]
        relay = app.extensions["contacts_pm"].hook.contacts_nav_items
        # The items depend on the user and the shared rows only (hookspecs.contacts_nav_items): a page that
        # read its stamps keeps them in the process under the shared version (each a url_for otherwise).
        nav = stamps.local("plugin-nav", user.id, request.script_root, implementations(relay),
                           make=lambda: sorted(collect(relay(user=user)), key=lambda i: i.order))
        g.contacts_plugin_nav = (user, nav)
        return nav

    @app.context_processor
    def _layout():
        # Asked for when _nav.html iterates it: every render_template runs this, and fragments
        # (list rows, the lazy count, panels) show no navigation (~60 µs a fragment otherwise).
        return {"plugin_nav": _Lazy(plugin_nav), "has_endpoint": lambda name: name in app.view_functions}

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        if request.path.startswith("/api/"):
            raise exc
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(StaleDataError)
    def _lost_race(exc):
        # The version check of a write matched no row: someone saved the same record between this
        # request's read and its write (PostgreSQL; SQLite's writers take turns).
        conflict = Conflict("Someone else saved this record at the same moment. Reload it, then try again.")
        if request.path.startswith("/api/"):
            from ..api.errors import service_error

            return service_error(conflict)
        return _service_error(conflict)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        if request.path.startswith("/api/"):
            raise exc
        return render_template("error.html", status=400, message="Your form expired; reload the page and try again."), 400

    for status, message in (
        (403, "You do not have permission to see this page."),
        (404, "This page does not exist, or you may not see it."),
        (405, "This action is not allowed here."),
        (413, "The upload is too large."),
        (429, "Too many requests; wait a minute and try again."),
    ):
        _register_error(app, status, message)


class _Lazy:
    """An iterable made by ``make()`` the first time it is iterated."""

    __slots__ = ("_items", "_make")

    def __init__(self, make):
        self._make, self._items = make, None

    def __iter__(self):
        if self._items is None:
            self._items = self._make()
        return iter(self._items)


def _register_error(app, status, message):
    @app.errorhandler(status)
    def _handler(exc):
        if request.path.startswith("/api/"):
            return exc
        description = getattr(exc, "description", "") or ""
        shown = description if status == 429 and description else message
        response = app.make_response((render_template("error.html", status=status, message=shown), status))
        if hasattr(exc, "get_headers"):
            for key, value in exc.get_headers():
                if key.lower() != "content-type":
                    response.headers[key] = value
        return response
