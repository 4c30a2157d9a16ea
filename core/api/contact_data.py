"""/api/v1: custom field definitions, contact templates, a contact's preferences and status
history (issue 3). Custom field *values* are part of the contact (``custom_fields``)."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..access import login_required
from ..models import MAX_ID
from ..services import contact_templates, custom_fields, preferences, status_history
from .errors import documented
from .schemas import StrictSchema, UtcDateTime, _text

fields_bp = Blueprint("api_custom_fields", __name__, url_prefix="/api/v1/custom-fields",
                      description="Custom field definitions.")
templates_bp = Blueprint("api_contact_templates", __name__, url_prefix="/api/v1/contact-templates",
                         description="Contact templates: presets for new contacts.")
contact_bp = Blueprint("api_contact_data", __name__, url_prefix="/api/v1/contacts",
                       description="A contact's preferences and status history.")
ITEM = f"/<int(max={MAX_ID}):item_id>"
CONTACT = f"/<int(max={MAX_ID}):contact_id>"


def _actor():
    return current_user._get_current_object()


# --- custom field definitions ----------------------------------------------------------------


class CustomFieldSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "Identifier.", "example": 3})
    key = fields.String(metadata={"description": "Stable key: `custom_fields.<key>` on contacts.", "example": "shoe_size"})
    label = fields.String(metadata={"description": "Label shown to people.", "example": "Shoe size"})
    kind = fields.String(metadata={"description": "text, long_text, number, date, boolean, choice, multi_choice, url.",
                                   "example": "number"})
    required = fields.Boolean(metadata={"description": "A value is needed when creating a contact.", "example": False})
    choices = fields.List(fields.String(), metadata={"description": "Options of choice fields.", "example": []})
    position = fields.Integer(metadata={"description": "Display order.", "example": 1})
    archived = fields.Boolean(metadata={"description": "Hidden; values are kept.", "example": False})


class CustomFieldListSchema(ma.Schema):
    items = fields.List(fields.Nested(CustomFieldSchema), metadata={"description": "Fields in display order."})


@fields_bp.route("", methods=["GET"], tags=["custom-fields"])
@login_required
@fields_bp.response(200, CustomFieldListSchema)
@documented(fields_bp, 401)
def list_fields():
    """Custom field definitions (active ones; archived ones are listed with `archived: true`)"""
    return {"items": custom_fields.definitions(include_archived=True)}


# --- contact templates ----------------------------------------------------------------------


class ContactTemplateSchema(ma.Schema):
    id = fields.Integer(dump_only=True, metadata={"description": "Identifier.", "example": 2})
    name = fields.String(metadata={"description": "Name.", "example": "Supplier"})
    type = fields.String(metadata={"description": "Contact type key, or empty.", "example": "supplier"})
    status = fields.String(metadata={"description": "Contact status key, or empty.", "example": "lead"})
    owner_team_id = fields.Integer(allow_none=True, metadata={"description": "Owner team.", "example": 1})
    custom_fields = fields.Dict(attribute="custom", metadata={"description": "Custom field defaults by key.",
                                                                "example": {"shoe_size": 42}})
    tags = fields.List(fields.String(), metadata={"description": "Tag names.", "example": ["vip"]})
    group_ids = fields.List(fields.Integer(), metadata={"description": "Group ids.", "example": [4]})
    stale = fields.Function(lambda t: contact_templates.stale(t), dump_only=True, metadata={
        "description": "What the template still names that no longer exists (a deleted group, a removed choice): "
                       "left out of new contacts; send the fields again without them to drop them.",
        "example": ["group #12"]})
    created_at = UtcDateTime(dump_only=True, metadata={"description": "Created (UTC).",
                                                       "example": "2026-01-31T09:30:00+00:00"})
    updated_at = UtcDateTime(dump_only=True, metadata={"description": "Changed (UTC).",
                                                       "example": "2026-01-31T09:30:00+00:00"})


class ContactTemplateInSchema(StrictSchema):
    name = _text("Name; unique; required on create.", "Supplier", 100)
    type = _text("Contact type key, or empty.", "supplier", 50)
    status = _text("Contact status key, or empty.", "lead", 50)
    owner_team_id = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID),
                                   metadata={"description": "Owner team; null for none.", "example": 1})
    custom_fields = fields.Dict(keys=fields.String(validate=validate.Length(max=40)), values=fields.Raw(allow_none=True),
                                metadata={"description": "Custom field defaults by key, checked like values.",
                                          "example": {"shoe_size": 42}})
    tags = fields.List(fields.String(validate=validate.Length(max=50)), validate=validate.Length(max=50),
                       metadata={"description": "Tag names.", "example": ["vip"]})
    group_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
                            validate=validate.Length(max=100), metadata={"description": "Group ids.", "example": [4]})


class ContactTemplatePatchSchema(ContactTemplateInSchema):
    """The fields to change; the rest stay as they are."""


class ContactTemplateListSchema(ma.Schema):
    items = fields.List(fields.Nested(ContactTemplateSchema), metadata={"description": "Templates by name."})


@templates_bp.route("", methods=["GET"], tags=["contact-templates"])
@login_required
@templates_bp.response(200, ContactTemplateListSchema)
@documented(templates_bp, 401, 403)
def list_templates():
    """Contact templates"""
    return {"items": contact_templates.list_templates(_actor())}


@templates_bp.route("", methods=["POST"], tags=["contact-templates"])
@login_required
@templates_bp.arguments(ContactTemplateInSchema)
@templates_bp.response(201, ContactTemplateSchema)
@documented(templates_bp, 400, 401, 403, 422)
def create_template(data):
    """Create a contact template (administrators and managers)"""
    template = contact_templates.create_template(_actor(), data)
    return template, {"Location": url_for(".get_template", item_id=template.id)}


@templates_bp.route(ITEM, methods=["GET"], tags=["contact-templates"])
@login_required
@templates_bp.response(200, ContactTemplateSchema)
@documented(templates_bp, 401, 403, 404)
def get_template(item_id):
    """Read a contact template"""
    return contact_templates.get_template(_actor(), item_id)


@templates_bp.route(ITEM, methods=["PATCH"], tags=["contact-templates"])
@login_required
@templates_bp.arguments(ContactTemplatePatchSchema(partial=True))
@templates_bp.response(200, ContactTemplateSchema)
@documented(templates_bp, 400, 401, 403, 404, 422)
def update_template(data, item_id):
    """Change a contact template (administrators and managers)"""
    return contact_templates.update_template(_actor(), item_id, data)


@templates_bp.route(ITEM, methods=["DELETE"], tags=["contact-templates"])
@login_required
@templates_bp.response(204, description="Deleted.")
@documented(templates_bp, 401, 403, 404)
def delete_template(item_id):
    """Delete a contact template (administrators and managers)"""
    contact_templates.delete_template(_actor(), item_id)
    return ""


# --- preferences and status history ---------------------------------------------------------


class ContactPreferencesSchema(ma.Schema):
    preferences = fields.Dict(keys=fields.String(), values=fields.String(),
                              metadata={"description": "Set preferences by key (unset ones are left out).",
                                        "example": {"language": "de", "timezone": "Europe/Berlin"}})


class ContactPreferencesInSchema(StrictSchema):
    preferences = fields.Dict(
        required=True, keys=fields.String(validate=validate.Length(max=60)),
        values=fields.String(allow_none=True, validate=validate.Length(max=200)),
        metadata={"description": "Preferences to set; empty or null clears one; others stay.",
                  "example": {"timezone": "Europe/Berlin"}},
    )


class ContactStatusChangeSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "Identifier.", "example": 9})
    from_status = fields.String(allow_none=True, metadata={"description": "Before; null at creation.", "example": "lead"})
    to_status = fields.String(metadata={"description": "After.", "example": "active"})
    reason = fields.String(metadata={"description": "Optional reason.", "example": "Signed the contract"})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "Who changed it.", "example": 3})
    actor_name = fields.String(metadata={"description": "Their name.", "example": "Ada"})
    changed_at = UtcDateTime(metadata={"description": "When (UTC).", "example": "2026-01-31T09:30:00+00:00"})


class ContactStatusHistorySchema(ma.Schema):
    items = fields.List(fields.Nested(ContactStatusChangeSchema), metadata={"description": "Newest first (up to 200)."})


@contact_bp.route(CONTACT + "/contact-preferences", methods=["GET"], tags=["contacts"])
@login_required
@contact_bp.response(200, ContactPreferencesSchema)
@documented(contact_bp, 401, 404)
def get_preferences(contact_id):
    """A contact's preferences (the core's and plugins')"""
    return {"preferences": preferences.get_preferences(_actor(), contact_id)}


@contact_bp.route(CONTACT + "/contact-preferences", methods=["PATCH"], tags=["contacts"])
@login_required
@contact_bp.arguments(ContactPreferencesInSchema)
@contact_bp.response(200, ContactPreferencesSchema)
@documented(contact_bp, 400, 401, 403, 404, 422)
def set_preferences(data, contact_id):
    """Change a contact's preferences"""
    return {"preferences": preferences.set_preferences(_actor(), contact_id, data["preferences"])}


@contact_bp.route(CONTACT + "/status-history", methods=["GET"], tags=["contacts"])
@login_required
@contact_bp.response(200, ContactStatusHistorySchema)
@documented(contact_bp, 401, 404)
def get_status_history(contact_id):
    """A contact's status changes"""
    return {"items": status_history.history(_actor(), contact_id, limit=200)}


BLUEPRINTS = (fields_bp, templates_bp, contact_bp)
TAGS = {
    "custom-fields": "Admin-defined fields on contacts; values are in a contact's `custom_fields`.",
    "contact-templates": "Presets offered when creating a contact.",
}
