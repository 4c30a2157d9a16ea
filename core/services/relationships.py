"""Typed relationships between a contact and another contact or an organization.

A relationship row reads from ``contact_id``: (Ada, "manager of", Bob). Seen from Bob it is
labelled with the type's inverse ("reports to" Ada). Permissions: reading needs view rights on
both sides; creating, changing or deleting needs edit rights on a contact side and view rights
on the other side. Every change is audited.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, bindparam, or_, select

from ..database import after_commit, transaction
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import MAX_ID, Contact, Organization, Relationship, RelationshipType
from ..plugins import hook
from ..policy import can, require
from . import audit
from .fields import clean_text
from .records import int_or_none

FIELDS = ("type_id", "other_contact_id", "organization_id", "inverse", "start_date", "end_date", "note")
EDITABLE = ("type_id", "start_date", "end_date", "note")
LIST_LIMIT = 500  # relationships shown per contact or organization


@dataclass
class Side:
    """A relationship as seen from one contact (or organization): the label and the other side."""

    relationship: Relationship
    label: str
    other: Contact | Organization
    other_kind: str  # "contact" or "organization"
    direction: str  # "forward": this side is the row's contact; "inverse": the other side is

    @property
    def id(self):
        return self.relationship.id


def _visible(actor, record, kind: str) -> bool:
    return record is not None and record.deleted_at is None and can(actor, f"{kind}.view", record)


def _sides(rel: Relationship) -> tuple[Contact | None, Contact | Organization | None, str]:
    if rel.other_contact_id is not None:
        return db.session.get(Contact, rel.contact_id), db.session.get(Contact, rel.other_contact_id), "contact"
    return db.session.get(Contact, rel.contact_id), db.session.get(Organization, rel.organization_id), "organization"


def may_edit(actor, rel: Relationship) -> bool:
    first, second, kind = _sides(rel)
    if not (_visible(actor, first, "contact") and _visible(actor, second, kind)):
        return False
    return can(actor, "contact.edit", first) or (kind == "contact" and can(actor, "contact.edit", second))


def get_relationship(actor, rel_id: int) -> Relationship:
    rel = db.session.get(Relationship, rel_id) if 0 < rel_id <= MAX_ID else None
    if rel is None:
        raise NotFound("No such relationship.")
    first, second, kind = _sides(rel)
    if not (_visible(actor, first, "contact") and _visible(actor, second, kind)):
        raise NotFound("No such relationship.")
    return rel


def _require_edit(actor, rel: Relationship) -> None:
    if not may_edit(actor, rel):
        raise PermissionDenied("You may not change this relationship: you need edit rights on one of its contacts.")


# --- validation --------------------------------------------------------------------------------


def _date(value, field: str, errors: dict):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None


def _type(value, errors: dict, *, kind: str | None = None, existing_id: int | None = None):
    type_id = int_or_none(value, "type_id", errors)
    if "type_id" in errors:
        return None
    if type_id is None:
        errors["type_id"] = "Choose a relationship type."
        return None
    rtype = db.session.get(RelationshipType, type_id)
    if rtype is None or (not rtype.active and type_id != existing_id):
        errors["type_id"] = "No such relationship type."
        return None
    if kind is not None and rtype.target_kind != kind:
        errors["type_id"] = f"Choose a type for a relationship with an {kind}." if kind == "organization" \
            else "Choose a type for a relationship with a contact."
        return None
    return rtype


def _clean_common(data: dict, errors: dict, out: dict, existing: Relationship | None) -> None:
    if "start_date" in data:
        out["start_date"] = _date(data["start_date"], "start_date", errors)
    if "end_date" in data:
        out["end_date"] = _date(data["end_date"], "end_date", errors)
    if "note" in data:
        out["note"] = clean_text(data["note"], "note", errors, 2000)
    start = out.get("start_date", existing.start_date if existing else None)
    end = out.get("end_date", existing.end_date if existing else None)
    if start and end and end < start and "end_date" not in errors:
        errors["end_date"] = "The end date cannot be before the start date."


def _unknown(data: dict, allowed, errors: dict) -> None:
    for name in sorted(set(data) - set(allowed)):
        errors[name] = "Unknown field."


def _duplicate(rtype: RelationshipType, contact_id: int, other_contact_id, organization_id, exclude=None):
    cond = and_(Relationship.contact_id == contact_id, Relationship.other_contact_id == other_contact_id) \
        if other_contact_id is not None else \
        and_(Relationship.contact_id == contact_id, Relationship.organization_id == organization_id)
    if other_contact_id is not None and rtype.symmetric:
        cond = or_(cond, and_(Relationship.contact_id == other_contact_id, Relationship.other_contact_id == contact_id))
    stmt = select(Relationship.id).where(Relationship.type_id == rtype.id, cond)
    if exclude is not None:
        stmt = stmt.where(Relationship.id != exclude)
    return db.session.scalar(stmt.limit(1))


def contradicted(rtype: RelationshipType, first: int, second: int, start, end) -> bool:
    """Whether (``second``, ``rtype``, ``first``) holds at some time in [start, end] (open ends are
    open): the opposite of (``first``, ``rtype``, ``second``) for an asymmetric contact type. "Ada
    manager of Bob" and "Bob manager of Ada" at once is a contradiction; one after the other is
    history. Longer rings are not checked: admin-defined types need not be a hierarchy ("mentor
    of", "referred by"); the reporting line (hierarchy.py) is one and refuses cycles."""
    if rtype.symmetric or rtype.target_kind != "contact":
        return False
    stmt = select(Relationship.id).where(Relationship.type_id == rtype.id, Relationship.contact_id == second,
                                         Relationship.other_contact_id == first)
    if start is not None:
        stmt = stmt.where(or_(Relationship.end_date.is_(None), Relationship.end_date >= start))
    if end is not None:
        stmt = stmt.where(or_(Relationship.start_date.is_(None), Relationship.start_date <= end))
    return db.session.scalar(stmt.limit(1)) is not None


def _contradiction(rtype: RelationshipType, first: Contact, second: Contact) -> str:
    return (f"{second.full_name} is already {rtype.name} {first.full_name} at that time, so {first.full_name} cannot "
            f"also be {rtype.name} {second.full_name}. End one of them (an end date) before the other starts, "
            "or delete it.")


def _name(record) -> str:
    return record.full_name if isinstance(record, Contact) else record.name


# --- changes --------------------------------------------------------------------------------------


def _snapshot(rel: Relationship) -> dict:
    return {
        "type_id": rel.type_id, "contact_id": rel.contact_id, "other_contact_id": rel.other_contact_id,
        "organization_id": rel.organization_id, "start_date": rel.start_date, "end_date": rel.end_date,
        "note": rel.note,
    }


def _fire(rel_id: int, action: str, actor, changes: dict) -> None:
    after_commit(lambda: hook().contacts_record_changed(
        entity_type="relationship", entity_id=rel_id, action=action, actor=actor, changes=changes))


def create_relationship(actor, contact_id: int, data: dict) -> Relationship:
    """A relationship from ``contact_id``'s page. ``inverse`` (contact types only) stores it the
    other way round: on Bob's page, "reports to" Ada is (Ada, "manager of", Bob)."""
    errors: dict = {}
    _unknown(data, FIELDS, errors)
    with transaction():
        contact = db.session.get(Contact, contact_id) if 0 < contact_id <= MAX_ID else None
        if contact is None or contact.deleted_at is not None:
            raise NotFound("No such contact.")
        require(actor, "contact.view", contact)
        require(actor, "contact.edit", contact)
        kind = "organization" if data.get("organization_id") not in (None, "") else "contact"
        rtype = _type(data.get("type_id"), errors, kind=None)
        if rtype is not None:
            kind = rtype.target_kind
        field = "organization_id" if kind == "organization" else "other_contact_id"
        other_id = int_or_none(data.get(field), field, errors)
        other = None
        if other_id is None and field not in errors:
            errors[field] = "Choose an organization." if kind == "organization" else "Choose a contact."
        elif other_id is not None:
            other = db.session.get(Organization if kind == "organization" else Contact, other_id)
            if kind == "contact" and other_id == contact.id:
                errors[field] = "A contact cannot be related to themselves."
            elif not _visible(actor, other, kind):
                errors[field] = f"No such {kind}."
        inverse = str(data.get("inverse", "")).lower() in ("1", "true", "on", "yes")
        if inverse and rtype is not None and kind == "organization":
            errors["inverse"] = "Relationships with an organization are always read from the contact."
        values: dict = {}
        _clean_common(data, errors, values, None)
        if not errors:
            first, second = (other.id, contact.id) if inverse and kind == "contact" else (contact.id, other_id)
            other_contact = second if kind == "contact" else None
            org_id = other_id if kind == "organization" else None
            if _duplicate(rtype, first, other_contact, org_id):
                label = rtype.inverse_label if inverse else rtype.name
                errors[field] = f"{contact.full_name} already has this relationship: {label} {_name(other)}."
            elif kind == "contact" and contradicted(rtype, first, second, values.get("start_date"),
                                                     values.get("end_date")):
                people = {contact.id: contact, other.id: other}
                errors[field] = _contradiction(rtype, people[first], people[second])
        if errors:
            raise ValidationError(errors)
        rel = Relationship(type_id=rtype.id, contact_id=first, other_contact_id=other_contact, organization_id=org_id,
                           note=values.get("note") or "", start_date=values.get("start_date"),
                           end_date=values.get("end_date"), created_by_id=actor.id)
        db.session.add(rel)
        db.session.flush()
        changes = {k: (None, v) for k, v in _snapshot(rel).items() if v not in (None, "")}
        audit.record(actor, "created", "relationship", rel.id, changes)
        _fire(rel.id, "created", actor, changes)
    return rel


def update_relationship(actor, rel_id: int, data: dict) -> Relationship:
    errors: dict = {}
    _unknown(data, EDITABLE, errors)
    with transaction():
        rel = get_relationship(actor, rel_id)
        _require_edit(actor, rel)
        values: dict = {}
        if "type_id" in data:
            rtype = _type(data["type_id"], errors, kind=rel.type.target_kind, existing_id=rel.type_id)
            if rtype is not None:
                values["type_id"] = rtype.id
                if rtype.id != rel.type_id and _duplicate(rtype, rel.contact_id, rel.other_contact_id,
                                                          rel.organization_id, exclude=rel.id):
                    errors["type_id"] = f"These two are already related as “{rtype.name}”."
        _clean_common(data, errors, values, rel)
        if not errors and rel.other_contact_id is not None and {"type_id", "start_date", "end_date"} & set(values):
            rtype = db.session.get(RelationshipType, values.get("type_id", rel.type_id))
            start, end = values.get("start_date", rel.start_date), values.get("end_date", rel.end_date)
            if contradicted(rtype, rel.contact_id, rel.other_contact_id, start, end):
                field = "type_id" if values.get("type_id", rel.type_id) != rel.type_id else \
                    "end_date" if "end_date" in values else "start_date"
                first, second = (db.session.get(Contact, i) for i in (rel.contact_id, rel.other_contact_id))
                errors[field] = _contradiction(rtype, first, second)
        if errors:
            raise ValidationError(errors)
        changes = {}
        for name, value in values.items():
            if getattr(rel, name) != value:
                changes[name] = (getattr(rel, name), value)
                setattr(rel, name, value)
        if changes:
            db.session.flush()
            audit.record(actor, "updated", "relationship", rel.id, changes)
            _fire(rel.id, "updated", actor, {**changes, "contact_id": (rel.contact_id, rel.contact_id)})
    return rel


def delete_relationship(actor, rel_id: int) -> None:
    with transaction():
        rel = get_relationship(actor, rel_id)
        _require_edit(actor, rel)
        changes = {k: (v, None) for k, v in _snapshot(rel).items() if v not in (None, "")}
        db.session.delete(rel)
        audit.record(actor, "deleted", "relationship", rel_id, changes)
        _fire(rel_id, "deleted", actor, changes)


# --- reading -------------------------------------------------------------------------------------


@functools.cache
def _of_contact(side: str):
    """A contact's relationships on one side (``contact_id`` or ``other_contact_id``): built once."""
    column = getattr(Relationship, side)
    return select(Relationship).where(column == bindparam("contact_id")).order_by(Relationship.id).limit(LIST_LIMIT)


def for_contact(actor, contact: Contact) -> list[Side]:
    """``contact``'s relationships from both sides (up to LIST_LIMIT), with the other side visible."""
    # Two index ranges (one per side) rather than an OR, which may walk the primary key instead.
    rows = [
        rel for side in ("contact_id", "other_contact_id")
        for rel in db.session.scalars(_of_contact(side), {"contact_id": contact.id})
    ][:LIST_LIMIT]
    contact_ids = {r.contact_id for r in rows} | {r.other_contact_id for r in rows if r.other_contact_id}
    org_ids = {r.organization_id for r in rows if r.organization_id}
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))} \
        if contact_ids else {}
    orgs = {o.id: o for o in db.session.scalars(select(Organization).where(Organization.id.in_(org_ids)))} \
        if org_ids else {}
    out = []
    for rel in rows:
        if rel.organization_id is not None:
            other, kind, label, direction = orgs.get(rel.organization_id), "organization", rel.type.name, "forward"
        elif rel.contact_id == contact.id:
            other, kind, label, direction = contacts.get(rel.other_contact_id), "contact", rel.type.name, "forward"
        else:
            other, kind, label, direction = contacts.get(rel.contact_id), "contact", rel.type.inverse_label, "inverse"
        if _visible(actor, other, kind):
            out.append(Side(rel, label, other, kind, direction))
    out.sort(key=lambda s: (s.label, _name(s.other).lower()))
    return out


def for_organization(actor, org: Organization) -> list[Side]:
    """The contacts related to ``org`` (up to LIST_LIMIT), labelled from the organization's side."""
    rows = db.session.scalars(
        select(Relationship).where(Relationship.organization_id == org.id).order_by(Relationship.id).limit(LIST_LIMIT)
    ).all()
    ids = {r.contact_id for r in rows}
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(ids)))} if ids else {}
    out = [Side(r, r.type.inverse_label, contacts[r.contact_id], "contact", "inverse")
           for r in rows if _visible(actor, contacts.get(r.contact_id), "contact")]
    out.sort(key=lambda s: (s.label, s.other.sort_name))
    return out


def side_of(actor, rel: Relationship, contact_id: int | None) -> Side:
    """``rel`` seen from ``contact_id`` (default: from the row's contact)."""
    first, second, kind = _sides(rel)
    if kind == "contact" and contact_id == rel.other_contact_id:
        return Side(rel, rel.type.inverse_label, first, "contact", "inverse")
    return Side(rel, rel.type.name, second, kind, "forward")
