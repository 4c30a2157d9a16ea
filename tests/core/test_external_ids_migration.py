"""Revision core_0013: every vCard UID kept in contact_details.uid moves to
contact_external_ids (source "vcard") and the column goes; downgrading brings them back. On SQLite
the column is dropped in place (contacts is never copied: its full-text triggers stay)."""

from __future__ import annotations

import flask_migrate
from sqlalchemy import inspect, text

from core.extensions import db
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures

NOW = "2026-11-24 03:00:00"


def _columns(table: str) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns(table)}


def _contact(conn, cid: int, uid: str | None, title: str = "") -> None:
    conn.execute(text(
        "INSERT INTO contacts (id, first_name, last_name, sort_name, phone, type, status, owner_team_id, version, "
        "created_at, updated_at) VALUES (:id, 'P', :last, :last, '', 'person', 'active', 1, 1, :now, :now)"
    ), {"id": cid, "last": f"N{cid}", "now": NOW})
    if uid is not None or title:
        conn.execute(text("INSERT INTO contact_details (contact_id, title, notes, uid) VALUES (:id, :title, '', :uid)"),
                     {"id": cid, "title": title, "uid": uid})


def _links(conn) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(
        "SELECT source, external_id, contact_id FROM contact_external_ids ORDER BY source, external_id"))]


def test_core_0013_moves_every_uid_to_the_external_ids_and_back(make_app):  # noqa: F811
    app = make_app([])
    with app.app_context():
        flask_migrate.upgrade(revision="core_0012")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'T', :now, :now)"),
                         {"now": NOW})
            _contact(conn, 1, "urn:uuid:one", title="Countess")
            _contact(conn, 2, "shared")  # the old column was not unique: the oldest contact keeps it
            _contact(conn, 3, "shared")
            _contact(conn, 4, None, title="no uid")
            _contact(conn, 5, "")
            _contact(conn, 6, "crm-7")
            conn.execute(text("INSERT INTO contact_external_ids (source, external_id, contact_id) VALUES "
                              "('crm', 'crm-7', 6), ('vcard', 'taken', 4)"))
            _contact(conn, 7, "taken")  # already someone's vcard id: that link stays
        triggers_before = _triggers()
        assert triggers_before or db.engine.dialect.name != "sqlite"
        flask_migrate.upgrade(revision="heads")
        assert "uid" not in _columns("contact_details")
        assert "ix_contact_details_uid" not in {i["name"] for i in inspect(db.engine).get_indexes("contact_details")}
        with db.engine.connect() as conn:
            assert _links(conn) == [("crm", "crm-7", 6), ("vcard", "crm-7", 6), ("vcard", "shared", 2),
                                    ("vcard", "taken", 4), ("vcard", "urn:uuid:one", 1)]
            assert conn.execute(text("SELECT title FROM contact_details WHERE contact_id = 1")).scalar() == "Countess"
        assert _triggers() >= triggers_before  # none lost (core_0020 adds the phone index's own)
        db.session.remove()
        flask_migrate.downgrade(revision="core_0012")
        assert "uid" in _columns("contact_details")
        with db.engine.connect() as conn:
            uids = dict(conn.execute(text("SELECT contact_id, uid FROM contact_details WHERE uid IS NOT NULL")).all())
            assert uids == {1: "urn:uuid:one", 2: "shared", 4: "taken", 6: "crm-7"}
            assert _links(conn) == [("crm", "crm-7", 6)]
        flask_migrate.upgrade(revision="heads")
        assert "uid" not in _columns("contact_details")


def _triggers() -> set[str]:
    """The full-text triggers on contacts (SQLite), which a copy of the table would lose."""
    if db.engine.dialect.name != "sqlite":
        return set()
    with db.engine.connect() as conn:
        return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
