"""The steps of ``create_app``: extensions, plugins, then the web layer."""

from __future__ import annotations

import logging
import os

from flask import Flask, current_app, request
from flask_login import current_user

from . import access
from . import plugins as plugin_loader
from .config import PROJECT_ROOT
from .database import configure_engine, default_sqlalchemy_options
from .extensions import cache, csrf, db, htmx, limiter, login_manager, pages
from .serve import StaticFiles
from .sessions import SessionInterface
from .tasks import make_huey

log = logging.getLogger(__name__)


def _version_locations(config):
    """One Alembic environment: the core's revisions plus each enabled plugin's branch."""
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(current_app.extensions["contacts_migration_dirs"]))
    return config


def init_migrations(app: Flask) -> None:
    """Bind Flask-Migrate (``app.extensions["migrate"]``, the ``db`` commands). Imported here, not at
    start-up: a web worker (``core.wsgi``) never migrates and does without Alembic's modules."""
    from flask_migrate import Migrate

    migrate = Migrate()
    migrate.configure(_version_locations)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))


def page_cache_config(app: Flask) -> dict:
    """The shared page cache's store: Redis when configured (entries expire after PAGE_CACHE_SECONDS),
    else files under the instance folder shared by every worker of this host, at most
    PAGE_CACHE_ENTRIES of them (core/page_store.py). PAGE_CACHE_ENTRIES = 0 turns the cache off."""
    config = {"CACHE_DEFAULT_TIMEOUT": app.config.get("PAGE_CACHE_SECONDS", 86400), "CACHE_NO_NULL_WARNING": True}
    if not app.config.get("PAGE_CACHE_ENTRIES", 20000):
        config["CACHE_TYPE"] = "NullCache"
    elif app.config.get("REDIS_URL"):
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=app.config["REDIS_URL"], CACHE_KEY_PREFIX="contacts:page:")
    else:
        config.update(CACHE_TYPE="core.page_store.PageFileCache", CACHE_KEY_PREFIX="",
                      CACHE_DIR=str(PROJECT_ROOT / app.instance_path / "page-cache"),
                      CACHE_THRESHOLD=app.config.get("PAGE_CACHE_ENTRIES", 20000))
    return config


def limit_only_decorated_views(app: Flask) -> None:
    """Take Flask-Limiter's three app-wide hooks off every request. They apply default and
    application limits (we set none: only the login POST is limited, by ``@limiter.limit``, whose
    wrapper checks its limit itself when the view runs), add rate-limit headers (off) and reset a
    per-request context (kept on the request context, gone with it). They cost ~45 µs of CPU on
    every request, a bare one's ~7 %. Settings that would give them work keep them, checked once every
    blueprint (a plugin's could carry a limit) is registered."""
    manager = limiter.limit_manager
    if manager.default_limits or manager.application_limits or getattr(manager, "_blueprint_limits", True) or \
            app.config.get("RATELIMIT_HEADERS_ENABLED"):
        return
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        if None in hooks:  # a disabled limiter (RATELIMIT_ENABLED false) registered none
            hooks[None] = [f for f in hooks[None] if limiter not in (getattr(f, "__self__", None), *getattr(f, "args", ()))]


def init_extensions(app: Flask) -> None:
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", default_sqlalchemy_options(app))
    app.config.setdefault("SQLALCHEMY_TRACK_MODIFICATIONS", False)
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app)

    if app.config.get("REDIS_URL"):
        app.config.setdefault("CACHE_TYPE", "RedisCache")
        app.config.setdefault("CACHE_REDIS_URL", app.config["REDIS_URL"])
        app.config.setdefault("CACHE_KEY_PREFIX", "contacts:")
        app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    else:
        # Shared by every worker process of this instance, so invalidation reaches them all.
        app.config.setdefault("CACHE_TYPE", "core.page_store.KeptCountFileCache")  # FileSystemCache, quicker to start
        app.config.setdefault("CACHE_DIR", str(PROJECT_ROOT / app.instance_path / "cache"))
        app.config.setdefault("CACHE_THRESHOLD", 5000)
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("CACHE_DEFAULT_TIMEOUT", 300)
    cache.init_app(app)
    pages.init_app(app, config=page_cache_config(app))
    limiter.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)

    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from .services import stamps  # noqa: F401 - its session listeners stamp every write
    from .services.accounts import user_for_session, user_for_token

    @login_manager.user_loader
    def load_user(user_id):
        if request.path.startswith("/api/"):
            return None  # the API authenticates with tokens only, so a cookie can't forge a call
        from .views import conditional

        conditional.read_stamps_first()  # a page that reads them anyway: then the user needs no statement
        return user_for_session(user_id)

    @login_manager.request_loader
    def load_user_from_request(req):
        if not req.path.startswith("/api/"):
            return None
        header = req.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return user_for_token(raw.strip())

    app.extensions["huey"] = make_huey(app)
    app.extensions["contacts_tasks"] = {}


_DEFAULT_HEADERS = (("x-content-type-options", "X-Content-Type-Options", "nosniff"),
                    ("x-frame-options", "X-Frame-Options", "DENY"), ("referrer-policy", "Referrer-Policy", "same-origin"))


def default_headers(response):
    """What every answer carries unless its view said otherwise: ``Vary: HX-Request``, the security
    headers, and ``Cache-Control: private, no-store`` for a signed-in user's answer. The answer's
    header names are read once; ``setdefault`` and the ``Vary`` set walked them once a header (a
    twentieth of an API write's Python calls)."""
    headers = response.headers
    present = {name.lower() for name, _value in headers}
    if "vary" in present:
        response.vary.add("HX-Request")
    else:
        headers.add("Vary", "HX-Request")
    for lower, name, value in _DEFAULT_HEADERS:
        if lower not in present:
            headers.add(name, value)
    # the header first: a view that set its own (/healthz) needs no user loaded for this
    if "cache-control" not in present and not request.path.startswith("/static/") and current_user.is_authenticated:
        headers.add("Cache-Control", "private, no-store")
    return response


def init_plugins(app: Flask, wanted) -> None:
    pm = plugin_loader.new_manager()
    app.extensions["contacts_pm"] = pm
    app.extensions["contacts_plugins"] = plugin_loader.load(pm, wanted)

    report = app.extensions["contacts_plugins"]
    migration_dirs = [str(PROJECT_ROOT / "migrations" / "versions")]
    for dirs in plugin_loader.call_each(pm, report, "contacts_migration_dirs"):
        migration_dirs.extend(dirs or [])
    app.extensions["contacts_migration_dirs"] = migration_dirs
    if app.config.get("MIGRATIONS", True):
        init_migrations(app)

    plugin_loader.call_each(pm, report, "contacts_tasks", app=app, huey=app.extensions["huey"])
    plugin_loader.call_each(pm, report, "contacts_cli", group=app.cli)
    plugin_loader.call_each(
        pm, report, "contacts_template_globals", apply=lambda names: app.jinja_env.globals.update(names or {})
    )


def init_web(app: Flask) -> None:
    from .api import init_api
    from .views import conditional, page_cache, register_views

    pm = app.extensions["contacts_pm"]
    register_views(app)

    def register(blueprints):
        for bp in blueprints or []:
            app.register_blueprint(bp)

    plugin_loader.call_each(pm, app.extensions["contacts_plugins"], "contacts_blueprints", apply=register, app=app)
    init_api(app)

    limit_only_decorated_views(app)
    access.public(app.view_functions["static"])
    app.before_request(access.enforce)
    conditional.init_app(app)  # after the access check: a 304 goes only to whom may see the page
    page_cache.init_app(app)  # after conditional GETs: a 304 costs less than a cached page

    @app.after_request
    def _finish(response):
        # One hook where Flask ran three (each hook costs a call and a coroutine check): the default
        # headers, then the page cache, then conditional GETs, the order they ran in before.
        return conditional.after(page_cache.after(default_headers(response)))

    static_app = StaticFiles(app.wsgi_app, root=app.static_folder, prefix="static/", max_age=31536000)
    for _name, bp in app.blueprints.items():
        if bp.static_folder and bp.static_url_path:
            static_app.add_files(bp.static_folder, prefix=bp.static_url_path.lstrip("/") + "/")
    app.wsgi_app = static_app
