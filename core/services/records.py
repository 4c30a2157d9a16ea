"""Rules shared by every record that has an owner team and a version (contacts,
organizations, and plugins' records): owner-team choice, change sets, stale-edit detection."""

from __future__ import annotations

from ..errors import NotFound
from ..extensions import db
from ..models import MAX_ID
from ..policy import require, writable_team_ids


class Owner:
    """Stands in for a record not yet written, so the policy can see its owner team."""

    def __init__(self, owner_team_id):
        self.owner_team_id = owner_team_id


def int_or_none(value, field: str, errors: dict):
    """An id from a form or JSON: None when empty, an error when not a valid id."""
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[field] = "Must be a number."
        return None
    if not 0 < number <= MAX_ID:
        errors[field] = "Out of range."
        return None
    return number


def escape_like(term: str) -> str:
    """Escape LIKE wildcards; use with ``escape="\\\\"``."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def clean_owner_team(actor, data: dict, existing, errors: dict):
    """The owner team for a new or edited record: one of the actor's writable teams, defaulting
    to the record's current team or the actor's first team."""
    team_id = int_or_none(data.get("owner_team_id"), "owner_team_id", errors)
    if "owner_team_id" in errors:
        return team_id
    allowed = writable_team_ids(actor)
    if team_id is None:
        team_id = existing.owner_team_id if existing is not None else (allowed[0] if allowed else None)
    if team_id not in allowed and (existing is None or team_id != existing.owner_team_id):
        errors["owner_team_id"] = "Choose one of your teams."
    return team_id


def apply_changes(record, values: dict) -> dict:
    """Set ``values`` on ``record``; return field -> (before, after) for what really changed."""
    changes = {}
    for name, value in values.items():
        before = getattr(record, name)
        if before != value:
            changes[name] = (before, value)
            setattr(record, name, value)
    return changes


def stale_changes(record, values: dict) -> dict:
    """For a 409: field -> (what the caller sent, what is saved now), where they differ."""
    return {k: (v, getattr(record, k)) for k, v in values.items() if getattr(record, k) != v}


def get_owned(actor, model, record_id: int, kind: str, *, deleted: bool = False):
    """A live (or, with ``deleted``, trashed) record ``actor`` may view; otherwise NotFound."""
    record = db.session.get(model, record_id) if 0 < record_id <= MAX_ID else None
    if record is None or (record.deleted_at is not None) != deleted:
        raise NotFound(f"No such {kind}.")
    require(actor, f"{kind}.view", record)
    return record
