"""The merge contract (core/hookspecs.py ``contacts_contacts_merged`` / ``_unmerged``) for the
detail rows: the source's extra emails, phones, URLs and addresses move to the target, exact
duplicates of what the target already has are dropped, and an unmerge puts every row back."""

from __future__ import annotations

from sqlalchemy import select

from ..database import transaction
from ..extensions import db
from ..models.details import ContactAddress, ContactValue
from . import audit
from .details import ADDRESS_FIELDS, next_position

UNDO_KEY = "core_details"  # the name core/plugins.py registers core/details_hooks.py under


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
        if not any(record.values()):
            return None
        db.session.flush()
        audit.record(actor, "merged", "contact_details", source.id, {
            "contact_id": (source.id, target.id),
            "moved": (None, len(record["values"]) + len(record["addresses"])),
            "duplicates": (None, len(record["dropped_values"]) + len(record["dropped_addresses"])),
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
        db.session.flush()
        if restored:
            audit.record(actor, "unmerged", "contact_details", source.id,
                         {"contact_id": (target.id, source.id), "restored": (None, restored)})
    return restored
