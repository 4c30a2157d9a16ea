"""Per-contact preferences: the core's (language, timezone, preferred contact time) and those
plugins register with the ``contacts_preference_fields`` hook. One row per set preference, except
for fields a plugin keeps in its own table (``PreferenceField.store``), read and written here too."""

from __future__ import annotations

import functools
import re
import zoneinfo

from sqlalchemy import bindparam, delete, select

from ..database import after_commit, transaction
from ..errors import ValidationError
from ..extensions import db
from ..models import Contact, ContactPreference
from ..plugins import collect, hook
from ..policy import require
from ..ui import PreferenceField
from . import audit
from .records import get_owned

LANGUAGE_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$")
CONTACT_TIMES = [
    ("morning", "Morning (8–12)"), ("afternoon", "Afternoon (12–17)"), ("evening", "Evening (17–21)"),
    ("weekdays", "Weekdays, any time"), ("weekends", "Weekends"),
]
MAX_LEN = 200


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def clean_language(value: str) -> str:
    if not LANGUAGE_RE.match(value):
        raise ValueError("A language tag such as en, de or pt-BR.")
    head, *rest = value.split("-")
    return "-".join([head.lower(), *[p.upper() if len(p) == 2 else p for p in rest]])


def clean_timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError("An IANA time zone such as Europe/Berlin or America/New_York.")
    return value


def core_fields() -> list[PreferenceField]:
    return [
        PreferenceField("language", "Language", clean=clean_language, hint="e.g. en, de, pt-BR", order=10),
        PreferenceField("timezone", "Time zone", clean=clean_timezone, hint="e.g. Europe/Berlin", order=20),
        PreferenceField("contact_time", "Preferred contact time", options=lambda: CONTACT_TIMES, order=30),
    ]


def fields() -> list[PreferenceField]:
    """Every preference field (the core's through its own hookimpl), in display order."""
    found = {}
    for f in collect(hook().contacts_preference_fields()):
        found.setdefault(f.key, f)
    return sorted(found.values(), key=lambda f: (f.order, f.label))


def _stores(known: list[PreferenceField]) -> dict:
    """Each plugin store with the keys it keeps, in field order."""
    stores: dict = {}
    for f in known:
        if f.store is not None:
            stores.setdefault(f.store, []).append(f.key)
    return stores


@functools.cache
def _values_query():
    """The core's (key, value) rows of a contact, built once (every contact page reads them)."""
    return select(ContactPreference.key, ContactPreference.value).where(
        ContactPreference.contact_id == bindparam("contact_id"))


def get_preferences(actor, contact_id: int) -> dict[str, str]:
    """Every set preference of the contact: the core's rows and those plugin stores keep."""
    get_owned(actor, Contact, contact_id, "contact")
    values = {key: value for key, value in db.session.execute(_values_query(), {"contact_id": contact_id})}
    for store, keys in _stores(fields()).items():
        theirs = store.read(contact_id)
        values.update({k: theirs[k] for k in keys if theirs.get(k)})
    return values


def _clean(data: dict, known: dict[str, PreferenceField]) -> dict[str, str]:
    if not isinstance(data, dict):
        raise ValidationError({"preferences": "Must be an object {key: value}."})
    errors: dict = {}
    out: dict = {}
    for key, raw in data.items():
        field = known.get(key)
        if field is None:
            errors[str(key)[:60]] = "Unknown preference."
            continue
        if raw is not None and not isinstance(raw, str):
            errors[key] = "Must be text."
            continue
        value = (raw or "").strip()
        if "\x00" in value or len(value) > MAX_LEN:
            errors[key] = f"At most {MAX_LEN} characters, no NUL."
            continue
        if value and field.options is not None and value not in dict(field.options()):
            errors[key] = f"Choose one of: {', '.join(k for k, _ in field.options())}."
            continue
        if value and field.clean is not None:
            try:
                value = field.clean(value)
            except ValueError as exc:
                errors[key] = str(exc)
                continue
        out[key] = value
    if errors:
        raise ValidationError(errors)
    return out


def set_preferences(actor, contact_id: int, data: dict) -> dict[str, str]:
    """Set the given preferences (empty clears one); the others stay. The core's rows and every
    plugin store are written in one transaction; the core's changes are audited on the contact
    (a store audits its own)."""
    contact = get_owned(actor, Contact, contact_id, "contact")
    require(actor, "contact.edit", contact)
    ordered = fields()
    known = {f.key: f for f in ordered}
    values = _clean(data, known)
    with transaction() as session:
        current = get_preferences(actor, contact_id)
        changes, audited = {}, {}
        for key, value in values.items():
            before = current.get(key)
            if (before or "") == value:
                continue
            changes[f"preference.{key}"] = (before, value or None)
            if known[key].store is not None:
                continue
            audited[f"preference.{key}"] = changes[f"preference.{key}"]
            session.execute(
                delete(ContactPreference).where(ContactPreference.contact_id == contact_id, ContactPreference.key == key)
            )
            if value:
                session.add(ContactPreference(contact_id=contact_id, key=key, value=value))
        for store, keys in _stores(ordered).items():
            if any(f"preference.{k}" in changes for k in keys):
                store.write(actor, contact_id, {k: values.get(k, current.get(k, "")) for k in keys})
        if audited:
            audit.record(actor, "updated", "contact", contact_id, audited)
        if changes:
            after_commit(lambda: hook().contacts_record_changed(
                entity_type="contact", entity_id=contact_id, action="updated", actor=actor, changes=changes))
    return get_preferences(actor, contact_id)


# --- merge -----------------------------------------------------------------------------------


def merge(target, source) -> dict | None:
    """The target keeps its preferences and gets copies of those it lacks from the source (the
    source's own rows stay, so an unmerge only removes the copies)."""
    with transaction() as session:
        theirs = {r.key: r.value for r in session.scalars(select(ContactPreference).where(ContactPreference.contact_id == source.id))}
        ours = set(session.scalars(select(ContactPreference.key).where(ContactPreference.contact_id == target.id)))
        filled = {k: v for k, v in sorted(theirs.items()) if k not in ours}
        session.add_all(ContactPreference(contact_id=target.id, key=k, value=v) for k, v in filled.items())
    return {"filled": filled} if filled else None


def unmerge(target, source, record: dict) -> None:
    filled = record.get("filled") or {}
    if not isinstance(filled, dict) or not filled:
        return
    with transaction() as session:
        for key, value in filled.items():
            session.execute(
                delete(ContactPreference).where(
                    ContactPreference.contact_id == target.id, ContactPreference.key == key, ContactPreference.value == value
                )
            )
