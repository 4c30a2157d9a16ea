"""vCard export: one contact, or every contact a list filter matches, streamed page by page
(keyset pages of contacts.list_contacts: constant memory whatever the number of contacts).
A contact's UID is its external id from the vCard import (``contact_external_ids``, source
``vcard``; the oldest when a merge gave it several), else one derived from its id, which the
import recognizes (``contacts_of``): re-importing an export updates, never duplicates."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import select

from ..errors import ValidationError
from ..extensions import db
from ..models import Contact, ContactExternalId
from ..models.details import ContactPhoto
from . import contacts as contacts_service
from .details import details_of
from .vcard import VERSIONS, write_card
from .vcard_import import SOURCE
from .vcard_write import derived_contact_id, derived_uid

PAGE = 200


def check_version(version: str | None) -> str:
    version = version or "4.0"
    if version not in VERSIONS:
        raise ValidationError({"version": f"Choose one of: {', '.join(VERSIONS)}."})
    return version


def namespace() -> str:
    """Per installation, so two installations' derived UIDs differ; reveals nothing of the key."""
    secret = str(current_app.config.get("SECRET_KEY") or "")
    return "contacts:" + hashlib.sha256(f"vcard-uid:{secret}".encode()).hexdigest()[:32]


def contacts_of(uids) -> dict[str, int]:
    """uid -> contact id for the UIDs this installation derived on export (``uid_of``) whose
    contact still exists (one query); other UIDs are left out."""
    wanted = {uid: cid for uid in uids if (cid := derived_contact_id(uid))}
    if not wanted:
        return {}
    created = dict(db.session.execute(
        select(Contact.id, Contact.created_at).where(Contact.id.in_(set(wanted.values())))).all())
    ours = namespace()
    return {uid: cid for uid, cid in wanted.items() if cid in created and derived_uid(cid, created[cid], ours) == uid}


def uids_of(contact_ids: list[int]) -> dict[int, str]:
    """contact id -> its vCard UID, for the contacts that have one (one query)."""
    if not contact_ids:
        return {}
    rows = db.session.execute(
        select(ContactExternalId.contact_id, ContactExternalId.external_id)
        .where(ContactExternalId.source == SOURCE, ContactExternalId.contact_id.in_(contact_ids))
        .order_by(ContactExternalId.id.desc())
    )
    return dict(rows.all())  # the oldest row last, so it wins


def _card(contact, found: dict, version: str, uid: str | None) -> str:
    photo = None
    if found["has_photo"]:
        row = db.session.get(ContactPhoto, contact.id)
        if row is not None:
            photo = (row.mime, row.data)
            db.session.expunge(row)  # a page of photos is not kept in the session
    return write_card(contact, found, version, namespace=namespace(), uid=uid, photo=photo)


def contact_vcard(actor, contact_id: int, version: str | None = "4.0") -> str:
    version = check_version(version)
    contact = contacts_service.get_contact(actor, contact_id)
    return _card(contact, details_of([contact.id])[contact.id], version, uids_of([contact.id]).get(contact.id))


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
            ids = [c.id for c in page.items]
            found, uids = details_of(ids), uids_of(ids)
            for contact in page.items:
                yield _card(contact, found[contact.id], version, uids.get(contact.id))
            if not page.next_cursor:
                return
            cursor = page.next_cursor
            for contact in page.items:
                db.session.expunge(contact)
            page = contacts_service.list_contacts(actor, cursor=cursor, limit=PAGE, **filters)

    return cards()
