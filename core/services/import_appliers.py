"""What an import record carries beyond the contact's own columns (``importer.APPLIERS``): its tags
go through the taxonomy (added, never removed: a re-import does not undo tagging done since), and
its title, notes, birthday, further emails, phone numbers, URLs and addresses and its photo
through the contact details. Each runs inside the importer's batch transaction, so a batch is written whole or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from ..extensions import db
from ..models import Contact, utcnow
from .fields import normalize_phone

# The contacts the batch being written created, as written: id -> (email, phone) (``written``).
_WRITTEN: ContextVar[dict | None] = ContextVar("import_written", default=None)


@contextmanager
def written(contacts: dict) -> Iterator[None]:
    """Within the block, the appliers know the primary email and phone of the contacts the batch
    created (``{id: (email, phone)}``, as import_writer inserted them) without reading them back."""
    token = _WRITTEN.set(contacts)
    try:
        yield
    finally:
        _WRITTEN.reset(token)


def apply_tags(actor, rows, dry_run: bool) -> dict | None:
    """Returns the changes of the contacts the batch created (for their creation entries)."""
    from . import taxonomy

    by_names: dict[tuple, list[int]] = {}
    for contact_id, record, created in rows:
        names = tuple(record.get("tags") or ())
        if names and contact_id:
            by_names.setdefault((created, names), []).append(contact_id)
    folded: dict = {}
    for (created, names), ids in by_names.items():  # one call per distinct set of tags, not one per row
        if dry_run:  # the existing contacts it would change: the preview counts them as updated
            from . import tags

            folded.update(tags.would_add(actor, ids, list(names)))
        else:
            taxonomy.add_tags(actor, ids, list(names), folded if created else None)
    return folded


def _e164(text: str) -> str:
    try:
        return normalize_phone(text)
    except ValueError:
        return text


def apply_details(actor, rows, dry_run: bool) -> dict | None:
    """Returns the changes of the contacts the batch created (for their creation entries); in a dry
    run, those the batch's existing contacts would have (nothing is written). What a row leaves out
    (a bad birthday, email, phone...) goes into its record as ``detail_warnings``."""
    from . import details

    wanted = {}  # contact id (in a dry run, a stand-in for a row that creates) -> (extra, phones, created, has_phone, record)
    for n, (contact_id, record, created) in enumerate(rows, start=1):
        if (contact_id or dry_run) and record.get("extra"):
            extra = dict(record["extra"])
            cells = extra.pop("phones", None) or ()
            has_phone = bool(record.get("phone"))
            # A single phone that is the contact's own (the common case): nothing more to write.
            if extra or len(cells) > 1 or (cells and not has_phone):
                phones = [p if isinstance(p, dict) else {"label": "other", "value": p} for p in cells]
                wanted[contact_id or -n] = (extra, phones, created, has_phone, record)
    if not wanted:
        return None
    # Contacts the batch created are not loaded: their id and primary phone/email are enough (as the
    # writer inserted them, else read back).
    known = _WRITTEN.get() or {}
    contacts = {}
    new = []  # created ones the writer did not say
    for cid, (_e, _p, created, _h, _r) in wanted.items():
        if created and cid > 0:
            written = known.get(cid)
            if written is None:
                new.append(cid)
            else:
                contacts[cid] = details.NewContact(cid, *written)
    if new:
        contacts.update((cid, details.NewContact(cid, email, phone)) for cid, email, phone in db.session.execute(
            select(Contact.id, Contact.email, Contact.phone).where(Contact.id.in_(new))))
    if dry_run:
        for cid, (_e, phones, _c, _h, record) in wanted.items():
            if cid < 0:  # a dry run's row that creates: its own email and first valid phone
                contacts[cid] = details.NewContact(cid, record.get("email"), _first_e164(phones))
    old = [cid for cid in wanted if cid not in contacts]
    for cid in old:  # matched contacts: the importer loaded them in this transaction
        loaded = db.session.identity_map.get(identity_key(Contact, cid))
        if loaded is not None:
            contacts[cid] = loaded
    old = [cid for cid in old if cid not in contacts]
    if old:
        contacts.update((c.id, c) for c in db.session.scalars(select(Contact).where(Contact.id.in_(old))))
    items = []
    for contact_id, (extra, phones, _created, has_phone, _record) in wanted.items():
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        # The first valid one is the contact's own phone; the others (all, when none was valid)
        # become the extra phones, with their labels.
        if len(phones) > 1 or (phones and not has_phone):
            extra["phones"] = [p for p in phones if _e164(p["value"]) != contact.phone]
        items.append((contact, extra))
    folded: dict = {}
    warnings: list = []
    # The whole batch at once: two reads, writes only where it differs (none in a dry run).
    details.import_many(actor, items, folded, warnings, dry_run=dry_run)
    for contact_id, messages in warnings:
        wanted[contact_id][4]["detail_warnings"] = messages  # set, not added to: a batch done again says it once
    if dry_run:
        return {cid: changes for cid, changes in folded.items() if cid > 0}
    return folded


def _first_e164(phones: list) -> str:
    for item in phones:
        try:
            return normalize_phone(item["value"])
        except ValueError:
            continue
    return ""


def register(appliers: list) -> None:
    for fn in (apply_tags, apply_details, apply_custom):
        if fn not in appliers:
            appliers.append(fn)


def tag_names(names) -> list[str]:
    """A record's tag names cleaned like the tag form's (length, no comma, duplicates dropped); a
    ValidationError naming ``tags`` otherwise, so a bad name rejects its row and not the batch."""
    from . import tags

    errors: dict = {}
    cleaned = tags.parse_names(list(names), errors, "tags")
    if errors:
        from ..errors import ValidationError

        raise ValidationError(errors)
    return cleaned


def custom_values(custom: dict) -> dict:
    """``{key: text}`` cells of custom fields as ``{key: value}`` (API form); a ValidationError
    naming each bad cell (``custom.<key>``) otherwise."""
    from . import custom_field_queries, custom_fields

    fields = custom_fields.by_key(include_archived=False)
    errors: dict = {}
    out: dict = {}
    for key, text in custom.items():
        field = fields.get(key)
        if field is None:
            errors[f"custom.{str(key)[:40]}"] = "No such custom field (or it is archived)."
            continue
        try:
            out[key] = custom_field_queries.import_value(field, text)
        except ValueError as exc:
            errors[custom_fields.error_key(field)] = str(exc)
    if errors:
        from ..errors import ValidationError

        raise ValidationError(errors)
    return out


def apply_custom(actor, rows, dry_run: bool) -> dict | None:
    """Custom-field cells onto the contacts (checked when the row was validated); one audit entry
    per changed existing contact (the changes of contacts the batch created are returned, for
    their creation entries). Cells left empty leave the stored value alone, as for the core fields."""
    from . import audit, custom_fields

    wanted = {cid: record["custom_values"] for cid, record, _created in rows if cid and record.get("custom_values")}
    if not wanted:
        return None
    new = {cid for cid, _record, created in rows if created}
    folded: dict = {}
    contacts = {c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(wanted)))}
    for contact_id, values in wanted.items():
        values = {k: v for k, v in values.items() if v is not None}
        contact = contacts.get(contact_id)
        if contact is None or not values:
            continue
        cleaned = custom_fields.clean_values(values, creating=False, check_required=False)
        changes = custom_fields.write_values(contact, cleaned, dry=dry_run)
        if changes and (dry_run or contact_id in new):
            folded[contact_id] = changes
        elif changes:
            contact.updated_at = utcnow()  # a new version, as the form gives: ETags and stale-edit checks see it
            audit.record(actor, "updated", "contact", contact.id, changes)
    return folded
