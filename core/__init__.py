"""Contacts: the contact core. ``create_app`` builds the Flask application."""

from __future__ import annotations

import logging

from .config import PROJECT_ROOT, from_environ, load_secret_key
from .plugins import hookimpl
from .routing import App, LazyRule

__all__ = ["create_app", "hookimpl"]
__version__ = "0.1.0"

log = logging.getLogger(__name__)


def create_app(config: dict | None = None, plugins: list | None = None) -> App:
    """Build the app. ``config`` overrides settings from the environment; ``plugins`` lists the
    plugins to enable (names, modules or dotted paths; ``None``: ``CONTACTS_PLUGINS`` or every
    installed plugin)."""
    from pathlib import Path

    settings = from_environ()
    settings.update(config or {})
    instance = Path(settings["INSTANCE_PATH"])
    app = App(
        __name__,
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
        static_url_path="/static",
    )
    app.url_rule_class = LazyRule  # URL builders compiled on first use, not at start-up
    app.config.update(settings)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(instance)
    instance.mkdir(parents=True, exist_ok=True)
    if app.config.get("TEMPLATE_BYTECODE_CACHE"):
        from jinja2 import FileSystemBytecodeCache

        # Templates compiled once into instance/template-cache, not by every worker after every
        # start (set before jinja_env exists: plugins touch it in init_plugins). An edited template
        # is compiled again: the cache keys on its source's checksum.
        cache_dir = instance / "template-cache"
        cache_dir.mkdir(exist_ok=True)
        app.jinja_options = {**app.jinja_options, "bytecode_cache": FileSystemBytecodeCache(str(cache_dir))}

    from .setup import init_extensions, init_plugins, init_web

    init_extensions(app)
    wanted = plugins if plugins is not None else app.config.get("ENABLED_PLUGINS")
    init_plugins(app, wanted)
    init_web(app)
    return app
