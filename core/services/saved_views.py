"""Saved views of the contacts list: a name, a filter (the list's query string), a sort and the
columns to show; personal, or shared with one of the owner's teams.

Who sees one: its owner, and the members of the team it is shared with (admins see every shared
one). Who changes or deletes one: its owner, an admin, or a manager of the team it is shared with.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import or_, select

from ..database import transaction
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import MAX_ID, SavedView, Team
from ..policy import personal
from . import audit, custom_field_queries, filters
from .fields import clean_text

# The list's columns, in display order: (key, label). "name" is always shown. Plugins and other
# modules may append to this list at import time.
LIST_COLUMNS: list[tuple[str, str]] = [
    ("email", "Email"),
    ("phone", "Phone"),
    ("organization", "Organization"),
    ("type", "Type"),
    ("status", "Status"),
    ("team", "Owner team"),
    ("created", "Created"),
    ("updated", "Updated"),
]
DEFAULT_COLUMNS = ["email", "phone", "organization", "type", "status"]
CORE_QUERY_KEYS = {"q", "status", "type", "organization_id", filters.PARAM}
MAX_QUERY = 4000
MAX_VIEWS = 500  # a picker, not a table


def column_keys() -> list[str]:
    return [k for k, _ in LIST_COLUMNS]


def _allowed_query_keys() -> set[str]:
    """The core's list parameters and the plugins' filters (their toolbar selects)."""
    core = {f.key for f in filters.CORE_FIELDS}
    return CORE_QUERY_KEYS | {k for k in filters.available_fields() if k not in core}


def clean_query(raw: str, errors: dict, actor=None) -> str:
    """The list query string to store: known keys only, empty values dropped, the filter checked."""
    if raw is None:
        raw = ""
    if not isinstance(raw, str) or len(raw) > MAX_QUERY or "\x00" in raw:
        errors["query"] = "Not a valid filter."
        return ""
    pairs = [(k, v) for k, v in parse_qsl(raw.lstrip("?"), keep_blank_values=False) if v != ""]
    allowed = _allowed_query_keys()
    unknown = sorted({k for k, _ in pairs} - allowed)
    if unknown:
        errors["query"] = f"Unknown filter {unknown[0]!r}."
        return ""
    try:
        parsed = filters.parse([v for k, v in pairs if k == filters.PARAM])
    except ValidationError as exc:
        errors["query"] = exc.errors[filters.PARAM][0] if filters.PARAM in exc.errors else "Not a valid filter."
        return ""
    if actor is not None and not filters.validate(parsed, actor):
        errors["query"] = next((c.error for c in parsed.conditions if c.error), "Not a valid filter.")
        return ""
    pairs = [(k, v) for k, v in pairs if k != filters.PARAM] + [(filters.PARAM, a) for a in parsed.args()]
    return urlencode(pairs)


def _clean(actor, data: dict, existing: SavedView | None) -> dict:
    from .contacts import SORTS

    errors: dict = {}
    out: dict = {}
    unknown = set(data) - {"name", "team_id", "query", "sort", "columns"}
    for name in sorted(unknown):
        errors[name] = "Unknown field."
    if "name" in data or existing is None:
        out["name"] = clean_text(data.get("name"), "name", errors, 100, required=True)
    if "team_id" in data:
        team_id = data["team_id"]
        if team_id in ("", None):
            out["team_id"] = None
        else:
            try:
                team_id = int(team_id)
            except (TypeError, ValueError):
                team_id = -1
            allowed = actor.role == "admin" or team_id in actor.team_ids
            if not 0 < team_id <= MAX_ID or not allowed or db.session.get(Team, team_id) is None:
                errors["team_id"] = "Share with one of your teams, or keep it personal."
            out["team_id"] = team_id
    if "query" in data or existing is None:
        out["query"] = clean_query(data.get("query", ""), errors, actor)
    if "sort" in data or existing is None:
        sort = data.get("sort") or "name"
        if sort not in SORTS and not custom_field_queries.is_sort(sort):
            errors["sort"] = f"Choose one of: {', '.join(SORTS)} or cf_<custom field key> (any kind but long text and multiple choice)."
        out["sort"] = sort
    if "columns" in data or existing is None:
        columns = data.get("columns")
        if columns in (None, "", []):
            columns = list(DEFAULT_COLUMNS)
        if isinstance(columns, str):
            columns = [c for c in columns.split(",") if c]
        keys = column_keys()
        if not isinstance(columns, list) or any(not isinstance(c, str) or c not in keys for c in columns):
            errors["columns"] = f"Choose among: {', '.join(keys)}."
        else:
            out["columns"] = [k for k in keys if k in columns]  # registry order, no repeats
    if errors:
        raise ValidationError(errors)
    return out


def _visible(stmt, actor):
    personal()  # the actor's own views are among them
    if actor.role == "admin":
        return stmt.where(or_(SavedView.owner_id == actor.id, SavedView.team_id.is_not(None)))
    return stmt.where(or_(SavedView.owner_id == actor.id, SavedView.team_id.in_(actor.team_ids or [-1])))


def list_views(actor) -> list[SavedView]:
    """The views ``actor`` may pick: their own and their teams' shared ones, by name."""
    stmt = _visible(select(SavedView), actor).order_by(SavedView.name, SavedView.id).limit(MAX_VIEWS)
    return list(db.session.scalars(stmt))


def get_view(actor, view_id) -> SavedView:
    try:
        view_id = int(view_id)
    except (TypeError, ValueError):
        raise NotFound("No such saved view.") from None
    view = db.session.get(SavedView, view_id) if 0 < view_id <= MAX_ID else None
    personal()  # whether it is the actor's own decides
    if view is None or not (
        view.owner_id == actor.id or (view.team_id is not None and (actor.role == "admin" or view.team_id in actor.team_ids))
    ):
        raise NotFound("No such saved view.")
    return view


def may_change(actor, view: SavedView) -> bool:
    personal()
    if view.owner_id == actor.id or actor.role == "admin":
        return True
    return actor.role == "manager" and view.team_id is not None and view.team_id in actor.team_ids


def _require_change(actor, view: SavedView) -> None:
    if not may_change(actor, view):
        raise PermissionDenied("Only its owner or a manager of its team may change this view.")


def _audited(view: SavedView) -> dict:
    return {"name": view.name, "team_id": view.team_id, "query": view.query, "sort": view.sort, "columns": view.columns}


def create_view(actor, data: dict) -> SavedView:
    values = _clean(actor, data, None)
    with transaction():
        view = SavedView(owner_id=actor.id, **values)
        db.session.add(view)
        db.session.flush()
        audit.record(actor, "created", "saved_view", view.id, {k: (None, v) for k, v in _audited(view).items()})
    return view


def update_view(actor, view_id, data: dict) -> SavedView:
    with transaction():
        view = get_view(actor, view_id)
        _require_change(actor, view)
        values = _clean(actor, data, view)
        before = _audited(view)
        for name, value in values.items():
            setattr(view, name, value)
        changes = {k: (before[k], v) for k, v in _audited(view).items() if before[k] != v}
        if changes:
            audit.record(actor, "updated", "saved_view", view.id, changes)
    return view


def delete_view(actor, view_id) -> None:
    with transaction():
        view = get_view(actor, view_id)
        _require_change(actor, view)
        audit.record(actor, "deleted", "saved_view", view.id, {k: (v, None) for k, v in _audited(view).items()})
        db.session.delete(view)


def query_pairs(view: SavedView) -> list[tuple[str, str]]:
    return parse_qsl(view.query or "")
