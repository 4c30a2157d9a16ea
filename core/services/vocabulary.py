"""Contact types and statuses: admin-edited, read on every form and list, so cached."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from flask import g

from ..database import transaction
from ..errors import ValidationError
from ..extensions import cache, db
from ..models import ContactStatus, ContactType
from ..models.vocabulary import DEFAULT_STATUSES, DEFAULT_TYPES
from ..policy import require
from . import audit, cache_keys, relationship_types, stamps
from .fields import clean_text

KINDS = {"type": ContactType, "status": ContactStatus}
_CACHE_KEY = "vocab:terms"  # both kinds in one entry: a write reads both, one cache read (a file on SQLite)


_PINNED: ContextVar[dict | None] = ContextVar("vocabulary_pinned", default=None)


@contextmanager
def pinned():
    """Within the block, ``terms`` answers each kind from the first read (an import batch checks
    thousands of rows against the same vocabularies: one cache read per kind, not per row)."""
    token = _PINNED.set({})
    try:
        yield
    finally:
        _PINNED.reset(token)


def terms(kind: str) -> list[tuple[str, str]]:
    """Active ``(key, label)`` pairs in display order."""
    memo = _PINNED.get()
    if memo is not None:
        if kind not in memo:
            memo[kind] = _terms(kind)
        return memo[kind]
    return _terms(kind)


def keys(kind: str) -> list[str]:
    """The active keys of ``kind`` in display order (``terms`` without the labels); within
    ``pinned`` worked out once, as the terms are read once."""
    memo = _PINNED.get()
    if memo is None:
        return [k for k, _ in _terms(kind)]
    found = memo.get(("keys", kind))
    if found is None:
        found = memo[("keys", kind)] = [k for k, _ in terms(kind)]
    return found


def _read() -> dict[str, list[tuple[str, str]]]:
    return {
        name: [
            (t.key, t.label)
            for t in db.session.scalars(
                db.select(model).where(model.active.is_(True)).order_by(model.position, model.label)
            )
        ]
        for name, model in KINDS.items()
    }


def _cached() -> dict[str, list[tuple[str, str]]]:
    found = cache_keys.kept(_CACHE_KEY)  # shared by the requests of this process: not changed
    if found is None:
        found = _read()
        cache.set(_CACHE_KEY, found, timeout=300)
    return found


def _terms(kind: str) -> list[tuple[str, str]]:
    found = g.get("_vocabulary")  # read once a request
    if found is None:
        # A page that read its stamps (the list, a contact page) keeps the terms in the process under the
        # shared version, which every vocabulary write changes: no read of the shared cache (a file on
        # SQLite). On a miss they are read from the database, in the same snapshot as the stamps: the
        # shared cache is emptied only after the write commits, so it could still hold the old terms.
        found = g._vocabulary = stamps.local("vocabulary", make=_read, otherwise=_cached)
    return found[kind]


def _forget() -> None:
    g.pop("_vocabulary", None)
    cache.delete(_CACHE_KEY)


def all_terms(kind: str):
    model = KINDS[kind]
    return db.session.scalars(db.select(model).order_by(model.position, model.label)).all()


def label(kind: str, key: str) -> str:
    return dict(terms(kind)).get(key, key)


def add_term(actor, kind: str, key: str, label_: str) -> None:
    require(actor, "admin.vocabulary")
    errors: dict = {}
    key = clean_text(key, "key", errors, 50, required=True).lower()
    label_ = clean_text(label_, "label", errors, 100, required=True)
    if key and not key.replace("-", "").replace("_", "").isalnum():
        errors["key"] = "Use letters, digits, - and _ only."
    model = KINDS[kind]
    if not errors and db.session.scalar(db.select(model.id).where(model.key == key)):
        errors["key"] = f"The {kind} '{key}' already exists."
    if errors:
        raise ValidationError(errors)
    with transaction():
        position = (db.session.scalar(db.select(db.func.max(model.position))) or 0) + 1
        term = model(key=key, label=label_, position=position, active=True)
        db.session.add(term)
        db.session.flush()
        audit.record(actor, "created", f"contact_{kind}", term.id, {"key": [None, key], "label": [None, label_]})
    _forget()


def set_active(actor, kind: str, term_id: int, active: bool) -> None:
    require(actor, "admin.vocabulary")
    model = KINDS[kind]
    with transaction():
        term = db.session.get(model, term_id)
        if term is None:
            raise ValidationError({"id": f"No such {kind}."})
        if term.active != active:
            audit.record(actor, "updated", f"contact_{kind}", term.id, {"active": [term.active, active]})
            term.active = active
    _forget()


def ensure_defaults() -> None:
    """Seed the vocabularies on a new database (idempotent)."""
    with transaction():
        for kind, defaults in (("type", DEFAULT_TYPES), ("status", DEFAULT_STATUSES)):
            model = KINDS[kind]
            if db.session.scalar(db.select(db.func.count()).select_from(model)):
                continue
            for position, (key, label_) in enumerate(defaults):
                db.session.add(model(key=key, label=label_, position=position, active=True))
    _forget()
    relationship_types.ensure_defaults()  # the relationship types' defaults (core/services/relationship_types.py)
