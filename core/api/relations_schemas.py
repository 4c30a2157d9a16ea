"""Schemas of the relationships API (kept apart from schemas.py, which holds the core records')."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from .schemas import StrictSchema, UtcDateTime, _id, _text


def _date(description: str, example: str) -> fields.Date:
    return fields.Date(allow_none=True, metadata={"description": description, "example": example})


class RelationshipTypeSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "Identifier.", "example": 1})
    name = fields.String(metadata={"description": "Read from the contact that holds it.", "example": "manager of"})
    inverse_label = fields.String(metadata={"description": "Read from the other side.", "example": "reports to"})
    target_kind = fields.String(
        metadata={"description": "What the other side is: contact or organization.", "example": "contact"}
    )
    symmetric = fields.Boolean(metadata={"description": "Name and inverse are the same.", "example": False})
    active = fields.Boolean(metadata={"description": "Archived types (false) are no longer offered.", "example": True})


class RelationshipTypeListSchema(ma.Schema):
    items = fields.List(fields.Nested(RelationshipTypeSchema), metadata={"description": "The types, in display order."})


class RelationshipTypeQuerySchema(StrictSchema):
    all = fields.Boolean(load_default=False, metadata={"description": "Include archived types.", "example": False})


class RelationshipSchema(ma.Schema):
    """A relationship as stored: ``contact_id`` is ``type_name`` of the other side."""

    id = fields.Integer(metadata={"description": "Identifier.", "example": 5})
    type_id = fields.Integer(metadata={"description": "The relationship type.", "example": 1})
    type_name = fields.Function(lambda r: r.type.name, metadata={
        "description": "The type's name, read from contact_id.", "example": "manager of", "type": "string"})
    inverse_label = fields.Function(lambda r: r.type.inverse_label, metadata={
        "description": "The type's inverse, read from the other side.", "example": "reports to", "type": "string"})
    contact_id = fields.Integer(metadata={"description": "The contact that holds the relationship.", "example": 42})
    other_contact_id = fields.Integer(allow_none=True, metadata={"description": "The other contact.", "example": 43})
    organization_id = fields.Integer(allow_none=True, metadata={"description": "Or the organization.", "example": None})
    start_date = _date("Since when, or null.", "2024-01-01")
    end_date = _date("Until when, or null.", None)
    note = fields.String(metadata={"description": "Free text.", "example": "Since the reorganization."})
    created_at = UtcDateTime(metadata={"description": "Creation time (UTC).", "example": "2026-01-31T09:30:00+00:00"})
    updated_at = UtcDateTime(metadata={"description": "Last change (UTC).", "example": "2026-02-01T10:00:00+00:00"})


class RelationshipSideSchema(ma.Schema):
    """A relationship as seen from one contact: ``label`` reads "<this contact> <label> <other>"."""

    id = fields.Function(lambda s: s.relationship.id, metadata={
        "description": "The relationship's id.", "example": 5, "type": "integer"})
    type_id = fields.Function(lambda s: s.relationship.type_id, metadata={
        "description": "The relationship type.", "example": 1, "type": "integer"})
    label = fields.String(metadata={"description": "The label from this contact's side.", "example": "reports to"})
    direction = fields.String(metadata={
        "description": "forward: this contact holds the relationship; inverse: the other side does.",
        "example": "inverse"})
    other_kind = fields.String(metadata={"description": "contact or organization.", "example": "contact"})
    other_id = fields.Function(lambda s: s.other.id, metadata={
        "description": "The other contact's or organization's id.", "example": 43, "type": "integer"})
    other_name = fields.Function(lambda s: s.other.full_name if s.other_kind == "contact" else s.other.name, metadata={
        "description": "Its name.", "example": "Ada Lovelace", "type": "string"})
    start_date = fields.Function(lambda s: s.relationship.start_date.isoformat() if s.relationship.start_date else None,
                                 metadata={"description": "Since when, or null.", "example": "2024-01-01",
                                           "type": ["string", "null"], "format": "date"})
    end_date = fields.Function(lambda s: s.relationship.end_date.isoformat() if s.relationship.end_date else None,
                               metadata={"description": "Until when, or null.", "example": None,
                                         "type": ["string", "null"], "format": "date"})
    note = fields.Function(lambda s: s.relationship.note, metadata={
        "description": "Free text.", "example": "", "type": "string"})


class RelationshipSideListSchema(ma.Schema):
    items = fields.List(fields.Nested(RelationshipSideSchema), metadata={
        "description": "The contact's relationships from both sides (at most 500), by label."})


class RelationshipInSchema(StrictSchema):
    type_id = _id("The relationship type (see /relationship-types).", 1, required=True)
    other_contact_id = _id("The other contact, for a contact–contact type.", 43, allow_none=True)
    organization_id = _id("The organization, for a contact–organization type.", 7, allow_none=True)
    inverse = fields.Boolean(load_default=False, metadata={
        "description": "Store it the other way round: this contact is the type's inverse "
                       "(\"reports to\") of the other contact.", "example": False})
    start_date = _date("Since when, or null.", "2024-01-01")
    end_date = _date("Until when (not before start_date), or null.", None)
    note = _text("Free text.", "Since the reorganization.", 2000)


class RelationshipPatchSchema(StrictSchema):
    type_id = _id("Another type of the same kind.", 1)
    start_date = _date("Since when, or null.", "2024-01-01")
    end_date = _date("Until when (not before start_date), or null.", None)
    note = _text("Free text.", "Since the reorganization.", 2000)
