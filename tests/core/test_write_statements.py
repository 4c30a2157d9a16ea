"""How many SQL statements a write through the API costs (counts, not timings).

Every avoidable query is a fixed cost on each write: the counts below are the ones this code
needs, so a change that adds a reload (an expired actor, a second lookup of the record, a
pre-check the unique index already makes) fails here. BEGIN/SAVEPOINT lines are counted too.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from core.extensions import db

from .test_api_contacts import Api, make_token


@pytest.fixture
def api(app, member):
    return Api(app, make_token(app, member))


@contextmanager
def counting(app):
    seen: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    def commit(conn):
        seen.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", commit)


@contextmanager
def counting_flushes():
    """How many times the unit of work flushes (each costs far more CPU than the INSERT it sends)."""
    from sqlalchemy.orm import Session

    flushes: list[int] = []

    def count(session, _context):
        flushes.append(len(session.new) + len(session.dirty))

    event.listen(Session, "after_flush", count)
    try:
        yield flushes
    finally:
        event.remove(Session, "after_flush", count)


def _write_commits(seen) -> int:
    """Commits of transactions that wrote something (a read transaction commits too)."""
    commits, wrote = 0, False
    for s in seen:
        head = s.lstrip().split(None, 1)[0].upper()
        if head in ("INSERT", "UPDATE", "DELETE"):
            wrote = True
        elif head == "COMMIT":
            commits += wrote
            wrote = False
    return commits


def _selects(seen, table):
    return [s for s in seen if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s]


def _sqlite(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def _create(api, n):
    resp = api.post("/api/v1/contacts", json={"first_name": "Ada", "last_name": f"L{n}", "email": f"ada{n}@example.org"})
    assert resp.status_code == 201, resp.json
    return resp


def test_create_statements(app, api):
    _create(api, 0)  # warm the vocabulary cache
    with counting(app) as seen, counting_flushes() as flushes:
        _create(api, 1)
    # no flush: the contact's row, its status history row, audit entry and activity entry are
    # inserted directly (prebuilt statements), not through the unit of work
    assert flushes == [], flushes
    # token+user+teams in one query; no email pre-check; no reload of actor or contact after commit
    assert len(_selects(seen, "api_tokens")) == 1
    assert not _selects(seen, "users") and not _selects(seen, "teams")
    assert not _selects(seen, "contacts")  # no e-mail pre-check (the unique index decides), no re-read
    assert sum(s.lstrip().upper().startswith("INSERT INTO CONTACTS") for s in seen) == 1
    assert sum(s.lstrip().upper().startswith("INSERT INTO CONTACT_STATUS_CHANGES") for s in seen) == 1  # issue 3
    # the activity feed's entry is written in the creating transaction: one commit per write; the
    # stamps of what pages show (core/services/stamps.py): the creating transaction changes one
    # stripe of the lists (the new contact shows there); the new contact had no page of its own
    assert sum("INTO monitoring_activity" in s for s in seen) == 1
    assert _write_commits(seen) == 1
    assert sum("INTO cache_stamps" in s for s in seen) == 1
    # SQLite: the token is read in no transaction of its own (database.read_unbegun): no BEGIN and COMMIT
    # for it. PostgreSQL: no BEGIN statements, and the write goes on in the token read's transaction
    # (read committed: no COMMIT of it, database._end_read_keeping_connection); the audit chain's advisory lock.
    # token; BEGIN, 3 inserts, the chain's last hash, 1 insert, a stamp, COMMIT
    assert len(seen) == 9, seen
    assert seen.count("COMMIT") == 1, seen


def test_create_with_tags_and_groups_reads_no_memberships(app, api):
    group = api.post("/api/v1/groups", json={"name": "Key accounts"}).json["id"]
    _create(api, 0)
    body = {"first_name": "Ada", "tags": ["vip"], "group_ids": [group]}
    with counting(app) as seen:
        resp = api.post("/api/v1/contacts", json=body)
    assert resp.status_code == 201 and resp.json["tags"] == ["vip"] and resp.json["group_ids"] == [group], resp.json
    # a contact created in this transaction has no tags or groups yet: nothing to read before adding them
    assert not _selects(seen, "contact_group_members")
    assert len([s for s in seen if "FROM contact_tags" in s]) == 1  # the answer's tag names, once they are in


def test_update_statements(app, api):
    created = _create(api, 0)
    cid = created.json["id"]
    with counting(app) as seen, counting_flushes() as flushes:
        resp = api.patch(f"/api/v1/contacts/{cid}", json={"last_name": "B"}, headers={"If-Match": created.headers["ETag"]})
    assert resp.status_code == 200, resp.json
    # no flush: the contact's UPDATE is a prebuilt statement (version checked and moved on), and the
    # log rows go in directly
    assert flushes == [], flushes
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE CONTACTS")]
    assert len(updates) == 1 and "contacts.version = " in updates[0], updates
    assert len(_selects(seen, "api_tokens")) == 1
    assert not _selects(seen, "users") and not _selects(seen, "teams")
    assert len([s for s in _selects(seen, "contacts") if "contacts.first_name" in s]) == 1  # one read, under the lock
    # + 2: the answer carries the contact's tags and group ids (two queries);
    # + 1: its details (emails, addresses...): one more read, all four tables at once; all three
    # read at the end of the writing transaction, not in a read transaction after it.
    assert len(_selects(seen, "contact_values")) == 1
    assert seen.index("COMMIT", seen.index(updates[0])) > max(seen.index(s) for s in _selects(seen, "contact_values"))
    # + 1: the stamp of what pages show (core/services/stamps.py); the activity feed's entry is
    # written in the update's transaction: one commit per write
    assert sum("INTO monitoring_activity" in s for s in seen) == 1
    assert _write_commits(seen) == 1
    assert sum("INTO cache_stamps" in s for s in seen) == 1
    # token; BEGIN, contact, hash, 2 inserts, UPDATE, 3 reads, a stamp, COMMIT (PostgreSQL: as for a create)
    assert len(seen) == 12, seen
    assert seen.count("COMMIT") == 1, seen


def test_a_read_after_the_token_is_in_a_transaction(app, api):
    cid = _create(api, 0).json["id"]
    with counting(app) as seen:
        assert api.get(f"/api/v1/contacts/{cid}").status_code == 200
    token = next(i for i, s in enumerate(seen) if "api_tokens" in s)
    if _sqlite(app):  # the token alone outside; the request's reads share one snapshot
        assert "BEGIN" not in seen[:token] and seen[token + 1] == "BEGIN", seen
        assert seen.count("BEGIN") == 1


def test_update_conflict_and_duplicate_email_still_answer(app, api):
    first = _create(api, 0)
    second = _create(api, 1)
    stale = api.patch(f"/api/v1/contacts/{first.json['id']}", json={"last_name": "X"}, headers={"If-Match": '"1-99"'})
    assert stale.status_code in (409, 412)
    dup = api.patch(f"/api/v1/contacts/{second.json['id']}", json={"email": "ada0@example.org"},
                    headers={"If-Match": second.headers["ETag"]})
    assert dup.status_code == 422 and "email" in str(dup.json)


def test_schedule_statements(app, api):
    cid = _create(api, 0).json["id"]
    due = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"subject": "Hello", "content": "Dear Ada", "when": due}
    assert api.post(f"/api/v1/contacts/{cid}/communications/send", json=body).status_code == 201
    with counting(app) as seen:
        resp = api.post(f"/api/v1/contacts/{cid}/communications/send", json=body)
    assert resp.status_code == 201, resp.json
    assert not _selects(seen, "users") and not _selects(seen, "teams")
    # 16 + the stamps (core/services/stamps.py) of the send's and the feed's transactions + the
    # dashboard count of communications (plugins/communications/rollup.py) + its 3 COMMITs
    assert len(seen) <= 22, seen


def test_update_of_tags_reads_nothing_again_after_commit(app, api):
    created = _create(api, 0)
    with counting(app) as seen:
        resp = api.patch(f"/api/v1/contacts/{created.json['id']}", json={"tags": ["vip"], "custom_fields": {}},
                         headers={"If-Match": created.headers["ETag"]})
    assert resp.status_code == 200 and resp.json["tags"] == ["vip"], resp.json
    # the link rows go in around the unit of work; the commit expires what they could make stale
    # (database._expire_written), not the actor, its teams and the contact: nothing read after it
    last = max(i for i, s in enumerate(seen) if s == "COMMIT")
    assert seen[last - 1].lstrip().upper().startswith("INSERT INTO CACHE_STAMPS"), seen
    assert not _selects(seen, "users") and not _selects(seen, "teams")
    assert len([s for s in _selects(seen, "contacts") if "contacts.first_name" in s]) == 1
