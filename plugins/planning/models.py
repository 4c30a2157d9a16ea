"""What is left of the planning plugin's own contact lists: the old list id of each list that
became a core group (planning_0002), so bookmarked ``/planning/lists/<id>`` addresses and
``?list=<id>`` filters still find it."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class LegacyList(db.Model):
    __tablename__ = "planning_legacy_lists"
    list_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # Deleting the group forgets its old address (it then answers 404, as the list would have).
    group_id: Mapped[int] = mapped_column(
        ForeignKey("contact_groups.id", ondelete="CASCADE"), nullable=False, unique=True
    )

    def __repr__(self):
        return f"<LegacyList {self.list_id} -> group {self.group_id}>"
