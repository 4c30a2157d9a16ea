"""Custom fields: admin-defined typed fields on contacts (definitions, validation, values).

Values are rows of ``custom_field_values`` with one typed column per kind (see
core/models/contact_data.py for why); queries over them (filters, sorting, export) live in
core/services/custom_field_queries.py. Errors name the field ``custom.<key>``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import date

from flask import g
from sqlalchemy import delete, select

from ..database import transaction
from ..errors import NotFound, ValidationError
from ..extensions import cache, db
from ..models import MAX_ID, Contact, CustomField, CustomFieldValue
from ..models.contact_data import FIELD_KINDS
from ..policy import require
from . import audit, cache_keys, id_lists
from .fields import clean_text

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CHOICE_KINDS = ("choice", "multi_choice")
COLUMN_OF = {
    "text": "value_text", "url": "value_text", "choice": "value_text", "multi_choice": "value_text",
    "long_text": "value_long", "number": "value_number", "date": "value_date", "boolean": "value_bool",
}
SORTABLE = ("text", "url", "choice", "number", "date", "boolean")
MAX_LEN = {"text": 500, "url": 500, "long_text": 10000}
TRUE = {"1", "true", "yes", "on", "y"}
FALSE = {"0", "false", "no", "off", "n"}


def error_key(field: FieldDef) -> str:
    return f"custom.{field.key}"


# --- definitions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    """A field definition as the rest of the app reads it: plain data, cached across requests."""

    id: int
    key: str
    label: str
    kind: str
    required: bool
    choices: tuple
    position: int
    archived: bool


_CACHE_KEY = "custom_fields:definitions"


def definitions(include_archived: bool = False) -> list[FieldDef]:
    """Field definitions in display order. Read on every form, list page and contact write, so
    cached (like the vocabularies); every change of a definition drops the cache."""
    found = g.get("_custom_fields")
    if found is None:
        found = cache_keys.kept(_CACHE_KEY)
        if found is None:
            rows = db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.id)).all()
            found = [
                (f.id, f.key, f.label, f.kind, f.required, tuple(f.choices or ()), f.position, f.archived) for f in rows
            ]
            cache.set(_CACHE_KEY, found, timeout=300)
        found = [FieldDef(*row) for row in found]
        g._custom_fields = found
    return [f for f in found if include_archived or not f.archived]


def by_key(include_archived: bool = True) -> dict[str, FieldDef]:
    return {f.key: f for f in definitions(include_archived)}


def _forget() -> None:
    g.pop("_custom_fields", None)
    cache.delete(_CACHE_KEY)


def get_field(actor, field_id: int) -> CustomField:
    require(actor, "admin.custom_fields")
    field = db.session.get(CustomField, field_id) if 0 < field_id <= MAX_ID else None
    if field is None:
        raise NotFound("No such custom field.")
    return field


def _clean_definition(data: dict, existing: CustomField | None) -> dict:
    errors: dict = {}
    out: dict = {}
    if existing is None:
        key = clean_text(data.get("key"), "key", errors, 40, required=True).lower()
        if key and not KEY_RE.match(key):
            errors["key"] = "Start with a letter; use lower-case letters, digits and _ only (at most 40)."
        elif key and db.session.scalar(select(CustomField.id).where(CustomField.key == key)):
            errors["key"] = f"The field '{key}' already exists (perhaps archived)."
        out["key"] = key
        kind = str(data.get("kind") or "")
        if kind not in FIELD_KINDS:
            errors["kind"] = f"Choose one of: {', '.join(FIELD_KINDS)}."
        out["kind"] = kind
    elif "key" in data and data["key"] != existing.key:
        errors["key"] = "The key cannot change (stored data and integrations use it)."
    elif "kind" in data and data["kind"] != existing.kind:
        errors["kind"] = "The kind cannot change once the field exists."
    kind = out.get("kind") or (existing.kind if existing else "")
    if "label" in data or existing is None:
        out["label"] = clean_text(data.get("label"), "label", errors, 100, required=True)
    for flag in ("required", "archived"):
        if flag in data:
            out[flag] = _flag(data[flag])
    if "position" in data:
        try:
            out["position"] = int(data["position"] or 0)
            if not -10000 <= out["position"] <= 10000:
                raise ValueError
        except (TypeError, ValueError):
            errors["position"] = "A whole number between -10000 and 10000."
    if "choices" in data or (existing is None and kind in CHOICE_KINDS):
        choices = _choices(data.get("choices"), errors)
        if kind in CHOICE_KINDS and not choices and "choices" not in errors:
            errors["choices"] = "Give at least one choice (one per line)."
        elif kind not in CHOICE_KINDS and choices:
            errors["choices"] = "Only choice fields have choices."
        if existing is not None and kind in CHOICE_KINDS and "choices" not in errors:
            used = _used_choices(existing)
            lost = sorted(used - set(choices))
            if lost:
                errors["choices"] = f"Still used by contacts, so keep: {', '.join(lost)}."
        out["choices"] = choices
    if errors:
        raise ValidationError(errors)
    return out


def _flag(value) -> bool:
    return value is True or str(value).strip().lower() in TRUE


def _choices(raw, errors: dict) -> list[str]:
    items = raw.splitlines() if isinstance(raw, str) else list(raw or [])
    out: list[str] = []
    for item in items:
        text = clean_text(item, "choices", errors, 100)
        if text and text not in out:
            out.append(text)
    if len(out) > 200:
        errors["choices"] = "At most 200 choices."
    return out


def _used_choices(field: CustomField) -> set[str]:
    rows = db.session.scalars(
        select(CustomFieldValue.value_text).where(CustomFieldValue.field_id == field.id).distinct()
    )
    return set(rows)


def create_field(actor, data: dict) -> CustomField:
    require(actor, "admin.custom_fields")
    values = _clean_definition(data, None)
    with transaction():
        position = (db.session.scalar(select(db.func.max(CustomField.position))) or 0) + 1
        field = CustomField(**({"position": position, "required": False, "archived": False, "choices": []} | values))
        db.session.add(field)
        db.session.flush()
        audit.record(actor, "created", "custom_field", field.id, {k: (None, v) for k, v in values.items()})
    _forget()
    return field


def update_field(actor, field_id: int, data: dict) -> CustomField:
    field = get_field(actor, field_id)
    values = _clean_definition(data, field)
    with transaction():
        field = db.session.get(CustomField, field_id)
        changes = {}
        for name, value in values.items():
            if getattr(field, name) != value:
                changes[name] = (getattr(field, name), value)
                setattr(field, name, value)
        if changes:
            audit.record(actor, "updated", "custom_field", field.id, changes)
        if "choices" in changes:
            from .contact_templates import forget_choices  # it imports this module

            forget_choices(actor, field.key, field.choices)
    _forget()
    return field


# --- values --------------------------------------------------------------------------------


def clean_value(field: FieldDef, raw):
    """The typed value of ``raw`` for ``field`` (None when empty); ValueError with a message
    for the user when it does not fit the kind."""
    kind = field.kind
    if kind == "multi_choice":
        items = raw if isinstance(raw, (list, tuple)) else ([] if raw in (None, "") else str(raw).split(","))
        chosen = []
        for item in items:
            if not isinstance(item, str):
                raise ValueError("Give a list of choices.")
            item = item.strip()
            if item and item not in field.choices:
                raise ValueError(f"'{item[:50]}' is not one of: {', '.join(field.choices)}.")
            if item and item not in chosen:
                chosen.append(item)
        return sorted(chosen, key=field.choices.index) or None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE or text in FALSE:
            return text in TRUE
        raise ValueError("Choose yes or no.")
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise ValueError("Must be a number.")
        if isinstance(raw, str) and "," in raw:  # 1,5 or 1,500? a comma is ambiguous
            raise ValueError("Use digits and a dot for decimals, e.g. 1500 or 3.5.")
        try:
            number = float(raw.strip()) if isinstance(raw, str) else float(raw)
        except OverflowError:  # an integer past a float's range (a JSON 1e400 written out in digits)
            raise ValueError("Must be a number below 10^15.") from None
        except ValueError:
            raise ValueError("Must be a number, e.g. 42 or 3.5.") from None
        if not math.isfinite(number) or abs(number) >= 1e15:
            raise ValueError("Must be a number below 10^15.")
        return number
    if kind == "date":
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError("Must be a date like 2026-01-31.") from None
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        raise ValueError("Must be text.")
    text = str(raw).strip()
    if "\x00" in text:
        raise ValueError("Contains a NUL character.")
    if kind in MAX_LEN and len(text) > MAX_LEN[kind]:
        raise ValueError(f"At most {MAX_LEN[kind]} characters (got {len(text)}).")
    if kind == "choice" and text not in field.choices:
        raise ValueError(f"Choose one of: {', '.join(field.choices)}.")
    if kind == "url":
        if "://" not in text:
            text = "https://" + text
        scheme, _, rest = text.partition("://")
        host = rest.split("/", 1)[0]
        if scheme.lower() not in ("http", "https") or not host or " " in text or "." not in host:
            raise ValueError("Enter a web address such as https://example.org.")
    return text


def clean_values(data, *, creating: bool, check_required: bool = True) -> dict[FieldDef, object]:
    """Check ``{key: raw}`` against the active definitions; ``{field: typed value}``. Creating,
    every required field must have a value; editing, only those sent are checked."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError({"custom_fields": "Must be an object {key: value}."})
    fields = by_key()
    errors: dict = {}
    out: dict = {}
    for key in data:
        field = fields.get(key)
        if field is None:
            errors[f"custom.{str(key)[:40]}"] = "Unknown custom field."
        elif field.archived:
            errors[error_key(field)] = "This field is archived; it cannot be changed."
    for field in definitions():
        if field.key not in data:
            if creating and field.required and check_required:
                errors[error_key(field)] = "This field is required."
            continue
        try:
            value = clean_value(field, data[field.key])
        except ValueError as exc:
            errors[error_key(field)] = str(exc)
            continue
        if value is None and field.required and check_required:
            errors[error_key(field)] = "This field is required."
            continue
        out[field] = value
    if errors:
        raise ValidationError(errors)
    return out


def _rows_for(field: FieldDef, contact_id: int, value) -> list[CustomFieldValue]:
    if value is None:
        return []
    column = COLUMN_OF[field.kind]
    items = value if field.kind == "multi_choice" else [value]
    return [CustomFieldValue(field_id=field.id, contact_id=contact_id, **{column: item}) for item in items]


def write_values(contact: Contact, cleaned: dict, *, created: bool = False, dry: bool = False) -> dict:
    """Store cleaned values on ``contact`` (inside the caller's transaction); returns the
    changes ``{"custom.<key>": (before, after)}`` for the audit entry. ``created``: the contact was
    inserted in this transaction, so it had no values, and has exactly these afterwards (``values_for``
    answers from them: the API's answer to a create reads nothing after the commit). ``dry``: only
    the changes, nothing written (an import's preview: the comparison the import makes)."""
    if not cleaned:
        if created:
            _remember_created(contact.id, {})
        return {}
    current = {} if created else values_of([contact.id], include_archived=True).get(contact.id, {})
    changes = {}
    replaced, rows = [], []  # the fields whose rows go, in one DELETE (none for a contact created in this transaction)
    for field, value in cleaned.items():
        before = current.get(field.key)
        after = jsonable(field, value)
        if before == after:
            continue
        if field.kind == "multi_choice":  # the audit trail holds scalars
            changes[error_key(field)] = (", ".join(before) if before else None, ", ".join(after) if after else None)
        else:
            changes[error_key(field)] = (before, after)
        if not created:
            replaced.append(field.id)
        rows += _rows_for(field, contact.id, value)
    if dry:
        return changes
    if replaced:
        db.session.execute(
            delete(CustomFieldValue).where(CustomFieldValue.contact_id == contact.id,
                                           CustomFieldValue.field_id.in_(replaced))
        )
    db.session.add_all(rows)
    if changes:
        db.session.flush()
        g.get("_custom_values", {}).pop(contact.id, None)
    if created:
        _remember_created(contact.id, cleaned)
    return changes


def _remember_created(contact_id: int, cleaned: dict) -> None:
    """What ``values_of`` would read for a contact created with ``cleaned``: the rows ``_rows_for``
    wrote, shown as ``values_of`` shows them (active fields, choices in their order)."""
    shown = {}
    for field, value in cleaned.items():
        if field.archived or not _rows_for(field, contact_id, value):
            continue
        shown[field.key] = jsonable(field, value)
        if field.kind == "multi_choice":
            shown[field.key].sort(key=lambda v, f=field: f.choices.index(v) if v in f.choices else len(f.choices))
    g.setdefault("_custom_values", {})[contact_id] = shown


def jsonable(field: FieldDef, value):
    """A typed value as the API shows it: dates as ISO text, whole numbers as ints."""
    if value is None:
        return None
    if field.kind == "date":
        return value.isoformat()
    if field.kind == "number" and float(value).is_integer():
        return int(value)
    if field.kind == "multi_choice":
        return list(value)
    return value


@functools.cache
def _values_query(one: bool):
    """The value rows (plain columns) of the contacts ``ids`` (``id_lists``: one id or several), every
    field's: built once, as every contact page and API answer reads it. The fields asked for are
    picked from the rows (a contact has a few values): an expanding ``IN`` of them would be rendered
    at every run."""
    v = CustomFieldValue
    return (
        select(v.contact_id, v.field_id, *(getattr(v, column) for column in sorted(set(COLUMN_OF.values()))))
        .where(id_lists.matching(v.contact_id, one))
        .order_by(v.id)
    )


def values_of(contact_ids, include_archived: bool = False) -> dict[int, dict]:
    """``{contact_id: {key: value}}`` (API form) for the given contacts; one query, on the session's
    connection (the ORM's handling of a plain select was most of its cost), after the flush the
    session's own execute would have made (values written in this transaction count)."""
    ids = list(contact_ids)
    if not ids:
        return {}
    fields = {f.id: f for f in definitions(include_archived=True) if include_archived or not f.archived}
    out: dict[int, dict] = {cid: {} for cid in ids}
    if not fields:
        return out
    session = db.session()
    if session.autoflush:
        session.flush()
    for row in id_lists.execute(session.connection(), _values_query, ids):
        field = fields.get(row.field_id)
        if field is None:  # an archived field's (unless asked for)
            continue
        value = getattr(row, COLUMN_OF[field.kind])
        if field.kind == "multi_choice":
            out[row.contact_id].setdefault(field.key, []).append(value)
        else:
            out[row.contact_id][field.key] = jsonable(field, value)
    multi = {f.key: f for f in fields.values() if f.kind == "multi_choice"}
    for values in out.values() if multi else ():
        for key, value in values.items():
            field = multi.get(key)
            if field is not None:
                value.sort(key=lambda v, f=field: f.choices.index(v) if v in f.choices else len(f.choices))
    return out


def preload(contacts) -> None:
    """Load the custom values of a page of contacts at once (for the API's list)."""
    cache = g.setdefault("_custom_values", {})
    cache.update(values_of([c.id for c in contacts if c.id not in cache]))


def values_for(contact: Contact) -> dict:
    cache = g.setdefault("_custom_values", {})
    if contact.id not in cache:
        cache.update(values_of([contact.id]))
    return cache[contact.id]


def display(field: FieldDef, value) -> str:
    """A value as people read it."""
    if value is None or value == []:
        return ""
    if field.kind == "boolean":
        return "Yes" if value else "No"
    if field.kind == "multi_choice":
        return ", ".join(value)
    return str(value)
