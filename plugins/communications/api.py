"""JSON API: a contact's communications under /api/v1 (token auth, no cookies, no CSRF).

flask-smorest blueprints, so the core adds them to the OpenAPI document (only while the plugin is
enabled), exempts them from CSRF and answers 401 JSON without a token. Input schemas check shape
and type; the rules about values live in the services and come back as 422 naming the field.

The plugin's errors keep their flat shape: ``{"code", "status", "message", "errors": {field: [msgs]}}``
(the core nests ``errors`` by location); ``install_errors`` turns webargs' and the services'
errors into it for the plugin's blueprints only. This module also holds what api_send.py and
api_prefs.py share.
"""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from core.access import login_required
from core.api.errors import documented as core_documented
from core.api.errors import error_response, http_error
from core.errors import Conflict, ServiceError, ValidationError
from core.models import MAX_ID

from . import services

bp = Blueprint(
    "communications_api",
    __name__,
    url_prefix="/api/v1/contacts",
    description=(
        "Communications with contacts: timelines and logging, sending and scheduling, templates, channels, "
        "consent and preferences."
    ),
)

ID = f"int(max={MAX_ID})"  # ids are 32-bit on PostgreSQL: a larger one is a 404 from the router
TAGS = ["communications"]


# --- shared schemas ------------------------------------------------------------------------------------


class StrictSchema(ma.Schema):
    """Unknown fields are an error (422 naming the field), like the core API."""

    class Meta:
        unknown = RAISE


def text(description: str, example=None, **kwargs) -> fields.String:
    """An optional string input (null is the same as leaving it out); the services check the value."""
    kwargs.setdefault("allow_none", True)
    return fields.String(metadata={"description": description, "example": example}, **kwargs)


def out_text(description: str, example=None, nullable: bool = False) -> fields.String:
    return fields.String(allow_none=nullable, metadata={"description": description, "example": example})


def out_int(description: str, example=None, nullable: bool = False) -> fields.Integer:
    return fields.Integer(allow_none=nullable, metadata={"description": description, "example": example})


def out_time(description: str, nullable: bool = False) -> fields.String:
    """Times go out as naive UTC ISO 8601 strings (``2026-02-03T08:00:00``), as the services store them."""
    return fields.String(
        allow_none=nullable,
        metadata={"description": description + " (UTC, no offset)", "example": "2026-02-03T08:00:00"},
    )


def limit_field(default: int) -> fields.Integer:
    return fields.Integer(
        load_default=default,
        validate=validate.Range(min=1, max=200, error="Between 1 and 200."),
        error_messages={"invalid": "Must be a number."},
        metadata={"description": "Page size (1 to 200).", "example": default},
    )


def cursor_field() -> fields.String:
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=1000),
        metadata={"description": "The next_cursor of the previous page.", "example": None},
    )


def next_cursor_field() -> fields.String:
    return fields.String(
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page.", "example": None},
    )


class CommunicationsErrorSchema(ma.Schema):
    """An error of the communications API: ``errors`` maps each field to its messages (no location)."""

    def __deepcopy__(self, memo):
        return self  # shared by the copies of the OpenAPI documentation, as core's ErrorSchema

    code = fields.Integer(metadata={"description": "The HTTP status code.", "example": 422})
    status = fields.String(metadata={"description": "The HTTP status name.", "example": "Unprocessable Entity"})
    message = fields.String(
        metadata={"description": "What went wrong, for people.", "example": "Please correct the highlighted fields."}
    )
    errors = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": 'Messages by field: {"subject": ["..."]}; "json" when the body is not a JSON object.',
            "example": {"subject": ["An email needs a subject."]},
        },
    )


class CommunicationsConflictSchema(CommunicationsErrorSchema):
    """409: the record changed since you read it, or the action does not fit its state any more."""

    changes = fields.Dict(
        keys=fields.String(),
        metadata={"description": "Fields whose stored value differs from what you last read: the stored value."},
    )


DESCRIPTIONS = {
    401: "No valid API token: send `Authorization: Bearer <token>`.",
    403: "You may see this record but not change it (viewers are read-only).",
    404: "No such record, or it belongs to a team you are not in.",
    409: "The record changed since you read it, or the action does not fit its status any more.",
    422: 'A field is invalid; `errors` names each field with its messages ("json": the body is not an object).',
}


ERROR_SCHEMA = CommunicationsErrorSchema()
CONFLICT_SCHEMA = CommunicationsConflictSchema()


def documented(blueprint: Blueprint, *codes: int):
    """Declare the error answers of an operation in the OpenAPI document."""
    return core_documented(blueprint, *codes, descriptions=DESCRIPTIONS, error=ERROR_SCHEMA, conflict=CONFLICT_SCHEMA)


# --- errors ---------------------------------------------------------------------------------------------


def _plain(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _service_error(exc: ServiceError):
    if isinstance(exc, ValidationError):
        return error_response(422, exc.message, exc.errors)
    if isinstance(exc, Conflict):
        changes = {k: _plain(v) for k, v in exc.changes.items()}
        return error_response(409, exc.message, None, changes=changes)
    return error_response(exc.status, exc.message or None)


def _flat(messages) -> dict:
    """webargs' ``{location: {field: [msgs]}}`` as ``{field: [msgs]}``; a body that is not an object is "json"."""
    out: dict = {}
    for location, by_field in (messages or {}).items():
        if not isinstance(by_field, dict):
            out[location] = by_field if isinstance(by_field, list) else [str(by_field)]
            continue
        for name, msgs in by_field.items():
            out[location if name == "_schema" else str(name)] = msgs
    return out


def _unprocessable(error):
    data = getattr(error, "data", None) or {}
    if "messages" not in data:
        return http_error(error)
    return error_response(422, "Please correct the highlighted fields.", _flat(data["messages"]))


def _bad_request(error):
    data = getattr(error, "data", None) or {}
    if "json" in (data.get("messages") or {}):  # webargs: the body is not JSON
        return error_response(422, "Please correct the highlighted fields.", {"json": ["Send a JSON object."]})
    return http_error(error)


def install_errors(blueprint: Blueprint) -> None:
    """The plugin's flat JSON errors, for this blueprint's views only."""
    blueprint.register_error_handler(ServiceError, _service_error)
    blueprint.register_error_handler(422, _unprocessable)
    blueprint.register_error_handler(400, _bad_request)


install_errors(bp)


def actor():
    return current_user._get_current_object()


def iso(value):
    return value.isoformat() if value is not None else None


# --- a contact's communications ---------------------------------------------------------------------------


class LoggedSchema(ma.Schema):
    """A communication on a contact's timeline."""

    id = out_int("Identifier.", 12)
    contact_id = out_int("The contact.", 42)
    type = out_text("The channel: call, email, meeting, sms, letter, chat, ...", "call")
    direction = out_text("inbound or outbound.", "outbound")
    status = out_text("logged, draft, scheduled, sending, sent, failed, cancelled, ...", "logged")
    subject = out_text("Subject or summary.", "Follow-up call")
    content = out_text("Notes or message body.", "Discussed the offer.")
    scheduled_at = out_time("When it happened or is due")
    created_at = out_time("When it was recorded")
    created_by_id = out_int("The user who recorded it.", 3, nullable=True)


class LoggedPageSchema(ma.Schema):
    items = fields.List(fields.Nested(LoggedSchema), metadata={"description": "One page, newest first."})
    next_cursor = next_cursor_field()


class TimelineQuerySchema(StrictSchema):
    limit = limit_field(20)
    cursor = cursor_field()


class LogInSchema(StrictSchema):
    """A call, email, meeting, ... that happened (or will): it is recorded, not sent."""

    type = text("The channel key (call, email, meeting, sms, letter, chat, ...); required.", "call")
    direction = text("inbound or outbound (default).", "outbound")
    subject = text("Subject or summary.", "Follow-up call")
    content = text("Notes or message body.", "Discussed the offer.")
    when = text("When it happened, ISO 8601 (default: now).", "2026-02-03T08:00:00Z")


def dump(comm) -> dict:
    return {
        "id": comm.id,
        "contact_id": comm.contact_id,
        "type": comm.type,
        "direction": comm.direction,
        "status": comm.status,
        "subject": comm.subject,
        "content": comm.content,
        "scheduled_at": comm.scheduled_at.isoformat(),
        "created_at": comm.created_at.isoformat(),
        "created_by_id": comm.created_by_id,
    }


@bp.route(f"/<{ID}:contact_id>/communications", methods=["GET"], tags=TAGS)
@login_required
@bp.arguments(TimelineQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, LoggedPageSchema)
@documented(bp, 401, 403, 404, 422)
def list_communications(contact_id: int, limit: int, cursor: str | None):
    """List a contact's communications

    Newest first, one page at a time: follow `next_cursor` until it is null.
    """
    page = services.timeline(actor(), contact_id, cursor=cursor or None, limit=limit)
    return {"items": [dump(c) for c in page.items], "next_cursor": page.next_cursor}


@bp.route(f"/<{ID}:contact_id>/communications", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(LogInSchema)
@bp.response(201, LoggedSchema)
@documented(bp, 401, 403, 404, 422)
def create_communication(data: dict, contact_id: int):
    """Log a communication

    Records a call, email, meeting, ... on the contact's timeline; nothing is sent (see
    `/communications/send` to send an email).
    """
    return dump(services.log_communication(actor(), contact_id, data))
