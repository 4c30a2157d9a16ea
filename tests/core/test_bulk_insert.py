"""``bulk_insert.insert_rows``: the import's multi-row inserts through one DBAPI executemany keep
what ``session.execute(insert(table), rows)`` did: column defaults, typed values, the search
index (triggers), the session told it was written around, and the cache stamps moved on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.database import transaction
from core.extensions import db
from core.models import AuditEntry, Contact
from core.services import contacts, stamps
from core.services.bulk_insert import insert_rows
from tests.core.test_import import _user


def test_rows_with_different_keys_take_the_column_defaults(ctx, member, team):
    when = datetime(2024, 5, 6, 7, 8, 9, 123456)
    before = stamps.shared_version()
    with transaction():
        count = insert_rows(Contact.__table__, [
            {"id": 9001, "first_name": "Adalind", "type": "person", "status": "active", "owner_team_id": team.id},
            {"id": 9002, "last_name": "Hopperton", "email": "g@example.org", "email_key": "g@example.org",
             "type": "person", "status": "active", "owner_team_id": team.id, "created_at": when, "updated_at": when},
        ])
        insert_rows(AuditEntry.__table__, [{"action": "created", "entity_type": "contact", "entity_id": 9001,
                                            "changes": {"first_name": [None, "Adalind"]}, "prev_hash": "0", "hash": "1"}])
    assert count == 2
    db.session.expire_all()
    ada, grace = db.session.get(Contact, 9001), db.session.get(Contact, 9002)
    assert (ada.last_name, ada.phone, ada.sort_name, ada.version, ada.email) == ("", "", "", 1, None)
    assert ada.created_at is not None and ada.updated_at is not None  # the callable defaults
    assert grace.first_name == "" and grace.created_at == when and grace.updated_at == when
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_id == 9001))
    assert entry.changes == {"first_name": [None, "Adalind"]} and entry.created_at is not None
    # The search index was kept by the same transaction, and every cached page was invalidated.
    found = contacts.list_contacts(_user(member.id), q="hopperton").items
    assert [c.id for c in found] == [9002]
    assert stamps.shared_version() != before


def test_objects_loaded_before_the_insert_are_expired_at_commit(ctx, team):
    with transaction():
        insert_rows(Contact.__table__, [{"id": 9003, "first_name": "A", "type": "person", "status": "active",
                                         "owner_team_id": team.id}])
        assert db.session.info.get("contacts_bulk_write") is True
    assert "contacts_bulk_write" not in db.session.info
