"""Tags (free, coloured), groups (team-owned sets of contacts) and categories (an admin tree).

A contact has any number of tags and groups and at most one category (contacts.category_id).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin, utcnow


class Tag(TimestampMixin, db.Model):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    # Lower-cased name: unique (case-insensitive names) and the sort/autocomplete key.
    name_key: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    color: Mapped[str] = mapped_column(String(20), nullable=False)

    def __repr__(self):
        return f"<Tag {self.id} {self.name}>"


class ContactTag(db.Model):
    __tablename__ = "contact_tags"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)

    # The tag filter and the tag's counts walk (tag_id, contact_id); a contact's tags use the PK.
    __table_args__ = (Index("ix_contact_tags_tag_contact", "tag_id", "contact_id"),)


class ContactGroup(TimestampMixin, db.Model):
    __tablename__ = "contact_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_key: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_team = relationship("Team", lazy="joined")

    __table_args__ = (
        Index("uq_contact_groups_team_name", "owner_team_id", "name_key", unique=True),
        Index("ix_contact_groups_name", "name_key", "id"),
    )

    def __repr__(self):
        return f"<ContactGroup {self.id} {self.name}>"


class GroupMember(db.Model):
    __tablename__ = "contact_group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # Who put the contact in (NULL for rows older than core_0014 and for imports without a user).
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact = relationship("Contact", lazy="joined")

    # The group page walks members newest first; a contact's groups and the merge use the other.
    __table_args__ = (
        Index("ix_contact_group_members_group_added", "group_id", "added_at", "contact_id"),
        Index("ix_contact_group_members_contact", "contact_id", "group_id"),
    )


class Category(TimestampMixin, db.Model):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_key: Mapped[str] = mapped_column(String(100), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    def __repr__(self):
        return f"<Category {self.id} {self.name}>"


# The tag-name search index (core/services/tag_search.py), built by create_all with contact_tags
# (created after both tags and contacts, whose search functions it reuses on PostgreSQL); the
# migration core_0003 builds the same.
def _create_search(target, connection, **kw):
    from ..services import tag_search

    tag_search.install(connection)


def _drop_search(target, connection, **kw):
    from ..services import tag_search

    tag_search.uninstall(connection)


event.listen(ContactTag.__table__, "after_create", _create_search)
event.listen(ContactTag.__table__, "before_drop", _drop_search)
