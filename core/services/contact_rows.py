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

import functools
from collections import namedtuple

from sqlalchemy import ARRAY, Integer, String, any_, bindparam, func, literal_column, null, select, union_all
from sqlalchemy.orm import Bundle

from ..extensions import db
from ..models import Contact, ContactTag, Organization, Tag

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
_TAGS, _CONTACT_TAGS = Tag.__table__, ContactTag.__table__


def _among(column, name: str, dialect: str):
    """``column`` is one of the ids bound as ``name``, one parameter whatever their number: a JSON
    array read by ``json_each`` (SQLite), an array (PostgreSQL). An expanding ``IN`` is rewritten,
    with a parameter per id, on every execution (~50 µs a list page for its ~80 ids)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=String))))


@functools.cache
def _extras(dialect: str):
    """What a page of rows shows beside their own columns, in one statement built once a dialect and
    run on the connection: the rows' tags (contact id, tag id, name, colour; by name) and, with a null
    contact id, their organizations' names (those not in the trash). Two statements cost ~80 µs more
    a page."""
    return union_all(
        select(_CONTACT_TAGS.c.contact_id, _TAGS.c.id, _TAGS.c.name, _TAGS.c.color, _TAGS.c.name_key.label("k"))
        .join(_TAGS, _TAGS.c.id == _CONTACT_TAGS.c.tag_id)
        .where(_among(_CONTACT_TAGS.c.contact_id, "ids", dialect)),
        select(null(), _ORGANIZATIONS.c.id, _ORGANIZATIONS.c.name, null(), null()).where(
            _among(_ORGANIZATIONS.c.id, "orgs", dialect), _ORGANIZATIONS.c.deleted_at.is_(None)
        ),
    ).order_by(literal_column("k"))


def page_extras(rows, organizations: bool = True) -> tuple[dict[int, list[tuple[int, str, str]]], dict[int, str]]:
    """(contact id -> its tags as (id, name, colour) by name, as ``tags.chips_of``; organization id ->
    name for the rows' organizations not in the trash, when ``organizations``): one query a page."""
    ids = [r.id for r in rows]
    if not ids:
        return {}, {}
    orgs = list({r.organization_id for r in rows if r.organization_id is not None}) if organizations else []
    conn = db.session.connection()
    dialect = conn.dialect.name
    if dialect != "postgresql":  # JSON arrays of ints
        ids, orgs = f"[{','.join(map(str, ids))}]", f"[{','.join(map(str, orgs))}]"
    chips: dict[int, list[tuple[int, str, str]]] = {}
    names: dict[int, str] = {}
    for contact_id, key, name, color, _k in conn.execute(_extras(dialect), {"ids": ids, "orgs": orgs}).all():
        if contact_id is None:
            names[key] = name
        else:
            chips.setdefault(contact_id, []).append((key, name, color))
    return chips, names
