"""The contacts list's rows as light objects: the columns the list shows, read as plain values.

A list page reads 50 contacts. As ORM entities each costs an identity-map entry, instance state
and attribute instrumentation, and the page then reads them attribute by attribute: ~1 ms a page
for values the page only prints. ``ROW`` is a bundle of the columns the list can show (the
columns chooser's, the sort keys and what permissions look at); selected instead of ``Contact``
(``list_contacts(rows=True)``), each row comes back as a ``ContactRow``, named like the entity's
attributes, so the rules written against a contact (``policy.core_rule``, a plugin's
``contacts_permission`` reading ``obj.status``) read it the same way.
"""

from __future__ import annotations

from collections import namedtuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Bundle

from ..extensions import db
from ..models import Contact, Organization

FIELDS = (
    "id",
    "first_name",
    "last_name",
    "sort_name",
    "email",
    "phone",
    "organization_id",
    "type",
    "status",
    "owner_team_id",
    "category_id",
    "created_at",
    "updated_at",
)


class ContactRow(namedtuple("_ContactRow", FIELDS)):
    """One list row: a contact's listed columns as a named tuple (read-only), not an ORM entity."""

    __slots__ = ()

    @property
    def full_name(self) -> str:  # the same rule as Contact.full_name
        return f"{self.first_name} {self.last_name}".strip() or (self.email or f"Contact {self.id}")

    def __repr__(self):
        return f"<ContactRow {self.id} {self.full_name}>"


class _RowBundle(Bundle):
    def create_row_processor(self, query, procs, labels):
        make = ContactRow._make

        def proc(row):
            return make([p(row) for p in procs])

        return proc


ROW = _RowBundle("contact_row", *(getattr(Contact, name) for name in FIELDS))

# The same columns for a statement run on the connection (``pagination.paginate(make=...)``): the
# ORM's execution and row machinery cost ~0.3 ms a page for 51 plain rows; ``make`` builds each row.
COLUMNS = tuple(Contact.__table__.c[name] for name in FIELDS)
make = ContactRow._make


_ORGANIZATIONS = Organization.__table__
# Built once, run on the connection (as tags.chips_of): the ORM's part would cost more than the query.
_NAMES = select(_ORGANIZATIONS.c.id, _ORGANIZATIONS.c.name).where(
    _ORGANIZATIONS.c.id.in_(bindparam("ids", expanding=True)), _ORGANIZATIONS.c.deleted_at.is_(None)
)


def organization_names(rows) -> dict[int, str]:
    """organization id -> name for the rows' organizations that are not in the trash: one query."""
    ids = list({r.organization_id for r in rows if r.organization_id is not None})
    if not ids:
        return {}
    return dict(db.session.connection().execute(_NAMES, {"ids": ids}).all())
