"""CSV export of any contacts list/filter, streamed: keyset pages of list_contacts, one CSV chunk
per page, each page let go of once written, so memory stays flat at a million rows.

The default export neutralizes cells a spreadsheet would run as a formula (starting with
``= + - @``, a tab or a carriage return get a leading ``'``) and starts with a UTF-8 BOM so Excel
reads the accents. ``raw=True`` writes the values as stored, for round-trips through the import
(its header is the one the importer recognizes as our own export).
"""

from __future__ import annotations

import csv
import io

from ..extensions import db
from . import contacts as contact_service

HEADERS = ["First name", "Last name", "Email", "Phone", "Organization", "Type", "Status", "Team"]
# After the core columns: tags (names joined by "; "), job title and notes (the contact details),
# then one column per active custom field, headed by its label (the import maps it back), and last
# the contact's vCard UID (as the vCard export writes it), by which a re-import finds the contact.
MORE_HEADERS = ["Tags", "Job title", "Notes"]
UID_HEADER = "UID"
PAGE = 200
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: str) -> str:
    return "'" + value if value.startswith(_DANGEROUS) else value


def row_of(contact) -> list[str]:
    return [
        contact.first_name,
        contact.last_name,
        contact.email or "",
        contact.phone,
        contact.organization.name if contact.organization is not None else "",
        contact.type,
        contact.status,
        contact.owner_team.name if contact.owner_team is not None else "",
    ]


def stream(actor, *, raw: bool = False, filters: dict | None = None, extra_filters=(), progress=None):
    """Yield the CSV text in chunks: the header, then one chunk per page of contacts.

    ``filters`` are list_contacts' keyword arguments (q, status, type, organization_id, sort);
    errors in them are raised before the first chunk (a ValidationError naming the field).
    ``progress(n)`` is called with the number of contacts in each page written.
    """
    filters = dict(filters or {})
    first = contact_service.list_contacts(actor, limit=PAGE, extra_filters=extra_filters, **filters)
    return _chunks(actor, first, raw, filters, extra_filters, progress)


def _more_cells(contacts, fields) -> dict[int, list[str]]:
    """Tags, title, notes and custom values of a page of contacts: three queries, not one per row."""
    from . import custom_field_queries, details, tags, vcard_export
    from .vcard_write import uid_of

    ids = [c.id for c in contacts]
    tag_map = tags.tags_of(ids)
    found = details.details_of(ids)
    custom = custom_field_queries.export_values(ids) if fields else {}
    uids, namespace = vcard_export.uids_of(ids), vcard_export.namespace()
    out = {}
    for contact in contacts:
        cid = contact.id
        d = found.get(cid) or {}
        values = custom.get(cid, {})
        out[cid] = ["; ".join(sorted((t.name for t in tag_map.get(cid, [])), key=str.lower)),
                    d.get("title") or "", d.get("notes") or "", *(values.get(f.key, "") for f in fields),
                    uid_of(contact, uids.get(cid), namespace)]
    return out


def _chunks(actor, page, raw, filters, extra_filters, progress):
    from . import custom_fields

    fields = custom_fields.definitions()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield ("" if raw else "\ufeff") + _line(writer, buffer, HEADERS + MORE_HEADERS + [f.label for f in fields] + [UID_HEADER])
    while True:
        more = _more_cells(page.items, fields)
        for contact in page.items:
            cells = row_of(contact) + more[contact.id]
            writer.writerow(cells if raw else [neutralize(c) for c in cells])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if progress is not None:
            progress(len(page.items))
        session = db.session
        for contact in page.items:  # let the page go: the identity map must not grow with the export
            if contact.organization is not None and contact.organization in session:
                session.expunge(contact.organization)
            if contact in session:
                session.expunge(contact)
        if not page.next_cursor:
            return
        page = contact_service.list_contacts(
            actor, limit=PAGE, cursor=page.next_cursor, extra_filters=extra_filters, **filters
        )


def _line(writer, buffer, cells) -> str:
    writer.writerow(cells)
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def export_text(actor, **kwargs) -> str:
    return "".join(stream(actor, **kwargs))
