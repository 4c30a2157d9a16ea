"""A contact's richer record (issue 3): job title, birthday, notes; extra emails, phones and URLs
with labels; postal addresses; a photo. Kept beside ``contacts`` so that table stays lean: the
list pages never read these, the contact page, the API and vCard do (by contact id)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

LABELS = ("home", "work", "mobile", "other")
VALUE_KINDS = ("email", "phone", "url")


class ContactDetails(db.Model):
    """One row per contact that has a title, birthday or notes."""

    __tablename__ = "contact_details"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    birthday: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The vCard UID a contact was imported with is an external id (contact_external_ids, "vcard").


class ContactValue(db.Model):
    """An additional email, phone or URL (the primary email and phone stay on ``contacts``)."""

    __tablename__ = "contact_values"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # email, phone, url
    label: Mapped[str] = mapped_column(String(10), nullable=False, default="other")
    value: Mapped[str] = mapped_column(String(500), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (Index("ix_contact_values_contact", "contact_id", "kind", "position"),)


class ContactAddress(db.Model):
    __tablename__ = "contact_addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    label: Mapped[str] = mapped_column(String(10), nullable=False, default="other")
    street: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    locality: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    postcode: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    country: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (Index("ix_contact_addresses_contact", "contact_id", "position"),)


class ContactPhoto(db.Model):
    """The photo bytes, read only by the photo route (and vCard export)."""

    __tablename__ = "contact_photos"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    mime: Mapped[str] = mapped_column(String(50), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # sha256: the ETag
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
