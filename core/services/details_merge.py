"""The merge contract (core/hookspecs.py ``contacts_contacts_merged`` / ``_unmerged``) for the
detail rows: the source's extra emails, phones, URLs and addresses move to the target, exact
duplicates of what the target already has are dropped, the target's empty job title, birthday and
notes take the source's and a target without a photo gets a copy of the source's (the merge's rule
for every field: the target's value unless it is empty), and an unmerge puts every row and value
back."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..database import transaction
from ..extensions import db
from ..models.details import ContactAddress, ContactDetails, ContactPhoto, ContactValue
from . import audit
from .details import ADDRESS_FIELDS, next_position

UNDO_KEY = "core_details"  # the name core/plugins.py registers core/details_hooks.py under
SCALARS = ("title", "birthday", "notes")


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _fill_scalars(target, source) -> dict | None:
    """The target's empty title, birthday and notes take the source's; the undo record's part."""
    theirs = db.session.get(ContactDetails, source.id)
    if theirs is None:
        return None
    mine = db.session.get(ContactDetails, target.id)
    values = {n: getattr(theirs, n) for n in SCALARS
              if getattr(theirs, n) not in (None, "") and (mine is None or getattr(mine, n) in (None, ""))}
    if not values:
        return None
    created = mine is None
    if created:
        mine = ContactDetails(contact_id=target.id, title="", notes="")
        db.session.add(mine)
    for name, value in values.items():
        setattr(mine, name, value)
    return {"created": created, "values": {n: _plain(v) for n, v in values.items()}}


def _copy_photo(target, source) -> str | None:
    """A target without a photo gets a copy of the source's (the source keeps its own); its digest."""
    theirs = db.session.get(ContactPhoto, source.id)
    if theirs is None or db.session.get(ContactPhoto, target.id) is not None:
        return None
    db.session.add(ContactPhoto(contact_id=target.id, mime=theirs.mime, data=theirs.data, digest=theirs.digest,
                                updated_at=theirs.updated_at))
    return theirs.digest


def _drop_photo_copy(target, digest) -> int:
    mine = db.session.get(ContactPhoto, target.id) if isinstance(digest, str) else None
    if mine is None or mine.digest != digest:  # replaced since: the new photo stays
        return 0
    db.session.delete(mine)
    return 1


def _unfill_scalars(target, record) -> int:
    """Undo ``_fill_scalars``: each value the target still holds as the merge left it is emptied (a
    row the merge made goes when it is empty again); values changed since stay."""
    mine = db.session.get(ContactDetails, target.id) if isinstance(record, dict) else None
    if mine is None:
        return 0
    restored = 0
    for name, value in (record.get("values") or {}).items():
        if name in SCALARS and _plain(getattr(mine, name)) == value:
            setattr(mine, name, None if name == "birthday" else "")
            restored += 1
    if record.get("created") and all(getattr(mine, n) in (None, "") for n in SCALARS):
        db.session.delete(mine)
    return restored


def _value_key(row: ContactValue) -> tuple:
    return row.kind, row.value.lower()


def _address_key(row: ContactAddress) -> tuple:
    return tuple(getattr(row, n).strip().lower() for n in ADDRESS_FIELDS)


def _address_row(row: ContactAddress) -> dict:
    return {"label": row.label, "position": row.position, **{n: getattr(row, n) for n in ADDRESS_FIELDS}}


def repoint(target, source, actor) -> dict | None:
    """Move ``source``'s detail rows to ``target``; return the undo record or None."""
    with transaction():
        record = {"values": [], "dropped_values": [], "addresses": [], "dropped_addresses": []}
        held = {_value_key(r) for r in db.session.scalars(select(ContactValue).where(ContactValue.contact_id == target.id))}
        held |= {("email", (target.email or "").lower()), ("phone", (target.phone or "").lower())}
        positions: dict = {}
        rows = db.session.scalars(
            select(ContactValue).where(ContactValue.contact_id == source.id).order_by(ContactValue.position, ContactValue.id)
        )
        for row in list(rows):
            if _value_key(row) in held:
                record["dropped_values"].append({"kind": row.kind, "label": row.label, "value": row.value,
                                                 "position": row.position})
                db.session.delete(row)
                continue
            held.add(_value_key(row))
            if row.kind not in positions:
                positions[row.kind] = next_position(target.id, ContactValue, row.kind)
            record["values"].append({"id": row.id, "position": row.position})
            row.contact_id, row.position = target.id, positions[row.kind]
            positions[row.kind] += 1
        held_addresses = {
            _address_key(r) for r in db.session.scalars(select(ContactAddress).where(ContactAddress.contact_id == target.id))
        }
        position = next_position(target.id, ContactAddress)
        rows = db.session.scalars(
            select(ContactAddress).where(ContactAddress.contact_id == source.id).order_by(ContactAddress.position)
        )
        for row in list(rows):
            if _address_key(row) in held_addresses:
                record["dropped_addresses"].append(_address_row(row))
                db.session.delete(row)
                continue
            held_addresses.add(_address_key(row))
            record["addresses"].append({"id": row.id, "position": row.position})
            row.contact_id, row.position = target.id, position
            position += 1
        scalars = _fill_scalars(target, source)
        if scalars:
            record["scalars"] = scalars
        photo = _copy_photo(target, source)
        if photo:
            record["photo"] = photo
        if not any(record.values()):
            return None
        db.session.flush()
        audit.record(actor, "merged", "contact_details", source.id, {
            "contact_id": (source.id, target.id),
            "moved": (None, len(record["values"]) + len(record["addresses"])),
            "duplicates": (None, len(record["dropped_values"]) + len(record["dropped_addresses"])),
            **({"filled": (None, sorted(scalars["values"] if scalars else ()) + (["photo"] if photo else []))}
               if scalars or photo else {}),
        })
    return record


def unrepoint(target, source, actor, record: dict | None) -> int:
    """Undo ``repoint``: moved rows still on ``target`` go back with their old positions, dropped
    duplicates are re-created on ``source`` unless it holds them again. Idempotent."""
    if not isinstance(record, dict) or not record:
        return 0
    restored = 0
    with transaction():
        for model, moved_key, dropped_key in (
            (ContactValue, "values", "dropped_values"),
            (ContactAddress, "addresses", "dropped_addresses"),
        ):
            for item in record.get(moved_key) or []:
                row = db.session.get(model, int(item["id"]))
                if row is not None and row.contact_id == target.id:
                    row.contact_id, row.position = source.id, int(item["position"])
                    restored += 1
            db.session.flush()
            on_source = list(db.session.scalars(select(model).where(model.contact_id == source.id)))
            for item in record.get(dropped_key) or []:
                if model is ContactValue:
                    key = (item["kind"], item["value"].lower())
                    if any(_value_key(r) == key for r in on_source):
                        continue
                    row = ContactValue(contact_id=source.id, kind=item["kind"], label=item["label"],
                                       value=item["value"], position=int(item["position"]))
                else:
                    key = tuple(str(item.get(n, "")).strip().lower() for n in ADDRESS_FIELDS)
                    if any(_address_key(r) == key for r in on_source):
                        continue
                    row = ContactAddress(contact_id=source.id, label=item["label"], position=int(item["position"]),
                                         **{n: item.get(n, "") for n in ADDRESS_FIELDS})
                db.session.add(row)
                on_source.append(row)
                restored += 1
        restored += _unfill_scalars(target, record.get("scalars"))
        restored += _drop_photo_copy(target, record.get("photo"))
        db.session.flush()
        if restored:
            audit.record(actor, "unmerged", "contact_details", source.id,
                         {"contact_id": (target.id, source.id), "restored": (None, restored)})
    return restored
