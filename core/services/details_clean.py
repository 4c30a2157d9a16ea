"""Validation of a contact's details (core/services/details.py): labels, emails, phones, URLs,
addresses, title, birthday, notes and photo bytes. Strict for the form and the API; ``lenient``
for imports, where a bad value is left out with a warning instead of failing the record."""

from __future__ import annotations

from datetime import date

from ..models.details import LABELS
from .fields import clean_text, normalize_email, normalize_phone

LIST_KEYS = {"emails": "email", "phones": "phone", "urls": "url"}
DETAIL_KEYS = ("emails", "phones", "urls", "addresses", "title", "birthday", "notes")
ADDRESS_FIELDS = {"street": 500, "locality": 200, "region": 200, "postcode": 40, "country": 200}
MAX_ROWS = 20
MAX_LEN = {"email": 254, "phone": 40, "url": 500}
LABEL_ALIASES = {"cell": "mobile", "mobile": "mobile", "home": "home", "work": "work", "other": "other", "": "other"}
PHOTO_MAX_BYTES = 1024 * 1024
PHOTO_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


# --- validation -----------------------------------------------------------------------------


def split(data: dict) -> tuple[dict, dict]:
    """(the contacts service's fields, the detail fields) of one input dict."""
    return {k: v for k, v in data.items() if k not in DETAIL_KEYS}, {k: data[k] for k in DETAIL_KEYS if k in data}


def label_of(raw) -> str | None:
    return LABEL_ALIASES.get(str(raw or "").strip().lower())


def parse_birthday(raw) -> date | None:
    """A date, an ISO string (1990-12-31) or empty; ValueError otherwise."""
    if raw in (None, ""):
        return None
    text = raw.isoformat() if isinstance(raw, date) else str(raw).strip()
    if len(text) == 8 and text.isdecimal():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError("Use a date like 1990-12-31.") from None
    if day > date.today():
        raise ValueError("A birthday cannot be in the future.")
    return day


def _clean_value(kind: str, raw: str, lenient: bool) -> str:
    """One email/phone/URL, normalized; ValueError with a message when it is not valid."""
    if kind == "email":
        return normalize_email(raw)
    if kind == "phone":
        try:
            return normalize_phone(raw)
        except ValueError:
            # Imports keep numbers the phone library cannot place (extensions, local numbers).
            if lenient and sum(c.isdigit() for c in raw) >= 3:
                return raw
            raise
    if any(c.isspace() for c in raw) or "." not in raw and ":" not in raw:
        raise ValueError("This is not a web address.")
    return raw if "://" in raw or raw.lower().startswith(("mailto:", "tel:")) else f"https://{raw}"


def _clean_list(key: str, items, errors: dict, warnings: list, lenient: bool) -> list[dict]:
    kind = LIST_KEYS[key]
    if not isinstance(items, (list, tuple)):
        errors[key] = "Must be a list."
        return []
    if len(items) > MAX_ROWS and not lenient:
        errors[key] = f"At most {MAX_ROWS}."
        return []
    out, seen = [], set()
    for n, item in enumerate(items[:MAX_ROWS], start=1):
        item = item if isinstance(item, dict) else {"value": item}
        field_errors: dict = {}
        value = clean_text(item.get("value"), "value", field_errors, MAX_LEN[kind])
        label = label_of(item.get("label"))
        if not value:
            continue
        try:
            if field_errors:
                raise ValueError(field_errors["value"])
            if label is None:
                raise ValueError(f"Label: choose one of {', '.join(LABELS)}.")
            value = _clean_value(kind, value, lenient)
        except ValueError as exc:
            if lenient:
                warnings.append(f"{kind} {value[:60]!r} skipped: {exc}")
                continue
            errors.setdefault(key, f"Row {n}: {exc}")
            continue
        if value.lower() not in seen:
            seen.add(value.lower())
            out.append({"label": label, "value": value})
    return out


def _clean_addresses(items, errors: dict, warnings: list, lenient: bool) -> list[dict]:
    if not isinstance(items, (list, tuple)):
        errors["addresses"] = "Must be a list."
        return []
    out = []
    for n, item in enumerate(items[:MAX_ROWS], start=1):
        if not isinstance(item, dict):
            errors.setdefault("addresses", f"Row {n}: must be an object.")
            continue
        row_errors: dict = {}
        row = {name: clean_text(item.get(name), name, row_errors, size) for name, size in ADDRESS_FIELDS.items()}
        row["label"] = label_of(item.get("label"))
        if not any(row[name] for name in ADDRESS_FIELDS):
            continue
        if row["label"] is None:
            row_errors["label"] = f"choose one of {', '.join(LABELS)}."
        if row_errors:
            name, message = next(iter(row_errors.items()))
            if lenient:
                warnings.append(f"address {n} skipped: {name}: {message}")
            else:
                errors.setdefault("addresses", f"Row {n}, {name}: {message}")
            continue
        if row not in out:
            out.append(row)
    return out


def clean_extra(extra: dict, *, lenient: bool = False) -> tuple[dict, list[str], dict]:
    """(clean values, warnings, errors) for the detail keys present in ``extra``. ``lenient``
    (imports): a bad value is left out with a warning instead of being an error."""
    errors: dict = {}
    warnings: list[str] = []
    out: dict = {}
    for key, size in (("title", 200), ("notes", 10000)):
        if key in extra:
            out[key] = clean_text(extra[key], key, errors, size).replace("\r\n", "\n").replace("\r", "\n")
            if lenient and key in errors:
                warnings.append(f"{key} skipped: {errors.pop(key)}")
                out.pop(key)
    if "birthday" in extra:
        try:
            out["birthday"] = parse_birthday(extra["birthday"])
        except ValueError as exc:
            (warnings.append(f"birthday skipped: {exc}") if lenient else errors.__setitem__("birthday", str(exc)))
    for key in LIST_KEYS:
        if key in extra:
            out[key] = _clean_list(key, extra[key], errors, warnings, lenient)
    if "addresses" in extra:
        out["addresses"] = _clean_addresses(extra["addresses"], errors, warnings, lenient)
    return out, warnings, errors


def photo_type(data: bytes) -> str | None:
    return next((mime for magic, mime in PHOTO_TYPES if data.startswith(magic)), None)
