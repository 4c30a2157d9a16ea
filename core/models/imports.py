"""Imports: which contact an outside record (a CSV row's id column, a vCard UID) became, so that
importing the same file again updates that contact instead of creating a duplicate."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ContactExternalId(db.Model):
    __tablename__ = "contact_external_ids"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Where the id comes from ("hubspot", "linkedin", "google", "csv", "vcard"...): ids of different
    # systems never collide.
    source: Mapped[str] = mapped_column(String(50), nullable=False)
    external_id: Mapped[str] = mapped_column(String(200), nullable=False)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)

    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_contact_external_ids_source_external_id"),
        Index("ix_contact_external_ids_contact", "contact_id"),
    )

    def __repr__(self):
        return f"<ContactExternalId {self.source}:{self.external_id} -> {self.contact_id}>"
