"""Issue 3 per-contact data: custom field definitions and values, contact templates,
preferences and the status history.

Custom values live in one row per (contact, field[, choice]) with a typed column per kind
(an entity-attribute-value table with typed columns), not in a JSON blob on the contact:
- a filter on one field is a range scan of ``(field_id, value_<kind>, contact_id)``: it reads only
  the matching rows, whatever the number of contacts or fields;
- a sort on one field walks the same index in order, so keyset pagination stays an index walk;
- numbers and dates compare as numbers and dates (a JSON text would compare '10' < '9');
- multi choice is one row per chosen option, so "has option X" is the same index lookup;
- adding or archiving a field is a row in ``custom_fields``, never an ALTER TABLE on 1M contacts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import TimestampMixin, utcnow

FIELD_KINDS = {
    "text": "Text",
    "long_text": "Long text",
    "number": "Number",
    "date": "Date",
    "boolean": "Yes / no",
    "choice": "Single choice",
    "multi_choice": "Multiple choice",
    "url": "Web address",
}


class CustomField(TimestampMixin, db.Model):
    __tablename__ = "custom_fields"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)  # stable slug; never changes
    label: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    choices: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # option labels (choice kinds)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    def __repr__(self):
        return f"<CustomField {self.key} {self.kind}>"


class CustomFieldValue(db.Model):
    """One value of one field for one contact (one row per option for multi choice). Exactly one
    ``value_*`` column is set, the one of the field's kind; empty values have no row."""

    __tablename__ = "custom_field_values"
    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"), nullable=False)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    value_text: Mapped[str | None] = mapped_column(String(500))  # text, url, choice, multi_choice
    value_long: Mapped[str | None] = mapped_column(Text)  # long text: shown, searched by scan, not sorted
    value_number: Mapped[float | None] = mapped_column(Float)
    value_date: Mapped[date | None] = mapped_column(Date)
    value_bool: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_cfv_contact_field", "contact_id", "field_id"),
        Index("ix_cfv_field_text", "field_id", "value_text", "contact_id"),
        Index("ix_cfv_field_number", "field_id", "value_number", "contact_id"),
        Index("ix_cfv_field_date", "field_id", "value_date", "contact_id"),
        Index("ix_cfv_field_bool", "field_id", "value_bool", "contact_id"),
    )


# The custom-value search index (core/services/custom_search.py), built by create_all with the
# table (after contacts, whose search functions it reuses on PostgreSQL); core_0011 builds the same.
def _create_search(target, connection, **kw):
    from ..services import custom_search

    custom_search.install(connection)


def _drop_search(target, connection, **kw):
    from ..services import custom_search

    custom_search.uninstall(connection)


event.listen(CustomFieldValue.__table__, "after_create", _create_search)
event.listen(CustomFieldValue.__table__, "before_drop", _drop_search)


class ContactTemplate(TimestampMixin, db.Model):
    """A named preset for new contacts. Tags are stored by name, groups by id (the taxonomy's
    form fields ``tags`` and ``group_ids``); custom values by field key."""

    __tablename__ = "contact_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    owner_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    custom: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    tags: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    group_ids: Mapped[list] = mapped_column(JSON, nullable=False, default=list)


class ContactPreference(db.Model):
    """One preference of one contact: the core's (language, timezone, contact_time) and those
    plugins register with ``contacts_preference_fields``. Unset preferences have no row."""

    __tablename__ = "contact_preferences"
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), nullable=False)


class ContactStatusChange(db.Model):
    __tablename__ = "contact_status_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(20))  # None: set when the contact was created
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_status_changes_contact", "contact_id", "changed_at"),
        # "changed in the last N days": a range scan from the cutoff, yielding contact ids.
        Index("ix_status_changes_recent", "changed_at", "contact_id"),
    )
