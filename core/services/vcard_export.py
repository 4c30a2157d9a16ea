"""vCard export: one contact, or every contact a list filter matches, streamed page by page
(keyset pages of contacts.list_contacts: constant memory whatever the number of contacts)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from flask import current_app

from ..errors import ValidationError
from ..extensions import db
from ..models.details import ContactPhoto
from . import contacts as contacts_service
from .details import details_of
from .vcard import VERSIONS, write_card

PAGE = 200


def check_version(version: str | None) -> str:
    version = version or "4.0"
    if version not in VERSIONS:
        raise ValidationError({"version": f"Choose one of: {', '.join(VERSIONS)}."})
    return version


def _namespace() -> str:
    """Per installation, so two installations' derived UIDs differ; reveals nothing of the key."""
    secret = str(current_app.config.get("SECRET_KEY") or "")
    return "contacts:" + hashlib.sha256(f"vcard-uid:{secret}".encode()).hexdigest()[:32]


def _card(contact, found: dict, version: str) -> str:
    photo = None
    if found["has_photo"]:
        row = db.session.get(ContactPhoto, contact.id)
        if row is not None:
            photo = (row.mime, row.data)
            db.session.expunge(row)  # a page of photos is not kept in the session
    return write_card(contact, found, version, namespace=_namespace(), photo=photo)


def contact_vcard(actor, contact_id: int, version: str | None = "4.0") -> str:
    version = check_version(version)
    contact = contacts_service.get_contact(actor, contact_id)
    return _card(contact, details_of([contact.id])[contact.id], version)


def stream_vcards(actor, version: str | None = "4.0", **filters) -> Iterator[str]:
    """Every contact matching ``filters`` (those of contacts.list_contacts) as vCards. Checks the
    arguments before the first card, so a bad filter is a 422, not a broken download."""
    version = check_version(version)
    filters.pop("cursor", None)
    filters.pop("limit", None)
    first = contacts_service.list_contacts(actor, limit=PAGE, **filters)

    def cards():
        page = first
        while True:
            found = details_of(c.id for c in page.items)
            for contact in page.items:
                yield _card(contact, found[contact.id], version)
            if not page.next_cursor:
                return
            cursor = page.next_cursor
            for contact in page.items:
                db.session.expunge(contact)
            page = contacts_service.list_contacts(actor, cursor=cursor, limit=PAGE, **filters)

    return cards()
