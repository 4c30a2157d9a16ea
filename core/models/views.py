"""Saved views of the contacts list: a named filter, sort and set of columns, personal or shared
with one team."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TimestampMixin


class SavedView(TimestampMixin, db.Model):
    __tablename__ = "saved_views"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    # Shared with this team (its members see it and pick it); NULL: personal.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    # The list's query string without sort and cursor: q, status, type, organization_id, f=..., plugin filters.
    query: Mapped[str] = mapped_column(Text, nullable=False, default="")
    sort: Mapped[str] = mapped_column(String(20), nullable=False, default="name")
    columns: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    # The list page's picker reads a user's own views and their teams' shared ones, by name.
    __table_args__ = (
        Index("ix_saved_views_owner_name", "owner_id", "name"),
        Index("ix_saved_views_team_name", "team_id", "name"),
    )

    def __repr__(self):
        return f"<SavedView {self.id} {self.name}>"
