"""Where an old contact list went: the group it became in planning_0002."""

from __future__ import annotations

from sqlalchemy import select

from core.errors import ServiceError
from core.extensions import db
from core.models import parse_id

from .models import LegacyList

MAX_ID = 2**31 - 1  # INTEGER ids: PostgreSQL refuses a larger number outright


def group_of(list_id: int) -> int | None:
    """The group that list ``list_id`` became, or None (never a list, or its group was deleted)."""
    if not 0 < list_id <= MAX_ID:
        return None
    return db.session.scalar(select(LegacyList.group_id).where(LegacyList.list_id == list_id))


def _on_group(change):
    """The old bulk "Add to list" / "Remove from list" as the group action it became: the job's
    ``list_id`` is mapped to its group."""

    def apply(actor, contact_ids, params):
        raw = str(params.get("list_id") or "")
        group_id = group_of(parse_id(raw)) if parse_id(raw) else None
        if group_id is None:
            raise ServiceError("The list this job was for is gone (lists are groups now, and its group was "
                               "deleted): choose the contacts again and use \u201cAdd to a group\u201d.")
        result = change(actor, contact_ids, group_id)
        return result.changed, result.skipped

    return apply


def retired_bulk_actions() -> list:
    """The bulk actions of the lists, no longer offered: bulk jobs queued before planning_0002
    still name them, and run as group adds and removes."""
    from core.services import taxonomy
    from core.ui import BulkAction, BulkField

    field = (BulkField("list_id", "List"),)
    return [
        BulkAction("list_add", "Add to list", _on_group(taxonomy.add_to_group), field, offered=False),
        BulkAction("list_remove", "Remove from list", _on_group(taxonomy.remove_from_group), field, offered=False),
    ]
