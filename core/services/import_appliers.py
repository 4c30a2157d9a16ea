"""What an import record carries beyond the contact's own columns (``importer.APPLIERS``): its tags
go through the taxonomy (added, never removed: a re-import does not undo tagging done since), and
its title, notes and further phone numbers through the contact details. Each runs inside the
importer's batch transaction, so a batch is written whole or not at all."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Contact
from .fields import normalize_phone


def apply_tags(actor, rows, dry_run: bool) -> None:
    from . import taxonomy

    if dry_run:
        return
    by_names: dict[tuple, list[int]] = {}
    for contact_id, record, _created in rows:
        names = tuple(record.get("tags") or ())
        if names and contact_id:
            by_names.setdefault(names, []).append(contact_id)
    for names, ids in by_names.items():  # one call per distinct set of tags, not one per row
        taxonomy.add_tags(actor, ids, list(names))


def _e164(text: str) -> str:
    try:
        return normalize_phone(text)
    except ValueError:
        return text


def apply_details(actor, rows, dry_run: bool) -> None:
    from . import details

    if dry_run:
        return
    wanted = {contact_id: record for contact_id, record, _created in rows if contact_id and record.get("extra")}
    if not wanted:
        return
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(wanted)))}
    for contact_id, record in wanted.items():
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        extra = dict(record["extra"])
        phones = extra.pop("phones", None) or []
        others = [p for p in phones if _e164(p) != contact.phone]  # the first valid one is the contact's own
        if others:
            extra["phones"] = [{"label": "other", "value": p} for p in others]
        if extra:
            details.apply_extra(actor, contact, extra, lenient=True)


def register(appliers: list) -> None:
    for fn in (apply_tags, apply_details):
        if fn not in appliers:
            appliers.append(fn)
