"""Static contact lists: a named set of contacts that belongs to a team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import Contact, TimestampMixin, utcnow


class ContactList(TimestampMixin, db.Model):
    __tablename__ = "planning_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Lower-cased name: the sort key, and unique per team so "VIPs" and "vips" cannot both exist.
    name_key: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_team = relationship("Team", lazy="joined")

    __table_args__ = (
        UniqueConstraint("owner_team_id", "name_key", name="uq_planning_lists_team_name"),
        Index("ix_planning_lists_name", "name_key", "id"),
    )

    def __repr__(self):
        return f"<ContactList {self.id} {self.name}>"


class ListMember(db.Model):
    __tablename__ = "planning_list_members"
    list_id: Mapped[int] = mapped_column(ForeignKey("planning_lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact: Mapped[Contact] = relationship(lazy="joined")

    # The list page walks a list's members newest first.
    __table_args__ = (Index("ix_planning_list_members_list_added", "list_id", "added_at", "contact_id"),)
