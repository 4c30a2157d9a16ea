"""Revision core_0004 (hierarchy and relationships) upgrades with its seeded types and downgrades
cleanly, on SQLite (no table copy: the full-text triggers stay) and PostgreSQL."""

from __future__ import annotations

import flask_migrate
from sqlalchemy import inspect, text

from core.extensions import db
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures


def test_core_0004_upgrades_seeds_and_downgrades(make_app):  # noqa: F811
    app = make_app([])
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        names = set(db.session.scalars(text("SELECT name FROM relationship_types")))
        assert {"manager of", "spouse of", "board member of"} <= names
        columns = {c["name"] for c in inspect(db.engine).get_columns("contacts")}
        assert "reports_to_id" in columns
        db.session.remove()
        flask_migrate.downgrade(revision="core_0002")
        inspector = inspect(db.engine)
        assert "relationships" not in inspector.get_table_names()
        assert "reports_to_id" not in {c["name"] for c in inspector.get_columns("contacts")}
        assert "parent_id" not in {c["name"] for c in inspector.get_columns("organizations")}
        flask_migrate.upgrade(revision="heads")
        assert "relationships" in inspect(db.engine).get_table_names()
