"""Schemas of /api/v1/tags, /api/v1/groups and /api/v1/categories."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..services.tags import PALETTE
from .schemas import StrictSchema, UtcDateTime, _id, _text


class TagSchema(ma.Schema):
    id = fields.Integer(dump_only=True, metadata={"description": "Identifier.", "example": 5})
    name = fields.String(metadata={"description": "Name (unique, case-insensitively).", "example": "vip"})
    color = fields.String(metadata={"description": f"Colour key: one of {', '.join(PALETTE)}.", "example": "blue"})


class TagInSchema(StrictSchema):
    name = _text("Name; unique regardless of case; no commas.", "vip", 50)
    color = fields.String(validate=validate.OneOf(list(PALETTE)),
                          metadata={"description": "Colour key; default: one picked for the name.", "example": "blue"})


class TagPatchSchema(TagInSchema):
    """The fields to change."""


class TagQuerySchema(StrictSchema):
    q = _text("Only tags whose name starts with this.", "vi", 50, load_default="")
    cursor = _text("The next_cursor of the previous page.", "WyJ2aXAiLDVd", 1000, load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                           metadata={"description": "Page size.", "example": 50})


class TagPageSchema(ma.Schema):
    items = fields.List(fields.Nested(TagSchema), metadata={"description": "One page of tags, by name."})
    next_cursor = fields.String(allow_none=True, metadata={"description": "Cursor of the next page, or null.",
                                                           "example": None})


class GroupSchema(ma.Schema):
    id = fields.Integer(dump_only=True, metadata={"description": "Identifier.", "example": 3})
    name = fields.String(metadata={"description": "Name, unique within its team.", "example": "Board"})
    description = fields.String(metadata={"description": "Free text.", "example": ""})
    owner_team_id = fields.Integer(metadata={"description": "The team that owns the group.", "example": 1})
    created_at = UtcDateTime(dump_only=True, metadata={"description": "Creation time (UTC).",
                                                       "example": "2026-01-31T09:30:00+00:00"})


class GroupInSchema(StrictSchema):
    name = _text("Name, unique within its team.", "Board", 200)
    description = _text("Free text.", "", 2000)
    owner_team_id = _id("A team you can write to; default: your first team.", 1)


class GroupPatchSchema(GroupInSchema):
    """The fields to change."""


class PageQuerySchema(StrictSchema):
    cursor = _text("The next_cursor of the previous page.", "WyJib2FyZCIsM10", 1000, load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200),
                           metadata={"description": "Page size.", "example": 50})


class GroupPageSchema(ma.Schema):
    items = fields.List(fields.Nested(GroupSchema), metadata={"description": "One page of groups, by name."})
    next_cursor = fields.String(allow_none=True, metadata={"description": "Cursor of the next page, or null.",
                                                           "example": None})


class MemberSchema(ma.Schema):
    contact_id = fields.Integer(metadata={"description": "The contact.", "example": 42})
    full_name = fields.Function(lambda m: m.contact.full_name, metadata={"description": "Its name.",
                                                                          "example": "Ada Lovelace", "type": "string"})
    added_at = UtcDateTime(metadata={"description": "When it was added (UTC).", "example": "2026-02-01T10:00:00+00:00"})


class MemberPageSchema(ma.Schema):
    items = fields.List(fields.Nested(MemberSchema), metadata={"description": "Members, most recently added first."})
    next_cursor = fields.String(allow_none=True, metadata={"description": "Cursor of the next page, or null.",
                                                           "example": None})


class MemberInSchema(StrictSchema):
    contact_id = _id("A contact you may edit.", 42, required=True)


class CategorySchema(ma.Schema):
    id = fields.Integer(dump_only=True, metadata={"description": "Identifier.", "example": 2})
    name = fields.String(metadata={"description": "Name.", "example": "Suppliers"})
    parent_id = fields.Integer(allow_none=True, metadata={"description": "Parent category, or null.", "example": None})
    position = fields.Integer(metadata={"description": "Order among its siblings.", "example": 0})


class CategoryTreeItemSchema(CategorySchema):
    depth = fields.Integer(metadata={"description": "0 for a top-level category.", "example": 0})


class CategoryListSchema(ma.Schema):
    items = fields.List(fields.Nested(CategoryTreeItemSchema),
                        metadata={"description": "Every category, parents before their children."})


class CategoryInSchema(StrictSchema):
    name = _text("Name, unique among its siblings.", "Suppliers", 100)
    parent_id = _id("Parent category; null for top level. Moving moves the whole subtree; cycles are refused.",
                    1, allow_none=True)
    position = fields.Integer(validate=validate.Range(min=-1_000_000, max=1_000_000),
                              metadata={"description": "Order among its siblings.", "example": 0})


class CategoryPatchSchema(CategoryInSchema):
    """The fields to change."""
