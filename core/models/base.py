"""Shared column helpers. Times are stored as naive UTC on every database."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


# Ids are 32-bit INTEGER columns on PostgreSQL: a larger id can name no row (and would overflow).
MAX_ID = 2**31 - 1


def parse_id(raw) -> int | None:
    """A record id from text (a form, a query string, a job's parameters): the number when it is
    a plain decimal in 1..MAX_ID, else None (so a caller names the field; never an overflow)."""
    text = str(raw).strip() if raw is not None else ""
    if not text.isdecimal() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
