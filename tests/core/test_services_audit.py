"""The hash-chained audit trail: every edit, deletion or reordering is found."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from core.database import transaction
from core.extensions import db
from core.models import AuditEntry
from core.services import audit
from core.services.accounts import SYSTEM


def _write(n: int) -> list[int]:
    for i in range(n):
        with transaction():
            audit.record(SYSTEM, "updated", "thing", i, {"when": (None, date(2024, 1, i + 1)), "n": (i, i + 1)})
    return db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()


def test_entries_chain_and_verify(ctx):
    ids = _write(4)
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert entries[0].changes == {"when": [None, "2024-01-01"], "n": [0, 1]}
    result = audit.verify(batch=3)  # crosses a batch boundary
    assert (result.ok, result.checked, result.bad_id) == (True, len(ids), None)


def test_an_edited_entry_is_found(ctx):
    ids = _write(3)
    db.session.execute(text("UPDATE audit_entries SET entity_id = 99 WHERE id = :id"), {"id": ids[1]})
    db.session.commit()
    result = audit.verify()
    assert (result.ok, result.bad_id, result.checked) == (False, ids[1], 1)
    assert "edited" in result.reason


def test_a_deleted_entry_is_found(ctx):
    ids = _write(3)
    db.session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": ids[1]})
    db.session.commit()
    result = audit.verify()
    assert (result.ok, result.bad_id) == (False, ids[2])
    assert "deleted" in result.reason


def test_reordered_entries_are_found(ctx):
    ids = _write(3)
    cols = "created_at, actor_id, action, entity_type, entity_id, changes, prev_hash, hash"
    rows = {r[0]: r[1:] for r in db.session.execute(text(f"SELECT id, {cols} FROM audit_entries WHERE id IN (:a, :b)"),
                                                     {"a": ids[0], "b": ids[1]})}
    names = cols.split(", ")
    sets = ", ".join(f"{n} = :{n}" for n in names)
    db.session.execute(text("UPDATE audit_entries SET hash = 'tmp' WHERE id = :id"), {"id": ids[0]})
    for target, source in ((ids[1], ids[0]), (ids[0], ids[1])):
        values = dict(zip(names, rows[source], strict=True))
        if isinstance(values["changes"], dict):
            values["changes"] = json.dumps(values["changes"])
        db.session.execute(text(f"UPDATE audit_entries SET {sets} WHERE id = :id"), {**values, "id": target})
    db.session.commit()
    result = audit.verify()
    assert (result.ok, result.bad_id, result.checked) == (False, ids[0], 0)
    assert "reordered" in result.reason


def test_a_copied_entry_is_found_without_a_unique_hash(ctx):
    """``hash`` is not UNIQUE (an index at a random place per entry, on every write): a second
    entry with the same previous hash (a fork, or a copy of an entry) breaks the chain all the same."""
    ids = _write(2)
    cols = "created_at, actor_id, action, entity_type, entity_id, changes, prev_hash, hash"
    db.session.execute(text(f"INSERT INTO audit_entries ({cols}) SELECT {cols} FROM audit_entries WHERE id = :id"),
                       {"id": ids[1]})
    db.session.commit()
    copy = db.session.scalar(select(func.max(AuditEntry.id)))
    result = audit.verify()
    assert (result.ok, result.bad_id, result.checked) == (False, copy, 2)
    assert "inserted" in result.reason


def test_history_of_one_record(ctx):
    _write(2)
    with transaction():
        audit.record(SYSTEM, "deleted", "thing", 1, {})
    assert [e.action for e in audit.history("thing", 1)] == ["deleted", "updated"]
    assert audit.history("thing", 42) == []


def test_jsonable():
    assert audit.jsonable(None) is None and audit.jsonable(3) == 3 and audit.jsonable("x") == "x"
    assert audit.jsonable(date(2024, 2, 29)) == "2024-02-29"
    assert audit.jsonable({1, 2}) in ("{1, 2}", "{2, 1}")


def test_direct_and_session_entries_chain_in_order_and_stamp_as_before(ctx, member, team):
    """Entries inserted directly (not about a contact, or ``stamped``) and through the session (a
    contact whose pages nothing else in the transaction stamps) form one chain, in call order."""
    from core.services import stamps
    from core.services.contacts import create_contact

    contact = create_contact(member, {"first_name": "Ada"})
    scope = stamps.contact_scope(contact.id)
    before = stamps.read([scope, *stamps.SHARED_STRIPES])
    with transaction():
        audit.record(member, "viewed", "contact", contact.id, {})  # through the session: it stamps the page
        audit.record(member, "created", "tag", 7, {"name": (None, "vip")})  # directly
        audit.record(member, "noted", "contact", contact.id, {}, stamped=True)  # directly
        audit.record(member, "viewed", "contact", contact.id, {"n": (1, 2)})
    after = stamps.read([scope, *stamps.SHARED_STRIPES])
    assert after[scope] != before[scope]
    assert all(after[n] == before[n] for n in stamps.SHARED_STRIPES)
    rows = audit.history("contact", contact.id, limit=10)
    assert [r.action for r in rows][:3] == ["viewed", "noted", "viewed"]
    assert audit.verify().ok


def test_record_many_stores_the_changes_as_record_does(ctx):
    """Plain pairs take record_many's short way; dates, sets and lists the long one: the same text either way."""
    cases = [{"a": (None, "x"), "b": (1, 2.5), "c": (True, None)}, {"d": (None, date(2024, 1, 2)), "s": ({1}, "y")},
             {"l": (None, [1, 2])}, {}]
    for n, changes in enumerate(cases):
        with transaction():
            audit.record(SYSTEM, "created", "thing", n, changes)
            audit.record_many(SYSTEM, "created", "thing", [(n, changes)])
    stored = db.session.execute(text("SELECT entity_id, changes FROM audit_entries ORDER BY id")).all()
    assert [a[1] for a in stored[0::2]] == [b[1] for b in stored[1::2]]
    assert audit.verify().ok


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_the_kept_encoder_writes_the_encoders_text(value):
    """record_many encodes with a C encoder made once (JSONEncoder.encode makes one per call): the
    very text the entries were hashed and stored as before, NaN, dates (default=str) and all."""
    assert audit._encode(value) == audit._ENCODER.encode(value)


def test_record_many_makes_no_encoder_per_entry(ctx, monkeypatch):
    made = []
    real = json.encoder.c_make_encoder
    monkeypatch.setattr(json.encoder, "c_make_encoder", lambda *a: made.append(a) or real(*a))
    counts = []
    for entries in (2, 20):
        made.clear()
        with transaction():
            audit.record_many(SYSTEM, "created", "thing", [(n, {"name": (None, f"n{n}")}) for n in range(entries)])
        counts.append(len(made))
    assert counts[0] == counts[1] <= 1  # the call's frame, if anything
