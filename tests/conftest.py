"""Shared fixtures: an app per session on SQLite (or PostgreSQL / Redis when configured),
clean tables per test, and logged-in clients per role."""

from __future__ import annotations

import os

import pytest
from flask_login import FlaskLoginClient

from core import create_app
from core.extensions import cache, db, pages
from core.services import stamps, vocabulary
from tests import factories

TEST_DB = os.environ.get("CONTACTS_TEST_DATABASE_URL")
TEST_REDIS = os.environ.get("CONTACTS_TEST_REDIS_URL")
ALL_PLUGINS = ["communications", "planning", "monitoring", "collaboration"]


def test_config(tmp_path_factory, **overrides) -> dict:
    folder = tmp_path_factory.mktemp("instance")
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": TEST_DB or f"sqlite:///{folder / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "HUEY_IMMEDIATE": True,
        "HUEY_FILENAME": str(folder / "huey.db"),
        "RATELIMIT_ENABLED": False,
        "REDIS_URL": TEST_REDIS,
        "CACHE_TYPE": "RedisCache" if TEST_REDIS else "SimpleCache",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


test_config.__test__ = False  # a helper, not a test


def drop_everything() -> None:
    """Drop every table in the test database, including ones the models no longer know about
    (left by an earlier run, a migration test or a plugin that is not loaded)."""
    from sqlalchemy import MetaData

    found = MetaData()
    found.reflect(bind=db.engine)
    found.drop_all(bind=db.engine)
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def reset_database(app) -> None:
    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        cache.clear()
        stamps.forget_local()
        pages.clear()
        vocabulary.ensure_defaults()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(test_config(tmp_path_factory), plugins=ALL_PLUGINS)
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        drop_everything()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _push_request_context():
    """Overrides pytest-flask's fixture of this name, which keeps ONE request context pushed for
    the whole test: every client request would then share ``g`` (and flask-login's cached user),
    hiding bugs. Tests that call services directly use the ``ctx`` fixture instead."""
    yield


@pytest.fixture(autouse=True)
def _clean(request):
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    reset_database(app)
    yield


@pytest.fixture
def ctx(app):
    """An app context for calling services directly."""
    with app.test_request_context():
        yield
        db.session.remove()


@pytest.fixture
def team(app):
    with app.app_context():
        t = factories.team("Sales")
        db.session.refresh(t)
        db.session.expunge(t)
        return t


@pytest.fixture
def other_team(app):
    with app.app_context():
        t = factories.team("Support")
        db.session.refresh(t)
        db.session.expunge(t)
        return t


def _user(app, role, teams, name=None):
    with app.app_context():
        attached = [db.session.merge(t) for t in teams]
        u = factories.user(role, attached, **({"name": name} if name else {}))
        db.session.refresh(u)
        _ = u.teams
        db.session.expunge_all()
        return u


@pytest.fixture
def admin(app, team):
    return _user(app, "admin", [team])


@pytest.fixture
def ann(app, team):
    """Two members of the same team (the same rights), named: for what users share and what not."""
    return _user(app, "member", [team], "Ann Anders")


@pytest.fixture
def ben(app, team):
    return _user(app, "member", [team], "Ben Bolt")


@pytest.fixture
def manager(app, team):
    return _user(app, "manager", [team])


@pytest.fixture
def member(app, team):
    return _user(app, "member", [team])


@pytest.fixture
def viewer(app, team):
    return _user(app, "viewer", [team])


@pytest.fixture
def outsider(app, other_team):
    """A member of another team."""
    return _user(app, "member", [other_team])


@pytest.fixture
def client_for(app):
    def make(user):
        return app.test_client(user=user)

    return make


@pytest.fixture
def admin_client(client_for, admin):
    return client_for(admin)


@pytest.fixture
def member_client(client_for, member):
    return client_for(member)


@pytest.fixture
def viewer_client(client_for, viewer):
    return client_for(viewer)


@pytest.fixture
def outsider_client(client_for, outsider):
    return client_for(outsider)
