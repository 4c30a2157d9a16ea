"""Contacts and organizations: the PRD's fields plus ownership, soft delete and a version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import TimestampMixin


class Organization(TimestampMixin, db.Model):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_key: Mapped[str] = mapped_column(String(200), nullable=False)  # lower-cased, for search and sort
    website: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    owner_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The parent organization (hierarchy; cycles are refused in core/services/hierarchy.py).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    owner_team = relationship("Team", lazy="joined")

    __table_args__ = (
        Index("ix_organizations_live_name", "deleted_at", "name_key", "id"),
        Index("ix_organizations_team_name", "owner_team_id", "deleted_at", "name_key", "id"),
        Index("ix_organizations_parent_name", "parent_id", "deleted_at", "name_key", "id"),
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self):
        return f"<Organization {self.id} {self.name}>"


class Contact(TimestampMixin, db.Model):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    last_name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    # "last first", lower-cased: the default sort and the prefix search on names.
    sort_name: Mapped[str] = mapped_column(String(201), nullable=False, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    # Lower-cased normalized address; unique, so the same person cannot be entered twice.
    email_key: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str] = mapped_column(String(32), nullable=False, default="")  # E.164
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    type: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    owner_team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The contact this one reports to (hierarchy; cycles are refused in core/services/hierarchy.py).
    reports_to_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))  # core/services/taxonomy
    # Set when this contact was merged into another (and soft-deleted); cleared by an unmerge.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))

    organization: Mapped[Organization | None] = relationship(lazy="joined")
    owner_team = relationship("Team", lazy="joined")

    # Every list filter has an index that ends in the sort key, so a keyset page is an index walk.
    __table_args__ = (
        # ... carrying the owner team and the category after it (core_0028): a page's permission and
        # category conditions are decided in the index, before the row is read (SQLite).
        Index("ix_contacts_live_name", "deleted_at", "sort_name", "id", "owner_team_id", "category_id"),
        Index("ix_contacts_live_created", "deleted_at", "created_at", "id", "owner_team_id", "category_id"),
        Index("ix_contacts_live_updated", "deleted_at", "updated_at", "id", "owner_team_id", "category_id"),
        Index("ix_contacts_team_name", "owner_team_id", "deleted_at", "sort_name", "id"),
        # ... and the owner team after it (core_0021): the lazy count of a filtered list reads the index alone.
        Index("ix_contacts_status_name", "status", "deleted_at", "sort_name", "id", "owner_team_id"),
        Index("ix_contacts_type_name", "type", "deleted_at", "sort_name", "id", "owner_team_id"),
        Index("ix_contacts_org_name", "organization_id", "deleted_at", "sort_name", "id", "owner_team_id"),
        Index("ix_contacts_category_name", "category_id", "deleted_at", "sort_name", "id"),
        Index("ix_contacts_phone", "phone"),
        Index("ix_contacts_deleted", "deleted_at"),
        Index("ix_contacts_reports_to_name", "reports_to_id", "deleted_at", "sort_name", "id"),
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or (self.email or f"Contact {self.id}")

    def __repr__(self):
        return f"<Contact {self.id} {self.full_name}>"


# Full-text search (core/services/search.py): SQLite FTS5 table, view and triggers, or PostgreSQL
# functions and GIN expression indexes. Not part of the metadata, so create_all builds them here;
# the migration core_0002 builds the same.
def _create_search(target, connection, **kw):
    from ..services import search, similar_search
    from . import pg_list_indexes

    search.install(connection)
    similar_search.install(connection)  # PostgreSQL: pg_trgm index for similar names (core_0012)
    pg_list_indexes.install(connection)  # PostgreSQL: the list's order among live contacts (core_0015)


def _drop_search(target, connection, **kw):
    from ..services import search, similar_search

    similar_search.uninstall(connection)
    search.uninstall(connection)


event.listen(Contact.__table__, "after_create", _create_search)
event.listen(Contact.__table__, "before_drop", _drop_search)
