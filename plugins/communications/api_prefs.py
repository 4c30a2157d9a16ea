"""JSON API for templates, channels, consent and preferences, and the global list, under /api/v1
(token auth, no CSRF, in the OpenAPI document). Errors are JSON naming the field (see api.py).
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from core.access import login_required
from core.models import MAX_ID

from . import preferences, services, templating
from .api import (
    ID,
    TAGS,
    StrictSchema,
    actor,
    cursor_field,
    documented,
    install_errors,
    iso,
    limit_field,
    next_cursor_field,
    out_int,
    out_text,
    out_time,
    text,
)

bp = Blueprint(
    "communications_prefs_api",
    __name__,
    url_prefix="/api/v1",
    description="Communications: the global list, channels, message templates, consent and preferences.",
)
install_errors(bp)

TEMPLATE = f"/communications/templates/<{ID}:template_id>"
CONTACT = f"/contacts/<{ID}:contact_id>"


def _id_field(description: str, example: int = 1, **kwargs) -> fields.Integer:
    return fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        error_messages={"invalid": "Must be a whole number."},
        metadata={"description": description, "example": example},
        **kwargs,
    )


def _version_field(description: str, **kwargs) -> fields.Integer:
    return fields.Integer(
        validate=validate.Range(min=0, max=MAX_ID),
        error_messages={"invalid": "Must be a whole number."},
        metadata={"description": description, "example": 1},
        **kwargs,
    )


# --- schemas ---------------------------------------------------------------------------------------------


class ListedSchema(ma.Schema):
    id = out_int("Identifier.", 12)
    contact_id = out_int("The contact.", 42)
    type = out_text("The channel type: call, email, meeting, ...", "email")
    channel = out_text("The channel key a send goes through; null for logged entries.", "email", nullable=True)
    direction = out_text("inbound or outbound.", "outbound")
    status = out_text("logged, draft, scheduled, sending, sent, failed, ...", "scheduled")
    subject = out_text("Subject or summary.", "Hello")
    scheduled_at = out_time("When it happened or is due", nullable=True)
    created_by_id = out_int("The user who recorded it.", 3, nullable=True)


class ListedPageSchema(ma.Schema):
    items = fields.List(fields.Nested(ListedSchema), metadata={"description": "One page, newest first."})
    next_cursor = next_cursor_field()


class ListQuerySchema(StrictSchema):
    type = text("Only this channel type (call, email, ...).", "email")
    status = text("Only this status.", "scheduled")
    since = text("From this day on (YYYY-MM-DD, UTC).", "2026-01-01")
    until = text("Up to and including this day (YYYY-MM-DD, UTC).", "2026-12-31")
    created_by = text("Only those recorded by this user id (the owner).", "3")
    contact_status = text("Only for contacts with this status key.", "lead")
    team = text("Only for contacts of this team id.", "1")
    limit = limit_field(50)
    cursor = cursor_field()


class ChannelSchema(ma.Schema):
    key = out_text("Channel key.", "email")
    label = out_text("Label shown to people.", "Email")
    address = out_text("What a send is addressed to: email, phone, or null.", "email", nullable=True)
    deliverable = fields.Boolean(metadata={"description": "Whether sends go out (an adapter exists)."})
    delivery = out_text("How sends are delivered.", "written to the local outbox folder")


class ChannelListSchema(ma.Schema):
    items = fields.List(fields.Nested(ChannelSchema), metadata={"description": "Every channel, built in or added."})


class TemplateSchema(ma.Schema):
    id = out_int("Identifier.", 5)
    name = out_text("Name, unique per team.", "Welcome")
    channel = out_text("The channel key it is for.", "email")
    subject = out_text("Subject template.", "Hello {{ contact.first_name }}")
    body = out_text("Body template (Jinja merge fields, sandboxed).", "Dear {{ contact.first_name }}, ...")
    owner_team_id = out_int("The team that owns it.", 1)
    version = out_int("Increases on every change; send it back to PATCH.", 1)
    created_at = out_time("Creation time", nullable=True)
    updated_at = out_time("Last change", nullable=True)


class TemplateListSchema(ma.Schema):
    items = fields.List(fields.Nested(TemplateSchema), metadata={"description": "Templates of your teams."})
    fields_ = fields.List(
        fields.String(), data_key="fields", attribute="fields",
        metadata={"description": "The merge fields a template may use.", "example": ["contact.first_name"]},
    )


class TemplateQuerySchema(StrictSchema):
    channel = text("Only templates for this channel key.", "email")


class TemplateInSchema(StrictSchema):
    name = text("Name, unique per team; required.", "Welcome")
    channel = text("Channel key; required.", "email")
    subject = text("Subject template.", "Hello {{ contact.first_name }}")
    body = text("Body template.", "Dear {{ contact.first_name }}, ...")
    owner_team_id = _id_field("A team you can write to (default: your first team).", allow_none=True)


class TemplatePatchSchema(TemplateInSchema):
    version = _version_field("The version you read (409 if it changed since).", required=True)


class DeleteQuerySchema(StrictSchema):
    version = _version_field("The version you read (409 if it changed since); optional.", load_default=None,
                             allow_none=True)


class PreviewInSchema(StrictSchema):
    contact_id = _id_field("A contact you may see; required.", 42, required=True)
    subject = text("Subject template (default: the saved one).", "Hello {{ contact.first_name }}")
    body = text("Body template (default: the saved one).", "Dear {{ contact.first_name }}")


class RenderedSchema(ma.Schema):
    ok = fields.Boolean(metadata={"description": "True when it may be sent: no errors."})
    subject = out_text("The merged subject (empty on errors).", "Hello Ada")
    body = out_text("The merged body (empty on errors).", "Dear Ada")
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()),
        metadata={"description": "Per template field: syntax errors and unknown merge fields."},
    )
    missing = fields.List(
        fields.String(), metadata={"description": "Known merge fields that are empty for this contact."}
    )


class ConsentStateSchema(ma.Schema):
    channel = out_text("Channel key.", "email")
    status = out_text("opted_in, opted_out or unknown.", "opted_in")
    source = out_text("Where the consent came from.", "signup form")
    changed_at = out_time("When it was last changed", nullable=True)
    changed_by_id = out_int("Who changed it.", 3, nullable=True)


class ConsentListSchema(ma.Schema):
    items = fields.List(fields.Nested(ConsentStateSchema), metadata={"description": "One per channel."})


class ConsentInSchema(StrictSchema):
    channel = text("Channel key; required.", "email")
    status = text("opted_in, opted_out or unknown; required.", "opted_out")
    source = text("Where it comes from (a form, a call, ...); required.", "phone call")
    note = text("A note for the history.", "Asked to stop newsletters.")


class ConsentChangeSchema(ma.Schema):
    channel = out_text("Channel key.", "email")
    status = out_text("The new status.", "opted_out")
    previous_status = out_text("The status before.", "unknown")
    source = out_text("Where it comes from.", "phone call")
    changed_at = out_time("When", nullable=True)
    changed_by_id = out_int("Who.", 3, nullable=True)


class ConsentHistoryItemSchema(ConsentChangeSchema):
    id = out_int("Identifier.", 9)
    note = out_text("The note.", "")


class ConsentHistorySchema(ma.Schema):
    items = fields.List(fields.Nested(ConsentHistoryItemSchema), metadata={"description": "Newest first."})
    next_cursor = next_cursor_field()


class HistoryQuerySchema(StrictSchema):
    limit = limit_field(50)
    cursor = cursor_field()


class PreferencesSchema(ma.Schema):
    contact_id = out_int("The contact.", 42)
    preferred_channel = out_text("Preferred channel key.", "email", nullable=True)
    quiet_start = out_text("Quiet hours start (HH:MM, contact's zone).", "21:00", nullable=True)
    quiet_end = out_text("Quiet hours end (HH:MM).", "08:00", nullable=True)
    timezone = out_text("The contact's IANA time zone.", "Europe/Paris", nullable=True)
    version = out_int("0 if never saved; send it back to PUT.", 1)


class PreferencesInSchema(StrictSchema):
    preferred_channel = text("Preferred channel key; empty for none.", "email")
    quiet_start = text("Quiet hours start, HH:MM; give both or neither.", "21:00")
    quiet_end = text("Quiet hours end, HH:MM.", "08:00")
    timezone = text("IANA time zone; empty for none.", "Europe/Paris")
    version = _version_field("The version you read (409 if it changed since); optional.", allow_none=True)


# --- dumps ---------------------------------------------------------------------------------------------------


def _time(value):
    return value.strftime("%H:%M") if value is not None else None


def dump_template(tpl) -> dict:
    return {
        "id": tpl.id, "name": tpl.name, "channel": tpl.channel, "subject": tpl.subject, "body": tpl.body,
        "owner_team_id": tpl.owner_team_id, "version": tpl.version,
        "created_at": iso(tpl.created_at), "updated_at": iso(tpl.updated_at),
    }


def dump_rendered(result) -> dict:
    return {"ok": result.ok, "subject": result.subject, "body": result.body, "errors": result.errors,
            "missing": result.missing}


def dump_preferences(prefs) -> dict:
    return {
        "contact_id": prefs.contact_id, "preferred_channel": prefs.preferred_channel,
        "quiet_start": _time(prefs.quiet_start), "quiet_end": _time(prefs.quiet_end),
        "timezone": prefs.timezone, "version": prefs.version or 0,
    }


def dump_communication(comm) -> dict:
    return {
        "id": comm.id, "contact_id": comm.contact_id, "type": comm.type, "channel": getattr(comm, "channel", None),
        "direction": comm.direction, "status": comm.status, "subject": comm.subject,
        "scheduled_at": iso(comm.scheduled_at), "created_by_id": comm.created_by_id,
    }


# --- the global list ---------------------------------------------------------------------------------


@bp.route("/communications", methods=["GET"], tags=TAGS)
@login_required
@bp.arguments(ListQuerySchema, location="query", unknown=RAISE)
@bp.response(200, ListedPageSchema)
@documented(bp, 401, 403, 422)
def list_communications(args: dict):
    """List communications

    Every communication you may see, newest first, filtered as on the global page.
    """
    filters = services.clean_filters({k: v for k, v in args.items() if k in services.LIST_FILTERS})
    page = services.recent(actor(), cursor=args.get("cursor") or None, limit=args["limit"], filters=filters)
    return {"items": [dump_communication(c) for c in page.items], "next_cursor": page.next_cursor}


# --- channels --------------------------------------------------------------------------------------


@bp.route("/communications/channels", methods=["GET"], tags=TAGS)
@login_required
@bp.response(200, ChannelListSchema)
@documented(bp, 401)
def list_channels():
    """List channels

    The built-in channels and those plugins add, with how each is delivered.
    """
    from . import channels

    return {"items": [
        {"key": c.key, "label": c.label, "address": c.address, "deliverable": c.deliverable,
         "delivery": c.describe()}
        for c in channels.registry().values()
    ]}


# --- templates ---------------------------------------------------------------------------------------


@bp.route("/communications/templates", methods=["GET"], tags=TAGS)
@login_required
@bp.arguments(TemplateQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, TemplateListSchema)
@documented(bp, 401, 403, 422)
def list_templates(channel: str | None = None):
    """List message templates

    The templates of your teams, with the merge fields a template may use.
    """
    items = templating.list_templates(actor(), channel=channel or None)
    return {"items": [dump_template(t) for t in items], "fields": list(templating.KNOWN)}


@bp.route("/communications/templates", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(TemplateInSchema)
@bp.response(201, TemplateSchema)
@documented(bp, 401, 403, 422)
def create_template(data: dict):
    """Create a message template"""
    return dump_template(templating.create_template(actor(), data))


@bp.route(TEMPLATE, methods=["GET"], tags=TAGS)
@login_required
@bp.response(200, TemplateSchema)
@documented(bp, 401, 403, 404)
def get_template(template_id: int):
    """Read a message template"""
    return dump_template(templating.get_template(actor(), template_id))


@bp.route(TEMPLATE, methods=["PATCH"], tags=TAGS)
@login_required
@bp.arguments(TemplatePatchSchema)
@bp.response(200, TemplateSchema)
@documented(bp, 401, 403, 404, 409, 422)
def update_template(data: dict, template_id: int):
    """Change a message template

    Send the `version` you read: 409 if someone changed it since.
    """
    version = data.pop("version")
    return dump_template(templating.update_template(actor(), template_id, data, version))


@bp.route(TEMPLATE, methods=["DELETE"], tags=TAGS)
@login_required
@bp.arguments(DeleteQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(204)
@documented(bp, 401, 403, 404, 409, 422)
def delete_template(template_id: int, version: int | None = None):
    """Delete a message template"""
    templating.delete_template(actor(), template_id, version)


@bp.route(f"{TEMPLATE}/preview", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(PreviewInSchema)
@bp.response(200, RenderedSchema)
@documented(bp, 401, 403, 404, 422)
def preview_template(data: dict, template_id: int):
    """Preview a saved template for a contact

    Unknown or empty merge fields are flagged; nothing is sent.
    """
    result = templating.render_preview(actor(), data["contact_id"], template_id=template_id,
                                       subject=data.get("subject"), body=data.get("body"))
    return dump_rendered(result)


@bp.route("/communications/templates/preview", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(PreviewInSchema)
@bp.response(200, RenderedSchema)
@documented(bp, 401, 403, 404, 422)
def preview_source(data: dict):
    """Preview an unsaved template for a contact"""
    result = templating.render_preview(actor(), data["contact_id"], subject=data.get("subject") or "",
                                       body=data.get("body") or "")
    return dump_rendered(result)


# --- consent and preferences -------------------------------------------------------------------------


@bp.route(f"{CONTACT}/consent", methods=["GET"], tags=TAGS)
@login_required
@bp.response(200, ConsentListSchema)
@documented(bp, 401, 403, 404)
def get_consent(contact_id: int):
    """Read a contact's consent per channel"""
    states = preferences.consents(actor(), contact_id)
    return {"items": [
        {"channel": s.channel, "status": s.status, "source": s.source, "changed_at": iso(s.changed_at),
         "changed_by_id": s.changed_by_id}
        for s in states
    ]}


@bp.route(f"{CONTACT}/consent", methods=["PUT", "POST"], tags=TAGS)
@login_required
@bp.arguments(ConsentInSchema)
@bp.response(200, ConsentChangeSchema)
@documented(bp, 401, 403, 404, 409, 422)
def set_consent(data: dict, contact_id: int):
    """Record a contact's consent for a channel

    The change is kept in the consent history with its source, time and author.
    """
    change = preferences.set_consent(actor(), contact_id, data)
    return {"channel": change.channel, "status": change.status, "previous_status": change.previous_status,
            "source": change.source, "changed_at": iso(change.changed_at), "changed_by_id": change.changed_by_id}


@bp.route(f"{CONTACT}/consent/history", methods=["GET"], tags=TAGS)
@login_required
@bp.arguments(HistoryQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, ConsentHistorySchema)
@documented(bp, 401, 403, 404, 422)
def consent_history(contact_id: int, limit: int, cursor: str | None):
    """A contact's consent history, newest first"""
    page = preferences.consent_history(actor(), contact_id, cursor=cursor or None, limit=limit)
    return {"items": [
        {"id": c.id, "channel": c.channel, "previous_status": c.previous_status, "status": c.status,
         "source": c.source, "note": c.note, "changed_at": iso(c.changed_at), "changed_by_id": c.changed_by_id}
        for c in page.items
    ], "next_cursor": page.next_cursor}


@bp.route(f"{CONTACT}/preferences", methods=["GET"], tags=TAGS)
@login_required
@bp.response(200, PreferencesSchema)
@documented(bp, 401, 403, 404)
def get_preferences(contact_id: int):
    """Read a contact's communication preferences"""
    return dump_preferences(preferences.get_preferences(actor(), contact_id))


@bp.route(f"{CONTACT}/preferences", methods=["PUT"], tags=TAGS)
@login_required
@bp.arguments(PreferencesInSchema)
@bp.response(200, PreferencesSchema)
@documented(bp, 401, 403, 404, 409, 422)
def set_preferences(data: dict, contact_id: int):
    """Replace a contact's communication preferences

    Preferred channel and quiet hours in the contact's time zone; `version` guards against lost edits.
    """
    version = data.pop("version", None)
    return dump_preferences(preferences.set_preferences(actor(), contact_id, data, version))
