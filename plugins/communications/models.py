"""The PRD's Communication: one call, email, meeting, ... with a contact.

A logged entry (``status="logged"``) only uses the first block of columns. A *send* (an email
written in Contacts, scheduled or sent now) also uses the delivery columns: it is the outbox row
that ``delivery.py`` claims and sends, and every status transition leaves a
``CommunicationEvent``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import Contact, TimestampMixin, utcnow

TYPES = ("call", "email", "meeting", "sms", "letter", "chat")
TYPE_LABELS = {"sms": "SMS"}  # what `key.capitalize()` would spell wrong


def type_label(key: str) -> str:
    """How a communication type reads in the UI (template global ``communication_type``)."""
    return TYPE_LABELS.get(key) or str(key).capitalize()
DIRECTIONS = ("outbound", "inbound")
STATUSES = (
    "draft", "scheduled", "sending", "sent", "failed", "cancelled", "delivered", "bounced", "blocked", "logged",
)
# A send in one of these states will not change any more (except delivered/bounced reports on "sent").
FINAL_STATUSES = ("sent", "failed", "cancelled", "delivered", "bounced", "blocked", "logged")


class Communication(TimestampMixin, db.Model):
    __tablename__ = "communications"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    type: Mapped[str] = mapped_column(String(50), nullable=False)
    direction: Mapped[str] = mapped_column(String(10), nullable=False, default="outbound")
    subject: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    content: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="logged")
    # When it happened (logged) or is due (scheduled): the timeline's order.
    scheduled_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # --- delivery (NULL / 0 on logged entries) ---
    # The channel key the send goes through (see channels.py); NULL for logged entries.
    channel: Mapped[str | None] = mapped_column(String(50))
    to_address: Mapped[str | None] = mapped_column(String(320))
    # The IANA zone the due time was entered in (shown back to the user); times are stored UTC.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # One per send, never reused: the email's Message-ID is derived from it (see delivery.py).
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # When the next attempt may start (the due time, then the retry time); NULL once final.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The worker holding the send ("sending"): its token and when it claimed it.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set right before the message is handed over for good (the SMTP end-of-data): from then on
    # the receiver may have it, so a recovered attempt says that it may be a duplicate.
    handover_at: Mapped[datetime | None] = mapped_column(DateTime)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    contact: Mapped[Contact] = relationship(lazy="select")
    created_by = relationship("User", lazy="select")
    events: Mapped[list[CommunicationEvent]] = relationship(
        lazy="selectin", order_by="CommunicationEvent.id", viewonly=True
    )

    __table_args__ = (
        Index("ix_communications_contact_time", "contact_id", "scheduled_at", "id"),
        Index("ix_communications_time", "scheduled_at", "id"),
        Index("ix_communications_status_time", "status", "scheduled_at"),
        Index("ix_communications_idempotency_key", "idempotency_key", unique=True),
        # the sweeper: due sends (status "scheduled") and stuck ones (status "sending")
        Index("ix_communications_status_due", "status", "next_attempt_at"),
    )

    @property
    def is_send(self) -> bool:
        return self.idempotency_key is not None

    @property
    def due_soon(self) -> bool:
        """Due within a minute (or overdue): the timeline polls it often."""
        from datetime import timedelta

        return self.next_attempt_at is not None and self.next_attempt_at <= utcnow() + timedelta(minutes=1)

    @property
    def scheduled_local(self) -> datetime | None:
        """The due time in the zone it was entered in, when that is not UTC."""
        return in_zone(self.scheduled_at, self.timezone) if self.timezone not in (None, "UTC") else None


class CommunicationEvent(db.Model):
    """One status transition of a send: when, from what to what, who (NULL: the worker), why."""

    __tablename__ = "communications_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    communication_id: Mapped[int] = mapped_column(
        ForeignKey("communications.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    actor = relationship("User", lazy="joined")

    __table_args__ = (Index("ix_communications_events_communication", "communication_id", "id"),)


def in_zone(value: datetime | None, zone: str | None) -> datetime | None:
    """Naive-UTC ``value`` as an aware time in the IANA ``zone`` (None when either is missing)."""
    from datetime import UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if value is None or not zone:
        return None
    try:
        return value.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return None


class CommunicationCount(db.Model):
    """How many communications the live contacts of one team have, per UTC month (of
    ``scheduled_at``), channel and direction: what the dashboard widget reads instead of counting
    millions of rows. Kept equal to a direct count by ``rollup.py`` in the same transaction as
    every change (a trashed contact's communications are not counted, as they are not listed)."""

    __tablename__ = "communications_rollup"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    type: Mapped[str] = mapped_column(String(50), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
