"""Schemas of the duplicates and merge API (and the look-alikes a contact POST answers with)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..services.merges import CHOICE_FIELDS
from .schemas import ContactSchema, StrictSchema, UtcDateTime, _id, _text


class ContactBriefSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "The contact's id.", "example": 42})
    name = fields.Function(lambda c: c.full_name, metadata={"description": "Its name.", "example": "Ada Lovelace"})
    email = fields.String(allow_none=True, metadata={"description": "Its email address.", "example": "ada@example.org"})
    deleted = fields.Function(lambda c: c.deleted_at is not None,
                              metadata={"description": "In the trash (a merged-away contact is).", "example": False})


class SimilarSchema(ma.Schema):
    """An existing contact that looks like the one just created."""

    contact = fields.Nested(ContactBriefSchema, metadata={"description": "The existing contact."})
    reasons = fields.List(fields.String(), metadata={"description": "email, phone and/or name.", "example": ["phone"]})
    score = fields.Integer(metadata={"description": "How alike, 0-100.", "example": 90})


class ContactCreatedSchema(ContactSchema):
    possible_duplicates = fields.List(
        fields.Nested(SimilarSchema),
        metadata={"description": "Existing contacts you may see that look like this one (same phone, or a close name "
                                 "at the same organization), best first; empty when none. Merge them with "
                                 "POST /contacts/{id}/merge, or ignore."},
    )


class MergeInSchema(StrictSchema):
    source_id = _id("The contact to merge into this one; it goes to the trash.", 43, required=True)
    fields = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CHOICE_FIELDS)),
        values=fields.String(validate=validate.OneOf(["target", "source"])),
        load_default=dict,
        metadata={"description": "Per field, whose value the survivor keeps: \"target\" (this contact) or \"source\". "
                                 "Fields left out keep this contact's value, or the source's when this one is empty.",
                  "example": {"email": "source", "phone": "target"}},
    )


class MergeSchema(ma.Schema):
    """A merge, with what is needed to undo it."""

    id = fields.Integer(metadata={"description": "Identifier.", "example": 5})
    target = fields.Nested(ContactBriefSchema, metadata={"description": "The contact that was kept."})
    source = fields.Nested(ContactBriefSchema, metadata={"description": "The contact merged into it."})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "Who merged.", "example": 2})
    created_at = UtcDateTime(metadata={"description": "When (UTC)."})
    choices = fields.Function(lambda m: m.after.get("choices", {}),
                              metadata={"description": "Whose value the survivor kept, per field."})
    notes = fields.Function(lambda m: m.after.get("notes", []), metadata={
        "description": "What the merge could not do as chosen, and why (e.g. a manager that would make a cycle).",
        "example": ["Reports to: Ada keeps no manager, not Ada K.'s (Bea): Bea already reports to Ada; "
                    "Ada cannot report to Bea."]})
    before = fields.Dict(metadata={"description": "Both contacts' fields before the merge."})
    plugins = fields.Function(lambda m: sorted(m.undo or {}),
                              metadata={"description": "The plugins that moved records.", "example": ["collaboration"]})
    undone_at = UtcDateTime(allow_none=True, metadata={"description": "When it was undone (UTC); null if not."})


class PageQuerySchema(StrictSchema):
    cursor = _text("The next_cursor of the previous page.", "WzkwLDEyXQ", 1000, load_default=None)
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200),
                           metadata={"description": "Page size.", "example": 25})


class MergeQuerySchema(PageQuerySchema):
    contact_id = _id("Only merges of this contact (kept or merged in).", 42, strict=False, load_default=None)


def _next_cursor():
    return fields.String(allow_none=True, metadata={"description": "Pass as `cursor` for the next page; null on the last."})


class MergePageSchema(ma.Schema):
    items = fields.List(fields.Nested(MergeSchema), metadata={"description": "Merges, newest first."})
    next_cursor = _next_cursor()


class PairSchema(ma.Schema):
    """Two contacts the duplicate scan found alike."""

    id = fields.Integer(metadata={"description": "Identifier.", "example": 12})
    a = fields.Nested(ContactBriefSchema, metadata={"description": "One contact (the lower id)."})
    b = fields.Nested(ContactBriefSchema, metadata={"description": "The other."})
    score = fields.Integer(metadata={"description": "How alike, 0-100.", "example": 95})
    reasons = fields.List(fields.String(), metadata={"description": "email, phone and/or name.", "example": ["name"]})
    status = fields.String(metadata={"description": "open, dismissed or merged.", "example": "open"})


class PairPageSchema(ma.Schema):
    items = fields.List(fields.Nested(PairSchema), metadata={"description": "Open pairs, most alike first."})
    next_cursor = _next_cursor()
