"""Deny by default: every route declares who may reach it, and one that does not answers 403."""

from __future__ import annotations

import pytest
from flask_login import FlaskLoginClient

from core import create_app
from core.access import login_required, public, role_required, rule_of
from core.extensions import db
from core.models import ROLES
from tests import conftest, factories
from tests.outside_plugin import support
from tests.outside_plugin.support import outside_plugin  # noqa: F401 - fixture


@pytest.fixture
def everything_app(tmp_path_factory, outside_plugin):  # noqa: F811
    """The core, the four plugins and the outside plugin (routes only; no database needed)."""
    app = create_app(conftest.test_config(tmp_path_factory), plugins=[*conftest.ALL_PLUGINS, support.NAME])
    assert all(info.enabled for info in app.extensions["contacts_plugins"].values())
    return app


def _rules(app) -> dict[str, str | None]:
    return {rule.endpoint: rule_of(app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules()}


def _valid(rule: str) -> bool:
    if rule in ("public", "login"):
        return True
    return rule.startswith("role:") and bool(rule[5:]) and set(rule[5:].split(",")) <= set(ROLES)


def test_every_route_has_an_access_rule(everything_app):
    rules = _rules(everything_app)
    assert len(rules) > 30  # the walk sees the core's, the API's and the plugins' routes
    missing = sorted(endpoint for endpoint, rule in rules.items() if rule is None)
    assert missing == [], f"routes without @public / @login_required / @role_required: {missing}"
    invalid = sorted(f"{endpoint}: {rule}" for endpoint, rule in rules.items() if not _valid(rule))
    assert invalid == []


def test_the_walk_covers_every_plugin(everything_app):
    prefixes = {endpoint.split(".", 1)[0] for endpoint in _rules(everything_app)}
    assert {*conftest.ALL_PLUGINS, "birthdays"} <= prefixes


def test_no_plugin_route_is_public(everything_app):
    plugin_blueprints = {*conftest.ALL_PLUGINS, "birthdays"}
    public_plugin_routes = sorted(
        endpoint for endpoint, rule in _rules(everything_app).items()
        if rule == "public" and endpoint.split(".", 1)[0] in plugin_blueprints
    )
    assert public_plugin_routes == []


def test_the_session_app_has_rules_everywhere(app):
    assert [e for e, rule in _rules(app).items() if rule is None] == []


@pytest.fixture
def bare_app(tmp_path_factory):
    """A fresh core-only app on its own SQLite file, with routes added by the test."""
    folder = tmp_path_factory.mktemp("bare")
    app = create_app(
        conftest.test_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bare.db'}"), plugins=[]
    )
    app.test_client_class = FlaskLoginClient

    def naked():
        return "served without a rule"

    def anyone():
        return "public"

    def members():
        return "members"

    def admins():
        return "admins"

    app.add_url_rule("/naked", "naked", naked)
    app.add_url_rule("/anyone", "anyone", public(anyone))
    app.add_url_rule("/members", "members", login_required(members))
    app.add_url_rule("/admins", "admins", role_required("admin")(admins))
    with app.app_context():
        db.create_all()
        admin = factories.user("admin", [factories.team("A")])
        member = factories.user("member", [factories.team("B")])
        for u in (admin, member):
            db.session.refresh(u)
            _ = u.teams
        db.session.expunge_all()
    yield app, admin, member
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_route_without_a_rule_answers_403_to_everyone(bare_app, caplog):
    app, admin, member = bare_app
    assert _rules(app)["naked"] is None
    for client in (app.test_client(), app.test_client(user=member), app.test_client(user=admin)):
        answer = client.get("/naked")
        assert answer.status_code == 403
        assert "served without a rule" not in answer.get_data(as_text=True)
    assert "naked has no access rule" in caplog.text


def test_rules_are_applied(bare_app):
    app, admin, member = bare_app
    anonymous, as_member, as_admin = app.test_client(), app.test_client(user=member), app.test_client(user=admin)
    assert anonymous.get("/anyone").status_code == 200
    assert anonymous.get("/members").status_code in (302, 401)
    assert as_member.get("/members").status_code == 200
    assert as_member.get("/admins").status_code == 403
    assert as_admin.get("/admins").status_code == 200
