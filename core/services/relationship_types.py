"""Relationship types: admin-defined, with an inverse label; archived (inactive) types are no longer
offered but the relationships that use them keep them."""

from __future__ import annotations

from sqlalchemy import func, select

from ..database import transaction
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import MAX_ID, RelationshipType
from ..models.relations import DEFAULT_TYPES, TARGET_KINDS
from ..policy import require
from . import audit
from .fields import clean_text

FIELDS = ("name", "inverse_label", "target_kind", "active")


def list_types(*, kind: str | None = None, include_inactive: bool = False) -> list[RelationshipType]:
    stmt = select(RelationshipType)
    if kind is not None:
        stmt = stmt.where(RelationshipType.target_kind == kind)
    if not include_inactive:
        stmt = stmt.where(RelationshipType.active.is_(True))
    return list(db.session.scalars(stmt.order_by(RelationshipType.target_kind, RelationshipType.position,
                                                 RelationshipType.name)))


def get_type(type_id: int) -> RelationshipType:
    rtype = db.session.get(RelationshipType, type_id) if 0 < type_id <= MAX_ID else None
    if rtype is None:
        raise NotFound("No such relationship type.")
    return rtype


def _clean(data: dict, existing: RelationshipType | None) -> dict:
    errors: dict = {}
    out: dict = {}
    for name in sorted(set(data) - set(FIELDS)):
        errors[name] = "Unknown field."
    if "name" in data or existing is None:
        out["name"] = clean_text(data.get("name"), "name", errors, 100, required=True).lower()
    if "inverse_label" in data or existing is None:
        inverse = clean_text(data.get("inverse_label"), "inverse_label", errors, 100)
        out["inverse_label"] = (inverse or out.get("name", "")).lower()  # empty: symmetric
    if existing is None:
        kind = data.get("target_kind") or "contact"
        if kind not in TARGET_KINDS:
            errors["target_kind"] = "Choose contact or organization."
        out["target_kind"] = kind
    elif "target_kind" in data and data["target_kind"] != existing.target_kind:
        errors["target_kind"] = "The kind of a type in use cannot change; add a new type instead."
    if "active" in data:
        value = data["active"]
        if value in (True, "1", "true", "on"):
            out["active"] = True
        elif value in (False, None, "", "0", "false", "off"):
            out["active"] = False
        else:  # a typo must not archive the type
            errors["active"] = "Give true or false."
    kind = out.get("target_kind", existing.target_kind if existing else "contact")
    name = out.get("name")
    if name and "name" not in errors:
        clash = select(RelationshipType.id).where(RelationshipType.target_kind == kind, RelationshipType.name == name)
        if existing is not None:
            clash = clash.where(RelationshipType.id != existing.id)
        if db.session.scalar(clash):
            errors["name"] = f"The type “{name}” already exists."
    if errors:
        raise ValidationError(errors)
    return out


def create_type(actor, data: dict) -> RelationshipType:
    require(actor, "admin.relationship_types")
    with transaction():
        values = _clean(data, None)
        position = (db.session.scalar(select(func.max(RelationshipType.position))) or 0) + 1
        rtype = RelationshipType(position=position, active=values.pop("active", True), **values)
        db.session.add(rtype)
        db.session.flush()
        audit.record(actor, "created", "relationship_type", rtype.id,
                     {k: (None, getattr(rtype, k)) for k in ("name", "inverse_label", "target_kind")})
    return rtype


def update_type(actor, type_id: int, data: dict) -> RelationshipType:
    require(actor, "admin.relationship_types")
    with transaction():
        rtype = get_type(type_id)
        values = _clean(data, rtype)
        changes = {}
        for name, value in values.items():
            if getattr(rtype, name) != value:
                changes[name] = (getattr(rtype, name), value)
                setattr(rtype, name, value)
        if changes:
            audit.record(actor, "updated", "relationship_type", rtype.id, changes)
    return rtype


def ensure_defaults() -> None:
    """Seed the default types on a new database (idempotent: only when there are none)."""
    with transaction():
        if db.session.scalar(select(func.count()).select_from(RelationshipType)):
            return
        for position, (kind, name, inverse) in enumerate(DEFAULT_TYPES):
            db.session.add(RelationshipType(name=name, inverse_label=inverse, target_kind=kind, position=position))
