"""Notes on a contact, written in Markdown. Soft-deleted; edits carry a ``version``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import Contact, TimestampMixin, User


class Note(TimestampMixin, db.Model):
    __tablename__ = "collaboration_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, nullable=False)  # the Markdown source
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    contact: Mapped[Contact] = relationship()
    author: Mapped[User | None] = relationship(lazy="joined")

    # A contact's live notes, newest first, as one index walk.
    __table_args__ = (Index("ix_collaboration_notes_contact", "contact_id", "deleted_at", "id"),)

    __mapper_args__ = {"version_id_col": version}

    @property
    def owner_team_id(self) -> int:
        """A note belongs to its contact's team (for the policy)."""
        return self.contact.owner_team_id

    def __repr__(self):
        return f"<Note {self.id} on contact {self.contact_id}>"
