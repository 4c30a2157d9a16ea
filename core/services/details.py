"""A contact's richer record: additional emails, phones and URLs with labels, postal addresses,
job title, birthday, notes and a photo (core/models/details.py).

The primary email and phone stay on ``contacts`` (core/services/contacts.py owns them and the
unique email rule); this module owns the rest. ``create_contact`` / ``update_contact`` take one
dict with both kinds of field (the form and the API), validate the details first, then let the
contacts service save its fields and the details in its one transaction (``also=``), so a failure
leaves neither, and an email clash still gets its message (looked up after the rollback). ``import_many``
saves the ``extra`` part of import records (core/services/importer.py) onto a batch of contacts.
Every change is audited on the contact and bumps its version (so its ETag changes).
"""

from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple

from sqlalchemy import delete, func, literal, null, select, union_all

from ..database import after_commit, transaction
from ..errors import ValidationError
from ..extensions import db
from ..models import Contact, utcnow
from ..models.details import ContactAddress, ContactDetails, ContactPhoto, ContactValue
from ..plugins import hook, record_changed
from ..policy import require
from . import audit, custom_fields, id_lists, taxonomy
from . import contacts as contacts_service
from .details_clean import (  # noqa: F401 - the validation rules, re-exported for callers
    ADDRESS_FIELDS,
    DETAIL_KEYS,
    LIST_KEYS,
    MAX_ROWS,
    PHOTO_MAX_BYTES,
    clean_extra,
    label_of,
    parse_birthday,
    photo_type,
    split,
)

# --- reading --------------------------------------------------------------------------------


def empty() -> dict:
    return {"title": "", "birthday": None, "notes": "", "emails": [], "phones": [], "urls": [], "addresses": [],
            "has_photo": False}


@functools.cache
def _rows_statement(one: bool):
    """Every detail row of the contacts ``ids`` (``id_lists``: one id or several), in ONE query (a
    UNION ALL of the four tables, in the same columns): the contact page and every API answer read
    it. Built once: building and keying this statement cost more than running it."""
    d, v, a, p = ContactDetails, ContactValue, ContactAddress, ContactPhoto

    def row(contact_id, src, kind=None, label=None, value=None, position=None, locality=None, region=None,
            postcode=None, country=None, birthday=None):
        cells = {"kind": kind, "label": label, "value": value, "position": position, "locality": locality,
                 "region": region, "postcode": postcode, "country": country, "birthday": birthday}
        return [contact_id.label("contact_id"), literal(src).label("src"),
                *((null() if c is None else c).label(name) for name, c in cells.items())]

    parts = [
        select(*row(d.contact_id, "d", value=d.title, locality=d.notes, birthday=d.birthday))
        .where(id_lists.matching(d.contact_id, one)),
        select(*row(v.contact_id, "v", kind=v.kind, label=v.label, value=v.value, position=v.position))
        .where(id_lists.matching(v.contact_id, one)),
        select(*row(a.contact_id, "a", label=a.label, value=a.street, position=a.position, locality=a.locality,
                    region=a.region, postcode=a.postcode, country=a.country))
        .where(id_lists.matching(a.contact_id, one)),
        select(*row(p.contact_id, "p")).where(id_lists.matching(p.contact_id, one)),
    ]
    return union_all(*parts).subquery().select()


def _rows_of(ids: list[int]):
    # On the session's connection: plain columns need none of the ORM's result handling.
    return id_lists.execute(db.session.connection(), _rows_statement, ids)


def details_of(contact_ids) -> dict[int, dict]:
    """Every contact's details by id, in one query whatever the number of contacts."""
    ids = list(contact_ids)
    found = {cid: empty() for cid in ids}
    if not ids:
        return found
    values, addresses = [], []
    for row in _rows_of(ids):
        cid, src, kind, label, value, position, locality, region, postcode, country, birthday = row
        if src == "d":
            found[cid].update(title=value, notes=locality, birthday=birthday)
        elif src == "v":
            values.append((cid, kind, position, {"label": label, "value": value}))
        elif src == "a":
            addresses.append((cid, position, {"label": label, "street": value, "locality": locality, "region": region,
                                              "postcode": postcode, "country": country}))
        else:
            found[cid]["has_photo"] = True
    for cid, kind, _position, item in sorted(values, key=lambda r: (r[0], r[1], r[2])):
        found[cid][{"email": "emails", "phone": "phones", "url": "urls"}[kind]].append(item)
    for cid, _position, item in sorted(addresses, key=lambda r: (r[0], r[1])):
        found[cid]["addresses"].append(item)
    return found


def details(contact: Contact) -> dict:
    """The contact's details (cached on the object for the request)."""
    cached = contact.__dict__.get("_details")
    if cached is None:
        cached = details_of([contact.id])[contact.id]
        contact.__dict__["_details"] = cached
    return cached


def attach(contacts) -> list:
    """Load the details of a page of contacts at once (for the API's list)."""
    contacts = list(contacts)
    loaded = details_of(c.id for c in contacts)
    for c in contacts:
        c.__dict__["_details"] = loaded[c.id]
    return contacts


# --- writing --------------------------------------------------------------------------------


def _shown(key: str, value) -> str:
    """A value as the audit trail and the history show it."""
    if key in LIST_KEYS:
        return ", ".join(f"{i['value']} ({i['label']})" for i in value)
    if key == "addresses":
        return "; ".join(", ".join(a[n] for n in ADDRESS_FIELDS if a[n]) + f" ({a['label']})" for a in value)
    return "" if value is None else str(value)


_UNREAD = object()


_SCALARS = ("title", "birthday", "notes")


def _write(contact, values: dict, current: dict | None = None, row=_UNREAD, sink: dict | None = None,
           dry: bool = False) -> dict:
    """Save ``values`` (cleaned) onto ``contact``; return key -> (before, after) as text. In a transaction.
    ``current`` and ``row`` (its ContactDetails or None), when the caller read them for many at once;
    ``sink``: collect the new rows as ``{model: [row dict]}`` for the caller's multi-row inserts.
    ``dry``: only the changes, nothing written (an import's preview: the same comparison)."""
    current = current if current is not None else details_of([contact.id])[contact.id]
    changes = {}

    def add(model, rows):
        if dry:
            return
        if sink is None:
            db.session.add_all(model(**r) for r in rows)
        else:
            sink.setdefault(model, []).extend(rows)

    primaries = None  # worked out for the first list given (an import's row often has only a title)
    for key, kind in LIST_KEYS.items():
        if key not in values:
            continue
        if primaries is None:
            primaries = {"emails": (contact.email or "").lower(), "phones": (contact.phone or "").lower()}
        primary = primaries.get(key)  # the primary email/phone is not repeated among the others
        wanted = [i for i in values[key] if not primary or i["value"].lower() != primary]
        if wanted == current[key]:
            continue
        changes[key] = (_shown(key, current[key]), _shown(key, wanted))
        if current[key] and not dry:
            db.session.execute(delete(ContactValue).where(ContactValue.contact_id == contact.id, ContactValue.kind == kind))
        add(ContactValue, [dict(contact_id=contact.id, kind=kind, position=n, **item) for n, item in enumerate(wanted)])
    if "addresses" in values and values["addresses"] != current["addresses"]:
        changes["addresses"] = (_shown("addresses", current["addresses"]), _shown("addresses", values["addresses"]))
        if current["addresses"] and not dry:
            db.session.execute(delete(ContactAddress).where(ContactAddress.contact_id == contact.id))
        add(ContactAddress, [dict(contact_id=contact.id, position=n, **a) for n, a in enumerate(values["addresses"])])
    scalar = {k: values[k] for k in _SCALARS if k in values and values[k] != current[k]}
    for key, value in scalar.items():
        changes[key] = (_shown(key, current[key]), _shown(key, value))
    if scalar and not dry:
        if row is _UNREAD:
            row = db.session.get(ContactDetails, contact.id)
        if row is None and sink is not None:
            add(ContactDetails, [{"contact_id": contact.id, **dict.fromkeys(_SCALARS), "title": "", "notes": "", **scalar}])
        else:
            row = row or ContactDetails(contact_id=contact.id, title="", notes="")
            db.session.add(row)
            for key, value in scalar.items():
                setattr(row, key, value)
    if isinstance(contact, Contact):
        contact.__dict__.pop("_details", None)
    return changes


def _record(actor, contact: Contact, changes: dict, bump: bool = True) -> None:
    if not changes:
        return
    if bump:
        contact.updated_at = utcnow()  # an UPDATE of the row: the version (and the ETag) moves on
    db.session.flush()
    audit.record(actor, "updated", "contact", contact.id, changes, stamped=bump)  # the bumped row stamps its pages

    after_commit(lambda: hook().contacts_contact_updated(contact=contact, actor=actor, changes=changes))
    record_changed("contact", contact.id, "updated", actor, changes)  # the activity feed: in this transaction


class NewContact(NamedTuple):
    """A contact created in the caller's transaction, for ``import_many``: no details yet, nothing
    to read, and its version is not moved on (it was just created, as ``create_contact`` does)."""

    id: int
    email: str | None
    phone: str


def import_many(actor, items, created: dict | None = None, warnings: list | None = None, dry_run: bool = False) -> int:
    """Save the ``extra`` part of import records (``[(contact, extra)]``, rows the importer already
    checked the actor may edit; ``contact`` is a Contact, or a ``NewContact`` for one the batch
    created; every detail key present replaces what the contact has, absent keys are left alone;
    ``extra["photo"]`` = {"data": bytes} sets the photo) inside the batch's transaction: the current
    details of the batch in two queries (none for new contacts), writes only where something
    differs, as multi-row inserts, one audit entry per changed contact in one insert, and the
    version of a changed existing contact moved on. With ``created`` (a dict), the changes of the
    ``NewContact`` items go there by contact id, for the caller's creation entries, instead of
    entries of their own. Bad values are left out (lenient): with ``warnings`` (a list), ``(contact id,
    [what was left out])`` go there. ``dry_run``: nothing is written; with ``created`` the changes of
    every contact go there (an import's preview: the comparison the import makes). Returns how many
    contacts changed."""
    from .bulk_insert import insert_rows

    items = [(c, extra) for c, extra in items if extra]
    if not items:
        return 0
    ids = [c.id for c, _extra in items if isinstance(c, Contact)]
    current = details_of(ids) if ids else {}
    rows = _details_rows(items, current)
    changed = []
    count = 0
    sink: dict = {}
    for contact, extra in items:
        values, left_out, _errors = clean_extra(extra, lenient=True)
        if left_out and warnings is not None:
            warnings.append((contact.id, left_out))
        known = isinstance(contact, Contact)
        changes = _write(contact, values, current=current[contact.id] if known else _NONE, row=rows.get(contact.id),
                         sink=sink, dry=dry_run) if values else {}
        photo = (extra.get("photo") or {}).get("data") if "photo" in extra else None
        if photo and dry_run:
            if known and photo_type(photo) and _photo_digest(contact.id) != hashlib.sha256(photo).hexdigest():
                changes["photo"] = (None, "new")
        elif photo:
            try:
                changes.update(_set_photo(contact, photo))
            except ValidationError:
                pass  # lenient like the other details: a bad image is left out (the reader warns)
        if changes and dry_run:
            count += 1
            if created is not None:
                created[contact.id] = changes
        elif changes:
            count += 1
            if known:
                contact.updated_at = utcnow()
            if created is not None and not known:
                created[contact.id] = changes
            else:
                changed.append((contact.id, changes))
    if count and not dry_run:
        db.session.flush()
        for model, new_rows in sink.items():
            insert_rows(model.__table__, new_rows)
    if changed:
        audit.record_many(actor, "updated", "contact", changed)
    return count


_NONE = empty()  # a new contact's current details in ``import_many``: read, never changed (``_write`` only reads it)


def _details_rows(items, current: dict) -> dict:
    """The ContactDetails rows (ORM objects) ``import_many`` writes into: only those of the existing
    contacts whose title, birthday or notes change (a re-import that changes nothing loads none;
    it loaded one per matched contact)."""
    wanted = []
    for contact, extra in items:
        if isinstance(contact, Contact) and not extra.keys().isdisjoint(_SCALARS):
            values = clean_extra(extra, lenient=True)[0]
            if any(k in values and values[k] != current[contact.id][k] for k in _SCALARS):
                wanted.append(contact.id)
    if not wanted:
        return {}
    return {r.contact_id: r for r in db.session.scalars(select(ContactDetails).where(ContactDetails.contact_id.in_(wanted)))}


def create_contact(actor, data: dict) -> Contact:
    """Create a contact with its details (the form and the API), in one transaction."""
    core, extra = split(data)
    values, _warnings, errors = clean_extra(extra)
    if errors:
        raise ValidationError(errors)
    if not values:
        contact = contacts_service.create_contact(actor, core)
        contact.__dict__["_details"] = empty()  # a new contact without details: nothing to read
        return contact
    return contacts_service.create_contact(actor, core, also=lambda contact: _write(contact, values, empty(), None))


def _read_back(actor, contact: Contact) -> None:
    """The whole record as the API answers a change with it (details, tags, groups, custom values),
    read at the end of the writing transaction: three small queries instead of a read transaction
    of its own after the commit."""
    db.session.flush()  # detail rows the write added, if any
    contact.__dict__["_details"] = details_of([contact.id])[contact.id]
    taxonomy.preload(actor, [contact])
    custom_fields.preload([contact])


def update_contact(actor, contact_id: int, data: dict, expected_version: int | None, *, read_back: bool = False) -> Contact:
    """Change a contact and its details, in one transaction; only the keys present change.
    ``read_back``: also read the whole record in that transaction (``_read_back``), for the API's answer."""
    core, extra = split(data)
    values, _warnings, errors = clean_extra(extra)
    if errors:
        raise ValidationError(errors)

    def write(contact: Contact) -> dict:
        changes = _write(contact, values)
        if changes:
            contact.updated_at = utcnow()  # an UPDATE of the row: the version (and the ETag) moves on
        return changes

    return contacts_service.update_contact(actor, contact_id, core, expected_version, also=write if values else None,
                                           answer=(lambda contact: _read_back(actor, contact)) if read_back else None)


# --- the photo ------------------------------------------------------------------------------


def _photo_digest(contact_id: int) -> str | None:
    return db.session.scalar(select(ContactPhoto.digest).where(ContactPhoto.contact_id == contact_id))


def _set_photo(contact: Contact, data: bytes) -> dict:
    if not data:
        raise ValidationError({"photo": "Choose an image file."})
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": f"At most {PHOTO_MAX_BYTES // 1024} KB (got {len(data) // 1024} KB)."})
    mime = photo_type(data)
    if mime is None:
        raise ValidationError({"photo": "Use a JPEG, PNG or GIF image."})
    digest = hashlib.sha256(data).hexdigest()
    row = db.session.get(ContactPhoto, contact.id)
    before = row.digest if row is not None else None
    if before == digest:
        return {}
    row = row or ContactPhoto(contact_id=contact.id)
    row.mime, row.data, row.digest, row.updated_at = mime, data, digest, utcnow()
    db.session.add(row)
    if isinstance(contact, Contact):  # not a NewContact of an import batch: it has nothing cached
        contact.__dict__.pop("_details", None)
    return {"photo": (before, digest)}


def set_photo(actor, contact_id: int, data: bytes) -> Contact:
    contact = contacts_service.get_contact(actor, contact_id)
    require(actor, "contact.edit", contact)
    with transaction():
        contact = db.session.get(Contact, contact_id)
        _record(actor, contact, _set_photo(contact, data))
    return contact


def remove_photo(actor, contact_id: int) -> Contact:
    contact = contacts_service.get_contact(actor, contact_id)
    require(actor, "contact.edit", contact)
    with transaction():
        contact = db.session.get(Contact, contact_id)
        row = db.session.get(ContactPhoto, contact_id)
        if row is not None:
            changes = {"photo": (row.digest, None)}
            db.session.delete(row)
            contact.__dict__.pop("_details", None)
            _record(actor, contact, changes)
    return contact


def get_photo(actor, contact_id: int) -> ContactPhoto | None:
    contacts_service.get_contact(actor, contact_id)
    return db.session.get(ContactPhoto, contact_id)


def next_position(contact_id: int, model, kind: str | None = None) -> int:
    stmt = select(func.max(model.position)).where(model.contact_id == contact_id)
    if kind is not None:
        stmt = stmt.where(model.kind == kind)
    highest = db.session.scalar(stmt)
    return 0 if highest is None else highest + 1
