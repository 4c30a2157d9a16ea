"""Background jobs: long work (imports, bulk changes, the duplicate scan) that a page can follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


class Job(db.Model):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=QUEUED)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Where a resumed run picks up (the runner's own bookmark, saved with its progress).
    checkpoint: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    result: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Per-item problems ({"ref": ..., "message": ...}); the first MAX_ERRORS are kept, all are counted.
    errors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    error_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")  # why it failed
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)

    created_by = relationship("User", lazy="joined")

    __table_args__ = (
        Index("ix_jobs_user_created", "created_by_id", "created_at"),
        Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
    )

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.status == DONE else None
        return min(100, int(self.done * 100 / self.total))

    def __repr__(self):
        return f"<Job {self.id} {self.kind} {self.status}>"


class JobProblem(db.Model):
    """Every per-item problem of a job (``Job.errors`` keeps the first MAX_ERRORS for the page and
    the API): the downloadable report streams these. ``ref`` is the item's number when it is one (a
    CSV row, a card), ``item`` the item as given; ``cells`` an import's original row, when known."""

    __tablename__ = "job_problems"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    ref: Mapped[int | None] = mapped_column(BigInteger)
    item: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    cells: Mapped[list | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (Index("ix_job_problems_job_ref", "job_id", "ref"),)
