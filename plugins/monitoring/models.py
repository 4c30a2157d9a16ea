"""One row per change anyone made: the activity feed's only table.

It is a log, so ``contact_id`` and ``owner_team_id`` are plain indexed numbers (no foreign keys):
an entry outlives the record it describes and is written after that record's own commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models import utcnow


class Activity(db.Model):
    __tablename__ = "monitoring_activity"
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_id: Mapped[int | None] = mapped_column(Integer)
    contact_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    summary: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    owner_team_id: Mapped[int | None] = mapped_column(Integer)

    # The feed is read newest first (id desc) under each filter the UI offers.
    __table_args__ = (
        Index("ix_monitoring_activity_contact", "contact_id", "id"),
        Index("ix_monitoring_activity_team", "owner_team_id", "id"),
        Index("ix_monitoring_activity_actor", "actor_id", "id"),
        Index("ix_monitoring_activity_entity", "entity_type", "id"),
    )

    def __repr__(self):
        return f"<Activity {self.id} {self.entity_type}:{self.entity_id} {self.action}>"
