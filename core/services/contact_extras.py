"""What the contacts service does besides the contact row: custom field values and the status
history, validated with the contact's own fields and written in the same transaction.

core/services/contacts.py calls ``clean`` (instead of its own ``_clean`` alone) and ``apply``
(after the contact row is written); bulk actions call ``status_history.record_many``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select

from ..database import transaction
from ..errors import ValidationError
from ..models import Contact, CustomFieldValue, utcnow
from . import custom_fields, status_history
from .fields import clean_text

EXTRA_KEYS = ("custom_fields", "status_reason")


@dataclass
class Extras:
    custom: dict = field(default_factory=dict)  # CustomField -> typed value
    reason: str = ""


def clean(data: dict, existing: Contact | None, clean_core):
    """Validate the contact's own fields (``clean_core(data)``) and the extras together, so one
    422 names every bad field. Returns ``(core values, Extras)``."""
    core = {k: v for k, v in data.items() if k not in EXTRA_KEYS}
    errors: dict = {}
    values = None
    extras = Extras()
    try:
        values = clean_core(core)
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        extras.custom = custom_fields.clean_values(data.get("custom_fields"), creating=existing is None)
    except ValidationError as exc:
        errors.update(exc.errors)
    extras.reason = clean_text(data.get("status_reason"), "status_reason", errors, status_history.REASON_MAX)
    if errors:
        raise ValidationError(errors)
    return values, extras


def apply(actor, contact: Contact, extras: Extras, changes: dict, created: bool = False) -> dict:
    """Write the extras of a contact just created or changed (row flushed, inside the
    transaction); return the custom-field changes to add to the audit entry."""
    more = custom_fields.write_values(contact, extras.custom, created=created)
    if more and not changes and not created:
        contact.updated_at = utcnow()  # a new version: ETags and stale-edit checks see the change
    if created:
        status_history.record(actor, contact.id, None, contact.status, extras.reason)
    elif "status" in changes:
        before, after = changes["status"]
        status_history.record(actor, contact.id, before, after, extras.reason)
    return more


# --- merge of custom values ------------------------------------------------------------------


def merge_custom_values(target, source) -> dict | None:
    """Fields the target has no value for get copies of the source's values; the source keeps its
    rows. The undo record lists the ids of the copies."""
    with transaction() as session:
        have = set(session.scalars(select(CustomFieldValue.field_id).where(CustomFieldValue.contact_id == target.id)))
        rows = session.scalars(
            select(CustomFieldValue).where(CustomFieldValue.contact_id == source.id).order_by(CustomFieldValue.id)
        ).all()
        copies = [
            CustomFieldValue(
                field_id=r.field_id, contact_id=target.id, value_text=r.value_text, value_long=r.value_long,
                value_number=r.value_number, value_date=r.value_date, value_bool=r.value_bool,
            )
            for r in rows if r.field_id not in have
        ]
        session.add_all(copies)
        session.flush()
    return {"copied": [c.id for c in copies]} if copies else None


def unmerge_custom_values(target, source, record: dict) -> None:
    ids = [i for i in record.get("copied", []) if isinstance(i, int)]
    if ids:
        with transaction() as session:
            session.execute(
                delete(CustomFieldValue).where(CustomFieldValue.id.in_(ids), CustomFieldValue.contact_id == target.id)
            )
