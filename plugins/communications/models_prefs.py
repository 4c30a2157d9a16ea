"""Consent, contact preferences and message templates.

Consent is one row per (contact, channel) holding the current answer, plus an append-only
history table: every change adds a row with who, when, where from, and the value before, so
the record of what the contact agreed to is never overwritten.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models import TimestampMixin, utcnow

from .models import Communication

CONSENT_STATES = ("opted_in", "opted_out", "unknown")


class Consent(db.Model):
    """The current consent of a contact for one channel (no row means ``unknown``)."""

    __tablename__ = "communications_consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    channel: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="unknown")
    source: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("contact_id", "channel", name="uq_communications_consents_contact_channel"),)


class ConsentChange(db.Model):
    """One change of consent; rows are only ever added."""

    __tablename__ = "communications_consent_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    channel: Mapped[str] = mapped_column(String(50), nullable=False)
    previous_status: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_communications_consent_history_contact", "contact_id", "changed_at", "id"),)


class Preferences(db.Model):
    """How a contact likes to be reached: preferred channel, quiet hours, timezone."""

    __tablename__ = "communications_preferences"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    preferred_channel: Mapped[str | None] = mapped_column(String(50))
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name, checked with zoneinfo
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __mapper_args__ = {"version_id_col": version}


class MessageTemplate(TimestampMixin, db.Model):
    """A reusable message with merge fields, rendered only in the sandbox (see templating.py)."""

    __tablename__ = "communications_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    channel: Mapped[str] = mapped_column(String(50), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("owner_team_id", "name", name="uq_communications_templates_team_name"),
    )

    __mapper_args__ = {"version_id_col": version}


# Filters of the global communications page: each ends in the sort key, so a page is an index walk.
# Declared here (not in models.py) because this half of the plugin adds them in communications_0003.
Index("ix_communications_type_time", Communication.type, Communication.scheduled_at, Communication.id)
Index("ix_communications_creator_time", Communication.created_by_id, Communication.scheduled_at, Communication.id)
