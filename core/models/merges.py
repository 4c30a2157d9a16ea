"""Duplicates and merges: candidate pairs found by the duplicate scan, and every merge with what
it needs to be undone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

OPEN, DISMISSED, MERGED = "open", "dismissed", "merged"


class DuplicatePair(db.Model):
    """Two contacts that look alike (``a_id < b_id``). A dismissed pair is never suggested again."""

    __tablename__ = "duplicate_pairs"
    id: Mapped[int] = mapped_column(primary_key=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), nullable=False)
    b_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)  # 0-100, higher is more alike
    reasons: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # "email", "phone", "name"
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    a = relationship("Contact", foreign_keys=[a_id], lazy="joined", innerjoin=True)
    b = relationship("Contact", foreign_keys=[b_id], lazy="joined", innerjoin=True)

    __table_args__ = (
        UniqueConstraint("a_id", "b_id", name="uq_duplicate_pairs_a_b"),
        Index("ix_duplicate_pairs_queue", "status", "score", "id"),  # the review queue, best first
        Index("ix_duplicate_pairs_b", "b_id"),
    )

    def __repr__(self):
        return f"<DuplicatePair {self.a_id}~{self.b_id} {self.score} {self.status}>"


class Merge(db.Model):
    """``source`` merged into ``target``: both contacts' core fields before, the target's version
    after (an unmerge refuses when it changed since), and the plugins' undo records."""

    __tablename__ = "merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), nullable=False)
    source_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    before: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # {"target": {...}, "source": {...}}
    after: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # {"target_version": n, "fields": {...}}
    undo: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # the hooks' answers, by plugin name
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    target = relationship("Contact", foreign_keys=[target_id], lazy="joined", innerjoin=True)
    source = relationship("Contact", foreign_keys=[source_id], lazy="joined", innerjoin=True)
    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")

    __table_args__ = (
        Index("ix_merges_target", "target_id", "id"),
        Index("ix_merges_source", "source_id", "id"),
    )

    def __repr__(self):
        return f"<Merge {self.source_id}->{self.target_id}>"
