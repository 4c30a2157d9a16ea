"""Where an old contact list went: the group it became in planning_0002."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db

from .models import LegacyList

MAX_ID = 2**31 - 1  # INTEGER ids: PostgreSQL refuses a larger number outright


def group_of(list_id: int) -> int | None:
    """The group that list ``list_id`` became, or None (never a list, or its group was deleted)."""
    if not 0 < list_id <= MAX_ID:
        return None
    return db.session.scalar(select(LegacyList.group_id).where(LegacyList.list_id == list_id))
