"""Choosing and loading plugins: a broken one is reported and skipped, a misspelt hook is a load
error, ``CONTACTS_PLUGINS`` and ``plugins=`` choose what runs, and the core runs alone."""

from __future__ import annotations

import logging
import types

import pytest

from core import create_app, hookimpl
from core.plugins import installed
from tests import conftest

PLUGIN_PREFIXES = tuple(f"/{name}/" for name in conftest.ALL_PLUGINS)


@pytest.fixture
def build(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("loading")
    apps = []

    def make(plugins=None, env_plugins="unset"):
        if env_plugins == "unset":
            monkeypatch.delenv("CONTACTS_PLUGINS", raising=False)
        else:
            monkeypatch.setenv("CONTACTS_PLUGINS", env_plugins)
        config = conftest.test_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'l.db'}")
        app = create_app(config, plugins=plugins)
        apps.append(app)
        return app

    return make


def enabled(app) -> set[str]:
    return {name for name, info in app.extensions["contacts_plugins"].items() if info.enabled}


def errors(app) -> dict[str, str]:
    return {name: info.error for name, info in app.extensions["contacts_plugins"].items() if info.error}


def registered(app) -> set[str]:
    pm = app.extensions["contacts_pm"]
    names = {pm.get_name(p) for p in pm.get_plugins()}
    return {n for n in names if n != "core" and not n.startswith("core-")}  # the core's own hook modules


def plugin_routes(app) -> list[str]:
    return [r.rule for r in app.url_map.iter_rules() if r.rule.startswith(PLUGIN_PREFIXES)]


def module(name: str, **hooks) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__version__ = "9.9"
    for hook_name, fn in hooks.items():
        setattr(mod, hook_name, hookimpl(fn))
    return mod


def test_a_plugin_that_fails_to_import_is_logged_and_skipped(build, caplog):
    with caplog.at_level(logging.ERROR, logger="core.plugins"):
        app = build(["communications", "contacts_no_such_plugin"])
    assert enabled(app) == {"communications"}
    assert errors(app)["contacts_no_such_plugin"].startswith("ModuleNotFoundError")
    assert app.extensions["contacts_plugins"]["contacts_no_such_plugin"].traceback
    assert "contacts_no_such_plugin failed to load" in caplog.text
    assert app.test_client().get("/healthz").status_code == 200  # the app still serves


def test_a_plugin_whose_registration_fails_is_skipped(build):
    def contacts_nav_items(user, colour):  # an argument the hookspec does not have
        return []

    app = build(["planning", module("wrong_args", contacts_nav_items=contacts_nav_items)])
    assert enabled(app) == {"planning"}
    assert "wrong_args" in errors(app)
    assert "colour" in errors(app)["wrong_args"]
    assert registered(app) == {"planning"}


def test_a_misspelt_hook_is_a_load_error(build, caplog):
    def contacts_contact_craeted(contact, actor):
        pass

    typo = module("typo_plugin", contacts_contact_craeted=contacts_contact_craeted)
    with caplog.at_level(logging.ERROR, logger="core.plugins"):
        app = build(["monitoring", typo])
    assert "contacts_contact_craeted" in errors(app)["typo_plugin"]
    assert "typo_plugin" not in registered(app)  # nothing of it stays half-registered
    assert enabled(app) == {"monitoring"}
    assert "typo_plugin failed to load" in caplog.text


def test_a_good_module_plugin_is_enabled_with_its_version(build):
    def contacts_permissions():
        return {"thing.view": "See things"}

    app = build([module("thing_plugin", contacts_permissions=contacts_permissions)])
    info = app.extensions["contacts_plugins"]["thing_plugin"]
    assert info.enabled and info.version == "9.9" and info.error == ""
    assert registered(app) == {"thing_plugin"}


def test_contacts_plugins_env_chooses_the_plugins(build):
    app = build(env_plugins="planning, monitoring")
    assert enabled(app) == {"planning", "monitoring"}
    assert registered(app) == {"planning", "monitoring"}
    assert all(r.startswith(("/planning/", "/monitoring/")) for r in plugin_routes(app))


def test_empty_contacts_plugins_env_runs_the_core_alone(build):
    app = build(env_plugins="")
    assert registered(app) == set()
    assert plugin_routes(app) == []


def test_without_a_choice_every_installed_plugin_runs(build):
    app = build()
    assert enabled(app) == set(installed())
    assert set(conftest.ALL_PLUGINS) <= enabled(app)


def test_the_plugins_argument_wins_over_the_env(build):
    app = build(["collaboration"], env_plugins="planning")
    assert registered(app) == {"collaboration"}


def test_plugins_empty_list_runs_the_core_alone(build):
    app = build([])
    assert registered(app) == set()
    assert app.extensions["contacts_plugins"] == {}
    assert plugin_routes(app) == []
    assert app.extensions["contacts_migration_dirs"][1:] == []
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/planning/").status_code == 404


def test_installed_plugins_come_from_entry_points():
    found = installed()
    for name in conftest.ALL_PLUGINS:
        assert found[name].module == f"plugins.{name}"
        assert found[name].version  # the distribution's version


def _spec_module():
    import pluggy

    spec = pluggy.HookspecMarker("contacts")
    specs = types.ModuleType("alerts_hookspecs")

    @spec
    def alerts_raised(level):
        """Another plugin may answer an alert."""

    specs.alerts_raised = alerts_raised
    return specs


def test_contacts_hookspecs_lets_a_plugin_declare_hooks_for_others(build):
    specs = _spec_module()
    declaring = module("alerts", contacts_hookspecs=lambda: [specs])
    answering = module("pager", alerts_raised=lambda level: f"paged at {level}")
    app = build([declaring, answering])
    assert errors(app) == {}
    assert registered(app) == {"alerts", "pager"}
    assert app.extensions["contacts_pm"].hook.alerts_raised(level="high") == ["paged at high"]


def test_implementing_an_undeclared_plugin_hook_is_a_load_error(build):
    answering = module("pager", alerts_raised=lambda level: "paged")
    app = build(["planning", answering])  # nobody declares alerts_raised
    assert "alerts_raised" in errors(app)["pager"]
    assert registered(app) == {"planning"}


def test_a_failing_contacts_hookspecs_skips_its_plugin(build):
    def contacts_hookspecs():
        raise ImportError("no hookspecs module")

    app = build(["planning", module("broken_specs", contacts_hookspecs=contacts_hookspecs)])
    assert errors(app)["broken_specs"] == "ImportError: no hookspecs module"
    assert registered(app) == {"planning"}


def test_a_plugin_whose_setup_hook_raises_is_reported_and_skipped(build, caplog):
    def contacts_blueprints(app):
        raise RuntimeError("no blueprint for you")

    def contacts_nav_items(user):
        return []

    broken = module("setup_breaks", contacts_blueprints=contacts_blueprints, contacts_nav_items=contacts_nav_items)
    with caplog.at_level(logging.ERROR):
        app = build(plugins=["planning", broken])
    assert "setup_breaks" in errors(app)
    assert "no blueprint for you" in errors(app)["setup_breaks"]
    assert "setup_breaks" not in registered(app)
    assert "planning" in enabled(app)
    assert any(r.startswith("/planning/") for r in plugin_routes(app))
    assert "setup_breaks" in caplog.text
