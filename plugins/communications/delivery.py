"""Sending: schedule, send now, cancel, reschedule; the outbox worker and its sweeper.

Exactly-once in effect
----------------------
huey does not acknowledge tasks, so the database row is the source of truth (an outbox) and the
huey task is only a wake-up call:

1. ``schedule`` inserts the send (status ``scheduled``, a fresh ``idempotency_key``, its first
   ``communications_events`` row) in one transaction; the task is queued after the commit. A
   lost or failed enqueue loses nothing: the sweeper finds every due row.
2. ``deliver`` *claims* the row with one conditional UPDATE (``status='scheduled' AND due`` or
   ``status='sending' AND claimed_at`` older than the claim TTL) and checks the row count, so of
   any number of tasks and sweepers racing for it exactly one wins; it stores a claim token.
3. The adapter sends. Right before the irreversible step (SMTP end-of-data, the outbox file
   rename) it calls ``handover()``: an UPDATE guarded by the claim token that records
   ``handover_at``. A worker that lost its claim stops there without handing anything over.
4. ``sent`` is recorded with an UPDATE guarded by the claim token.

Where a crash lands, and what happens:

* before 2 commits, or between 2 and 3: nothing reached the receiver (an SMTP server drops a
  message whose end-of-data never came); the row is ``scheduled``, or ``sending`` with an
  expired claim, and the sweeper sends it: one delivery.
* between 3 and 4 (the receiver has the message, the row does not say ``sent``): the sweeper
  resends it, and the resend carries the same Message-ID (``<idempotency key@sender domain>``)
  and ``X-Contacts-Idempotency-Key`` header, so the receiver drops the duplicate; the file
  outbox finds its file by key and writes nothing. The event log says the retry may be a
  duplicate (``handover_at`` was set). One delivery in effect. No protocol can do better with
  plain SMTP: the server cannot be asked whether it already has a message, so the only choices
  for this window are "maybe zero" or "maybe two with one Message-ID"; we take the second.
* after 4: the row is final and no claim can match it.

A live worker never loses its claim mid-send: the claim TTL (10 min) is far above the SMTP
timeout (30 s); the handover check covers a worker that stalled anyway. Failures retry with
exponential backoff (``settings.retry_delay_seconds``) up to ``max_attempts``, then end
``failed`` with the error shown. huey's immediate mode never runs tasks queued for later, so
due and retried sends also rely on the sweeper, a periodic task that runs every minute and at
worker start.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask import current_app
from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError

from core.database import after_commit, transaction
from core.errors import Conflict, NotFound, ValidationError
from core.extensions import db
from core.models import Contact, utcnow
from core.plugins import hook
from core.policy import require
from core.services import audit
from core.services.fields import clean_text, normalize_email

from . import channels, consent, rollup, settings
from .adapters.base import LostClaim, OutgoingMessage, PermanentError
from .models import FINAL_STATUSES, Communication, CommunicationEvent
from .services import MAX_CONTENT, MAX_SUBJECT, _fire, get_communication, get_contact, parse_when

log = logging.getLogger(__name__)

DELIVER_TASK = "communications.deliver"
SWEEP_TASK = "communications.sweep"
FIELDS = ("channel", "to", "subject", "content", "when", "timezone", "idempotency_key", "draft")
KEY_RE = re.compile(r"^[A-Za-z0-9]{16,64}$")
PAST_SLACK = timedelta(minutes=5)
SWEEP_BATCH = 500
SWEEP_MAX = 20_000  # per run; the next run (a minute later) takes the rest


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    return tuple(sorted((available_timezones() | {"UTC"}) - {"localtime", "posixrules", "Factory"}))


# --- input --------------------------------------------------------------------------------------


def _no_line_breaks(data: dict, field: str, errors: dict) -> None:
    value = data.get(field)
    if isinstance(value, str) and ("\r" in value or "\n" in value):
        errors[field] = "Must not contain line breaks."


def clean_when(data: dict, errors: dict, now: datetime) -> tuple[datetime, str]:
    """The due time in naive UTC and the zone it was entered in. A time without an offset is read
    in ``timezone`` (default UTC); empty means now."""
    zone_name = clean_text(data.get("timezone") or "UTC", "timezone", errors, 64)
    if "timezone" not in errors and zone_name not in timezones():
        errors["timezone"] = "Not a known time zone (use e.g. Europe/Paris or UTC)."
    raw = data.get("when")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return now, zone_name
    if isinstance(raw, str) and "timezone" not in errors:
        text = raw.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None:
            raw = parsed.replace(tzinfo=ZoneInfo(zone_name))
    when = parse_when(raw, errors)
    if when is not None and when < now - PAST_SLACK:
        errors["when"] = "This time is in the past; leave it empty to send now."
    return when or now, zone_name


def clean_send(data: dict, contact: Contact, now: datetime) -> dict:
    errors: dict = {}
    for name in sorted(set(data) - set(FIELDS) - {"csrf_token", "action"}):
        errors[name] = "Unknown field."
    for name in ("channel", "to", "subject", "content", "when", "timezone", "idempotency_key"):
        if data.get(name) is not None and not isinstance(data[name], str):
            errors[name] = "Must be a string."
    if data.get("draft") not in (None, True, False, "1", "0", "true", "false"):
        errors["draft"] = "Either true or false."
    if errors:
        raise ValidationError(errors)
    _no_line_breaks(data, "subject", errors)
    _no_line_breaks(data, "to", errors)
    channel = channels.get(data.get("channel") or "email")
    subject = clean_text(data.get("subject"), "subject", errors, MAX_SUBJECT)
    content = clean_text(data.get("content"), "content", errors, MAX_CONTENT)
    if not subject and "subject" not in errors and channel.key == "email":
        errors["subject"] = "An email needs a subject."
    if not content and "content" not in errors:
        errors["content"] = "Write the message."
    to = clean_text(data.get("to"), "to", errors, 320)
    if "to" not in errors and channel.address == "email":
        to = to or (contact.email or "")
        if not to:
            errors["to"] = "This contact has no email address; give one."
        else:
            try:
                to = normalize_email(to)
            except ValueError as exc:
                errors["to"] = f"Not a valid email address: {exc}"
    elif "to" not in errors and channel.address == "phone":
        to = to or contact.phone or ""
    key = data.get("idempotency_key") or ""
    if key and not KEY_RE.match(key):
        errors["idempotency_key"] = "16 to 64 letters and digits."
    when, zone = clean_when(data, errors, now)
    if errors:
        raise ValidationError(errors)
    return {"channel": channel, "to": to or None, "subject": subject, "content": content, "when": when,
            "timezone": zone, "key": key or uuid.uuid4().hex, "draft": data.get("draft") in (True, "1", "true")}


# --- events and hooks ---------------------------------------------------------------------------


def _event(comm: Communication, old: str | None, new: str, actor=None, detail: str = "", at=None) -> None:
    db.session.add(CommunicationEvent(
        communication_id=comm.id, at=at or utcnow(), old_status=old, new_status=new,
        actor_id=getattr(actor, "id", None), detail=detail[:4000],
    ))
    comm_id = comm.id

    def notify():
        # A failing listener must not stop delivery (the worker would stall on every send).
        try:
            fresh = db.session.get(Communication, comm_id)
            if fresh is None:
                return
            relay = hook()
            relay.communications_status_changed(communication=fresh, old=old, new=new)
            if new in ("sent", "delivered") and old == "sending":
                relay.communications_sent(communication=fresh)
            if new in ("failed", "blocked"):
                relay.communications_failed(communication=fresh, error=fresh.last_error or detail)
        except Exception:  # noqa: BLE001
            log.exception("a communications_* hook failed for communication %s (%s -> %s)", comm_id, old, new)

    after_commit(notify)


def _enqueue(comm_id: int, eta: datetime | None = None) -> None:
    """Wake a worker for this send, now or at ``eta``. Losing the wake-up loses nothing."""
    from core.tasks import enqueue

    try:
        if eta is not None and eta > utcnow():
            task = current_app.extensions["contacts_tasks"][DELIVER_TASK]
            task.schedule(args=(comm_id,), eta=eta.replace(tzinfo=UTC))
        else:
            enqueue(DELIVER_TASK, comm_id)
    except Exception:  # noqa: BLE001 - the row is committed; the sweeper will send it
        log.exception("could not queue communication %s; the sweeper will pick it up", comm_id)


# --- user actions -------------------------------------------------------------------------------


def may_send(actor, contact: Contact) -> bool:
    from core.policy import can

    return can(actor, "contact.edit", contact) and can(actor, "communication.create", contact)


def schedule(actor, contact_id: int, data: dict) -> Communication:
    """Record a send (now or at ``when``) and queue it. A send the contact's preferences block is
    recorded as ``blocked`` with the reason in ``last_error`` and its event. With ``draft`` set
    it is only saved (status ``draft``): send it now or schedule it later."""
    contact = get_contact(actor, contact_id)
    require(actor, "contact.edit", contact)
    require(actor, "communication.create", contact)
    now = utcnow()
    values = clean_send(data, contact, now)
    channel = values["channel"]
    existing = _by_key(values["key"]) if data.get("idempotency_key") else None
    if existing is not None:
        return _same_request(existing, contact, actor)
    draft = values["draft"]
    reason = None if draft else consent.blocked_reason(contact, channel.key, values["when"])
    status = "draft" if draft else "blocked" if reason else "scheduled"
    try:
        with transaction():
            comm = Communication(
                contact_id=contact.id, type={"phone": "call"}.get(channel.key, channel.key), direction="outbound",
                subject=values["subject"], content=values["content"], scheduled_at=values["when"],
                created_by_id=getattr(actor, "id", None), channel=channel.key, to_address=values["to"],
                timezone=values["timezone"], idempotency_key=values["key"], attempts=0,
                status=status, status_changed_at=now,
                next_attempt_at=values["when"] if status == "scheduled" else None, last_error=reason,
            )
            db.session.add(comm)
            db.session.flush()
            if reason:
                _event(comm, None, "blocked", actor, f"Not sent: {reason}", at=now)
            elif draft:
                _event(comm, None, "draft", actor, "Saved as a draft", at=now)
            else:
                due = "now" if values["when"] <= now else f"for {values['when']:%Y-%m-%d %H:%M} UTC"
                _event(comm, None, "scheduled", actor, f"Scheduled {due} on {channel.label}", at=now)
            changes = {"contact_id": (None, contact.id), "channel": (None, channel.key),
                       "to_address": (None, comm.to_address), "subject": (None, comm.subject),
                       "scheduled_at": (None, comm.scheduled_at), "status": (None, comm.status)}
            audit.record(actor, status, "communication", comm.id, changes)
            _fire(comm.id, "created", actor, changes)
            if status == "scheduled":
                comm_id, when = comm.id, comm.scheduled_at
                after_commit(lambda: _enqueue(comm_id, when))
    except IntegrityError:
        db.session.rollback()
        existing = _by_key(values["key"])
        if existing is None:
            raise
        return _same_request(existing, contact, actor)
    return comm


def _by_key(key: str) -> Communication | None:
    return db.session.scalar(select(Communication).where(Communication.idempotency_key == key))


def _same_request(existing: Communication, contact: Contact, actor) -> Communication:
    """A repeated request with the same idempotency key answers with the send it made."""
    if existing.contact_id != contact.id or existing.created_by_id != getattr(actor, "id", None):
        raise Conflict("This idempotency key was already used for another send.")
    return existing


def _user_transition(actor, comm_id: int, allowed: tuple, new: str, detail: str, action: str,
                     **values) -> Communication:
    comm = get_communication(actor, comm_id)
    contact = db.session.get(Contact, comm.contact_id)
    require(actor, "contact.edit", contact)
    require(actor, "communication.edit", contact)
    if not comm.is_send:
        raise Conflict("Only a send can be cancelled, rescheduled or sent now; this entry was logged.")
    now = utcnow()
    with transaction():
        old, old_when = comm.status, comm.scheduled_at
        result = db.session.execute(
            update(Communication)
            .where(Communication.id == comm.id, Communication.status.in_(allowed))
            .values(status=new, status_changed_at=now, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            current = db.session.scalar(select(Communication.status).where(Communication.id == comm.id))
            raise Conflict(_why_not(current))
        db.session.refresh(comm)
        if "scheduled_at" in values:
            rollup.shift(db.session, comm, old_when, comm.scheduled_at)
        _event(comm, old, new, actor, detail, at=now)
        audit.record(actor, action, "communication", comm.id,
                     {"status": (old, new), **{k: (None, v) for k, v in values.items() if k == "scheduled_at"}})
    return comm


def _why_not(status: str | None) -> str:
    if status == "sending":
        return "It is being sent right now and can no longer be changed."
    if status in FINAL_STATUSES:
        return f"It is already {status} and can no longer be changed."
    return f"Not possible while it is {status}."


def cancel(actor, comm_id: int) -> Communication:
    return _user_transition(actor, comm_id, ("draft", "scheduled"), "cancelled", "Cancelled", "cancelled",
                            next_attempt_at=None)


def reschedule(actor, comm_id: int, data: dict) -> Communication:
    """Move a scheduled (or failed) send to a new time; a failed one gets a fresh retry budget."""
    errors: dict = {}
    for name in sorted(set(data) - {"when", "timezone", "csrf_token"}):
        errors[name] = "Unknown field."
    for name in ("when", "timezone"):
        if data.get(name) is not None and not isinstance(data[name], str):
            errors[name] = "Must be a string."
    if errors:
        raise ValidationError(errors)
    if not (data.get("when") or "").strip():
        raise ValidationError({"when": "Give the new date and time."})
    when, zone = clean_when(data, errors, utcnow())
    if errors:
        raise ValidationError(errors)
    comm = _user_transition(
        actor, comm_id, ("draft", "scheduled", "failed"), "scheduled",
        f"Rescheduled for {when:%Y-%m-%d %H:%M} UTC", "rescheduled", scheduled_at=when, next_attempt_at=when, timezone=zone,
        attempts=0, last_error=None,
    )
    after_commit(lambda: _enqueue(comm.id, when))
    return comm


def send_now(actor, comm_id: int) -> Communication:
    now = utcnow()
    comm = _user_transition(actor, comm_id, ("draft", "scheduled", "failed"), "scheduled", "Send now", "send_now",
                            scheduled_at=now, next_attempt_at=now, attempts=0, last_error=None)
    _enqueue(comm.id)
    return comm


# --- the worker ---------------------------------------------------------------------------------


def _claim(comm_id: int, now: datetime) -> tuple[Communication, str, str] | None:
    """Take the send for this worker, or None when it is not due or someone else holds it."""
    token = uuid.uuid4().hex
    cutoff = now - timedelta(seconds=settings.claim_ttl_seconds())
    values = dict(status="sending", claim_token=token, claimed_at=now, attempts=Communication.attempts + 1,
                  status_changed_at=now, updated_at=now)
    with transaction():
        old = None
        for status, condition in (
            ("scheduled", Communication.next_attempt_at <= now),
            ("sending", Communication.claimed_at < cutoff),
        ):
            result = db.session.execute(
                update(Communication)
                .where(Communication.id == comm_id, Communication.status == status, condition)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                old = status
                break
        if old is None:
            return None
        comm = db.session.execute(
            select(Communication).where(Communication.id == comm_id).execution_options(populate_existing=True)
        ).scalar_one()
        if old == "sending":
            detail = f"Attempt {comm.attempts}: taken over from a worker that stopped while sending"
            if comm.handover_at is not None:
                detail += (" after handing the message over; it may have arrived already, and this retry"
                           " carries the same Message-ID so the receiver drops the duplicate")
        else:
            detail = f"Attempt {comm.attempts}"
        _event(comm, old, "sending", None, detail, at=now)
    return comm, token, old


def _finish(comm_id: int, token: str, new: str, detail: str, **values) -> bool:
    now = utcnow()
    with transaction():
        result = db.session.execute(
            update(Communication)
            .where(Communication.id == comm_id, Communication.claim_token == token, Communication.status == "sending")
            .values(status=new, claim_token=None, status_changed_at=now, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            log.warning("communication %s: lost the claim before recording %s", comm_id, new)
            return False
        comm = db.session.execute(
            select(Communication).where(Communication.id == comm_id).execution_options(populate_existing=True)
        ).scalar_one()
        _event(comm, "sending", new, None, detail, at=now)
        if new == "scheduled" and values.get("next_attempt_at"):
            when = values["next_attempt_at"]
            after_commit(lambda: _enqueue(comm_id, when))
    return True


def _handover(comm_id: int, token: str):
    def handover() -> bool:
        with transaction():
            result = db.session.execute(
                update(Communication)
                .where(Communication.id == comm_id, Communication.claim_token == token,
                       Communication.status == "sending")
                .values(handover_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    return handover


def deliver(comm_id: int) -> str:
    """The huey task: claim the send, pass it to its channel's adapter, record the outcome.
    Safe to run any number of times, concurrently: only one run claims a due send."""
    now = utcnow()
    claimed = _claim(comm_id, now)
    if claimed is None:
        return "not claimed"
    comm, token, _old = claimed
    attempts = comm.attempts
    try:
        return _attempt(comm, token, now)
    except Exception as exc:  # noqa: BLE001 - a bug in a check or a listener: retry, then fail, never hang
        log.exception("communication %s: attempt %s failed", comm_id, attempts)
        db.session.rollback()
        return _retry_or_fail(comm_id, token, attempts, exc)


def _retry_or_fail(comm_id: int, token: str, attempts: int, exc: Exception) -> str:
    error = str(exc) or type(exc).__name__
    limit = settings.max_attempts()
    if attempts >= limit:
        _finish(comm_id, token, "failed", f"Gave up after {attempts} attempts: {error}", last_error=error,
                next_attempt_at=None)
        return "failed"
    retry_at = utcnow() + timedelta(seconds=settings.retry_delay_seconds(attempts))
    _finish(comm_id, token, "scheduled",
            f"Attempt {attempts} of {limit} failed: {error}; next try at {retry_at:%Y-%m-%d %H:%M:%S} UTC",
            last_error=error, next_attempt_at=retry_at)
    return "retry"


def _attempt(comm: Communication, token: str, now: datetime) -> str:
    comm_id = comm.id
    finish = lambda new, detail, **values: _finish(comm_id, token, new, detail, **values)  # noqa: E731
    contact = db.session.get(Contact, comm.contact_id)
    if contact is None or contact.deleted_at is not None:
        finish("cancelled", "Not sent: the contact was deleted", next_attempt_at=None)
        return "cancelled"
    channel = channels.registry().get(comm.channel or "")
    if channel is None:
        error = f"No channel {comm.channel!r} (is its plugin disabled?)"
        finish("failed", error, last_error=error, next_attempt_at=None)
        return "failed"
    if not channel.deliverable:
        finish("logged", f"Recorded, not sent: the {channel.label} channel has no delivery adapter",
               next_attempt_at=None)
        return "logged"
    reason = consent.blocked_reason(contact, channel.key, now)
    if reason:
        finish("blocked", f"Not sent: {reason}", last_error=reason, next_attempt_at=None)
        return "blocked"
    limit = settings.max_attempts()
    if comm.attempts > limit:
        error = comm.last_error or "the worker stopped while sending"
        finish("failed", f"Gave up after {limit} attempts: {error}", last_error=error, next_attempt_at=None)
        return "failed"
    message = OutgoingMessage(
        communication_id=comm.id, idempotency_key=comm.idempotency_key, channel=channel.key,
        to_address=comm.to_address or "", subject=comm.subject, body=comm.content, date=comm.scheduled_at,
        handover=_handover(comm_id, token),
    )
    attempts = comm.attempts
    db.session.commit()  # end the read transaction: nothing is held while the adapter talks
    try:
        result = channel.adapter.send(message)
    except LostClaim as exc:
        log.warning("communication %s: %s", comm_id, exc)
        return "lost claim"
    except PermanentError as exc:
        error = str(exc) or type(exc).__name__
        finish("failed", f"Failed: {error}", last_error=error, next_attempt_at=None)
        return "failed"
    except Exception as exc:  # noqa: BLE001 - any other error is worth another try
        return _retry_or_fail(comm_id, token, attempts, exc)
    status = getattr(result, "status", "sent") if result is not None else "sent"
    status = status if status in ("sent", "delivered") else "sent"
    detail = getattr(result, "detail", "") if result is not None else ""
    finish(status, detail or "Sent", sent_at=utcnow(), next_attempt_at=None, last_error=None)
    return status


def due_ids(now: datetime | None = None, limit: int = SWEEP_MAX) -> list[int]:
    """Sends that are due (``scheduled``) or whose worker stopped (``sending`` past the claim TTL),
    oldest first, at most ``limit``, read in keyset batches."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.claim_ttl_seconds())
    found = list(db.session.scalars(
        select(Communication.id)
        .where(Communication.status == "sending", Communication.claimed_at < cutoff)
        .order_by(Communication.claimed_at).limit(limit)
    ))
    after = None
    while len(found) < limit:
        stmt = select(Communication.next_attempt_at, Communication.id).where(
            Communication.status == "scheduled", Communication.next_attempt_at <= now
        )
        if after is not None:
            stmt = stmt.where(tuple_(Communication.next_attempt_at, Communication.id) > after)
        rows = db.session.execute(
            stmt.order_by(Communication.next_attempt_at, Communication.id).limit(min(SWEEP_BATCH, limit - len(found)))
        ).all()
        found.extend(row.id for row in rows)
        if len(rows) < SWEEP_BATCH:
            break
        after = tuple(rows[-1])
    db.session.commit()
    return found


def sweep(now: datetime | None = None) -> int:
    """The periodic task: queue every due or stuck send (each one is claimed atomically later)."""
    ids = due_ids(now)
    for comm_id in ids:
        _enqueue(comm_id)
    if ids:
        log.info("communications sweeper queued %d sends", len(ids))
    return len(ids)


def report(idempotency_key: str, status: str, detail: str = "") -> Communication:
    """An adapter's later report on a sent message: ``delivered`` or ``bounced``."""
    if status not in ("delivered", "bounced"):
        raise ValidationError({"status": "Either delivered or bounced."})
    comm = _by_key(idempotency_key)
    if comm is None:
        raise NotFound("No send with this idempotency key.")
    now = utcnow()
    with transaction():
        old = comm.status
        result = db.session.execute(
            update(Communication)
            .where(Communication.id == comm.id, Communication.status.in_(("sent", "delivered")))
            .values(status=status, status_changed_at=now, updated_at=now,
                    last_error=detail if status == "bounced" else None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict(f"It is {old}; only a sent message can be reported {status}.")
        db.session.refresh(comm)
        _event(comm, old, status, None, detail or status.capitalize(), at=now)
    return comm
