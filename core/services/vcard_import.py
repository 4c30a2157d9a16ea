"""vCard files as records for the import pipeline (core/services/importer.py), the same way
csv_import.py reads CSV files: the cards are read by core/services/vcard.py, then each becomes
the pipeline's record, so a vCard import has the CSV import's dry run, upsert by key, job,
per-card error report, resumption and permissions (core/services/import_jobs.py).

A card's record (importer.py's format)::

    {"first_name", "last_name", "organization", "tags": CATEGORIES (split on commas),
     "external_id": UID,                     # kept in contact_external_ids under SOURCE
     "email": the first valid EMAIL (preferred first), normalized, else None,
     "phone": the first valid TEL (preferred first), E.164, else "",
     "extra": {"emails": the other EMAILs, "phones": every TEL (labelled, preferred first),
               "title", "birthday", "notes", "addresses", "urls", "photo"}}

plus ``warnings``: what was left out of the card (an address that is not an email, a photo that
is a link...), which the job reports beside the rejected cards. The ref of a card is its number
in the file (1, 2, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .details_clean import PHOTO_MAX_BYTES
from .fields import normalize_email, normalize_phone
from .vcard import decode_file, read_cards

SOURCE = "vcard"  # the source of a card's UID among the external ids
SNIFF_BYTES = 64 * 1024
CARD_COUNT = re.compile(r"^[ \t]*BEGIN:VCARD[ \t\r]*$", re.IGNORECASE | re.MULTILINE)


def is_vcard(path: str) -> bool:
    """Whether the file at ``path`` is a vCard file: its first non-blank line is BEGIN:VCARD."""
    with open(path, "rb") as fh:
        head = decode_file(fh.read(SNIFF_BYTES))
    first = next((line.strip() for line in head.splitlines() if line.strip()), "")
    return first.upper() == "BEGIN:VCARD"


def _text(path: str) -> str:
    with open(path, "rb") as fh:
        return decode_file(fh.read())


def count_cards(path: str) -> int:
    return len(CARD_COUNT.findall(_text(path)))


def records(path: str, on_warning: Callable[[int, str], None] | None = None) -> Iterator[tuple[int, dict | str]]:
    """``(card number, record | error message)`` for every card of the file at ``path``;
    ``on_warning(card number, message)`` for what a kept card leaves out."""
    for number, card in read_cards(_text(path)):
        if isinstance(card, str):
            yield number, card
            continue
        record = settle(card)
        if on_warning:
            for warning in record["warnings"]:
                on_warning(number, f"{_name(record)}: {warning}")
        yield number, record


def settle(card: dict) -> dict:
    """The pipeline's record of a card read by vcard.read_cards: the first valid email and phone
    (the preferred first) are the contact's own, the others stay among its details."""
    extra = dict(card.get("extra") or {})
    warnings = list(card.get("warnings") or [])
    emails = ([{"label": "other", "value": card["email"]}] if card.get("email") else []) + list(extra.get("emails") or [])
    email = None
    while emails and email is None:
        try:
            email = normalize_email(emails[0]["value"])
        except ValueError as exc:
            warnings.append(f"email {emails[0]['value'][:60]!r} skipped: {exc}")
        emails.pop(0)
    if card.get("email"):
        extra["emails"] = emails
    phones = ([{"label": "other", "value": card["phone"]}] if card.get("phone") else []) + list(extra.get("phones") or [])
    phone = ""
    for item in phones:
        try:
            phone = normalize_phone(item["value"])
            break
        except ValueError:
            continue
    if phones:
        extra["phones"] = phones
    if len((extra.get("photo") or {}).get("data") or b"") > PHOTO_MAX_BYTES:
        warnings.append(f"photo skipped: larger than {PHOTO_MAX_BYTES // 1024} KB.")
        extra.pop("photo")
    return {**card, "email": email, "phone": phone, "extra": extra, "tags": _tags(card.get("tags") or [], warnings),
            "warnings": warnings}


def _tags(categories: list, warnings: list) -> list[str]:
    """CATEGORIES as tag names: split on commas (some clients escape them), at most
    tags.MAX_NAME characters each (longer ones are left out), no duplicates."""
    from .tags import MAX_NAME, MAX_TAGS_PER_CONTACT

    names: dict = {}
    for category in categories:
        for part in str(category).split(","):
            name = " ".join(part.split())
            if len(name) > MAX_NAME:
                warnings.append(f"category {name[:60]!r} skipped: at most {MAX_NAME} characters.")
            elif name:
                names.setdefault(name.lower(), name)
    return list(names.values())[:MAX_TAGS_PER_CONTACT]


def _name(record: dict) -> str:
    return " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p) or record.get("email") or "?"
