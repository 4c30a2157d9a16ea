"""JSON API for sending: schedule / send now / cancel / reschedule, and a send's status with its
transitions. Under /api/v1 like the rest of the plugin's API (token auth, CSRF-exempt, in the
OpenAPI document); errors are JSON naming the field (see api.py).

A client may pass an ``Idempotency-Key`` header (or ``idempotency_key``): repeating the request
with the same key answers with the send it already made (200) instead of sending twice.
"""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy.orm import selectinload

from core.access import login_required
from core.errors import ValidationError
from core.extensions import db

from . import delivery
from .api import ID, TAGS, StrictSchema, actor, documented, install_errors, iso, out_int, out_text, out_time, text
from .models import Communication, CommunicationEvent
from .services import get_communication

bp = Blueprint(
    "communications_send_api",
    __name__,
    url_prefix="/api/v1",
    description="Sending: schedule, send now, cancel and reschedule emails; a send's status and transitions.",
)
install_errors(bp)

ITEM = f"/communications/<{ID}:comm_id>"


class EventSchema(ma.Schema):
    at = out_time("When the status changed")
    from_ = fields.String(
        data_key="from", attribute="from", allow_none=True,
        metadata={"description": "The status before (null for the first).", "example": None},
    )
    to = out_text("The status after.", "scheduled")
    actor_id = out_int("The user who made the change (null: the system).", 3, nullable=True)
    detail = out_text("Why, or the delivery error.", "")


class SendSchema(ma.Schema):
    """A send (or a logged communication) with its delivery state and transitions."""

    id = out_int("Identifier.", 12)
    contact_id = out_int("The contact.", 42)
    type = out_text("The channel type: email, sms, ...", "email")
    channel = out_text("The channel key it goes through; null for logged entries.", "email", nullable=True)
    direction = out_text("inbound or outbound.", "outbound")
    status = out_text(
        "draft, scheduled, sending, sent, failed, cancelled, blocked, delivered, bounced (logged: logged).",
        "scheduled",
    )
    to = out_text("The recipient address.", "ada@example.org", nullable=True)
    subject = out_text("Subject.", "Hello")
    content = out_text("Message body.", "Dear Ada, ...")
    scheduled_at = out_time("When it is due", nullable=True)
    timezone = out_text("The IANA time zone the due time was entered in.", "Europe/Paris", nullable=True)
    idempotency_key = out_text("The send's idempotency key.", "client0key0000000001", nullable=True)
    attempts = out_int("Delivery attempts so far.", 0)
    next_attempt_at = out_time("When the next retry is due", nullable=True)
    sent_at = out_time("When it was handed to the channel", nullable=True)
    status_changed_at = out_time("The last status change", nullable=True)
    error = out_text("The last delivery error or the reason it was blocked.", None, nullable=True)
    created_by_id = out_int("The user who recorded it.", 3, nullable=True)
    events = fields.List(fields.Nested(EventSchema), metadata={"description": "Status transitions, oldest first."})


class SendInSchema(StrictSchema):
    """What to send, and when; everything but the message is optional."""

    channel = text("Channel key (default email; see /communications/channels).", "email")
    to = text("Recipient (default: the contact's email address or phone); no line breaks.", "ada@example.org")
    subject = text("Subject; needed for email; no line breaks.", "Hello")
    content = text("The message.", "Dear Ada, ...")
    when = text(
        "Due time, ISO 8601; without an offset it is read in `timezone`. Empty: send now.", "2035-06-01T09:00:00Z"
    )
    timezone = text("IANA time zone of `when` (default UTC).", "Europe/Paris")
    idempotency_key = text(
        "16 to 64 letters and digits; the same key answers with the same send. Or the Idempotency-Key header.",
        "client0key0000000001",
    )
    draft = fields.Boolean(
        allow_none=True, metadata={"description": "Only save it (status draft); send or schedule it later.",
                                   "example": False}
    )


class RescheduleSchema(StrictSchema):
    when = text("The new due time, ISO 8601; without an offset it is read in `timezone`.", "2035-06-02T09:00:00")
    timezone = text("IANA time zone of `when` (default UTC).", "UTC")


class NoBodySchema(StrictSchema):
    """No fields: an empty object, or no body at all."""


IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Repeat a request with the same key to get the send it already made (200), not a second one.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{16,64}$"},
}


def dump(comm, events: bool = True) -> dict:
    body = {
        "id": comm.id,
        "contact_id": comm.contact_id,
        "type": comm.type,
        "channel": comm.channel,
        "direction": comm.direction,
        "status": comm.status,
        "to": comm.to_address,
        "subject": comm.subject,
        "content": comm.content,
        "scheduled_at": iso(comm.scheduled_at),
        "timezone": comm.timezone,
        "idempotency_key": comm.idempotency_key,
        "attempts": comm.attempts,
        "next_attempt_at": iso(comm.next_attempt_at),
        "sent_at": iso(comm.sent_at),
        "status_changed_at": iso(comm.status_changed_at),
        "error": comm.last_error,
        "created_by_id": comm.created_by_id,
    }
    if events:
        body["events"] = [
            {"at": iso(e.at), "from": e.old_status, "to": e.new_status, "actor_id": e.actor_id, "detail": e.detail}
            for e in comm.events
        ]
    return body


def _fresh(comm):
    """The send as stored now, with its transitions; the answer names their actors by id, so their
    rows are not read (a user read brings its teams: a statement)."""
    comm_id = comm.id
    db.session.expire_all()
    return db.session.get(Communication, comm_id, populate_existing=True,
                          options=[selectinload(Communication.events).lazyload(CommunicationEvent.actor)])


@bp.route(f"/contacts/<{ID}:contact_id>/communications/send", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(SendInSchema)
@bp.response(201, SendSchema, description="The send, recorded and queued (or sent, blocked, saved as a draft).")
@bp.alt_response(200, schema=SendSchema, description="A send with this idempotency key exists already: that one.")
@bp.doc(parameters=[IDEMPOTENCY_HEADER])
@documented(bp, 401, 403, 404, 409, 422)
def schedule(data: dict, contact_id: int):
    """Send or schedule an email

    Recorded in the same transaction that queues it, then delivered exactly once. A send the
    contact's consent or quiet hours block is recorded as `blocked` with the reason in `error`.
    """
    header = request.headers.get("Idempotency-Key")
    if header is not None:
        if data.get("idempotency_key") not in (None, header):
            raise ValidationError({"idempotency_key": "Differs from the Idempotency-Key header."})
        data = {**data, "idempotency_key": header}
    key = data.get("idempotency_key")
    existing = bool(key) and delivery._by_key(str(key)) is not None
    comm = delivery.schedule(actor(), contact_id, data)
    return dump(_fresh(comm)), 200 if existing else 201


@bp.route(ITEM, methods=["GET"], tags=TAGS)
@login_required
@bp.response(200, SendSchema)
@documented(bp, 401, 403, 404)
def show(comm_id: int):
    """Read a communication with its status transitions"""
    return dump(get_communication(actor(), comm_id))


@bp.route(f"{ITEM}/cancel", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(NoBodySchema)
@bp.response(200, SendSchema)
@documented(bp, 401, 403, 404, 409, 422)
def cancel(_data: dict, comm_id: int):
    """Cancel a scheduled send

    Possible until it is being sent; 409 afterwards.
    """
    return dump(_fresh(delivery.cancel(actor(), comm_id)))


@bp.route(f"{ITEM}/reschedule", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(RescheduleSchema)
@bp.response(200, SendSchema)
@documented(bp, 401, 403, 404, 409, 422)
def reschedule(data: dict, comm_id: int):
    """Move a scheduled (or failed) send to a new time"""
    return dump(_fresh(delivery.reschedule(actor(), comm_id, data)))


@bp.route(f"{ITEM}/send-now", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(NoBodySchema)
@bp.response(200, SendSchema)
@documented(bp, 401, 403, 404, 409, 422)
def send_now(_data: dict, comm_id: int):
    """Send a scheduled or draft send now"""
    return dump(_fresh(delivery.send_now(actor(), comm_id)))
