"""Typed relationships: admin-defined types and the relationships between a contact and another
contact or an organization. The hierarchy columns (parent_id, reports_to_id) live on the
contacts and organizations tables (core/models/contacts.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, utcnow

TARGET_KINDS = ("contact", "organization")


class RelationshipType(TimestampMixin, db.Model):
    """``name`` reads from the contact that holds the relationship ("manager of"), ``inverse_label``
    from the other side ("reports to"); equal for a symmetric type ("spouse of")."""

    __tablename__ = "relationship_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    inverse_label: Mapped[str] = mapped_column(String(100), nullable=False)
    target_kind: Mapped[str] = mapped_column(String(20), nullable=False, default="contact")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (
        Index("ix_relationship_types_kind_name", "target_kind", "name", unique=True),
        CheckConstraint("target_kind IN ('contact', 'organization')", name="ck_relationship_types_target_kind"),
    )

    @property
    def symmetric(self) -> bool:
        return self.target_kind == "contact" and self.name == self.inverse_label

    def __repr__(self):
        return f"<RelationshipType {self.id} {self.name}/{self.inverse_label}>"


class Relationship(db.Model):
    """``contact`` is ``type.name`` of the other side: (Ada, "manager of", Bob) reads
    "Ada is manager of Bob" on Ada's page and "Bob reports to Ada" on Bob's."""

    __tablename__ = "relationships"
    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("relationship_types.id"), nullable=False)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    other_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    type: Mapped[RelationshipType] = relationship(lazy="joined")

    # Each side's list is an index range: a contact's relationships from either side, an
    # organization's, and the merge's lookups by contact.
    __table_args__ = (
        Index("ix_relationships_contact", "contact_id", "id"),
        Index("ix_relationships_other_contact", "other_contact_id", "id"),
        Index("ix_relationships_organization", "organization_id", "id"),
        Index("ix_relationships_type", "type_id"),
        CheckConstraint(
            "(other_contact_id IS NULL) <> (organization_id IS NULL)", name="ck_relationships_one_target"
        ),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
                        name="ck_relationships_dates"),
    )

    def __repr__(self):
        return f"<Relationship {self.id} {self.contact_id} {self.type_id} {self.other_contact_id or self.organization_id}>"


DEFAULT_TYPES = [
    ("contact", "manager of", "reports to"),
    ("contact", "spouse of", "spouse of"),
    ("contact", "assistant of", "has assistant"),
    ("contact", "colleague of", "colleague of"),
    ("organization", "board member of", "has board member"),
    ("organization", "advisor to", "has advisor"),
]
