"""Contact use cases: create, read, list, update, delete (to the trash) and restore."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload, make_transient, make_transient_to_detached, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..database import after_commit, transaction
from ..driver_sql import DriverStatement
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..models import MAX_ID, Contact, Organization, utcnow
from ..plugins import hook, record_changed
from ..policy import require, visible_team_ids
from . import (
    audit,
    contact_extras,
    contact_rows,
    custom_field_queries,
    hierarchy,
    kept_conditions,
    search,
    similar_search,
    stamps,
    taxonomy,
    vocabulary,
)
from .fields import clean_text, normalize_email, normalize_phone
from .pagination import Page, paginate, paginate_union
from .records import Owner, apply_changes, clean_owner_team, get_owned, int_or_none, stale_changes

FIELDS = ("first_name", "last_name", "email", "phone", "organization_id", "type", "status", "owner_team_id",
          "reports_to_id")
SORTS = {
    "name": (Contact.sort_name, str, False),
    "-name": (Contact.sort_name, str, True),
    "created": (Contact.created_at, datetime, False),
    "-created": (Contact.created_at, datetime, True),
    "updated": (Contact.updated_at, datetime, False),
    "-updated": (Contact.updated_at, datetime, True),
}


def sort_name(first: str, last: str) -> str:
    return f"{last} {first}".strip().lower()


_KNOWN = frozenset(FIELDS) | {"version"}  # what ``_clean`` accepts


def _clean(actor, data: dict, existing: Contact | None) -> dict:
    """Validate and normalize the given fields; only keys present in ``data`` are returned."""
    errors: dict = {}
    out: dict = {}
    for name in sorted(data.keys() - _KNOWN):
        errors[name] = "Unknown field."
    if "first_name" in data:
        out["first_name"] = clean_text(data["first_name"], "first_name", errors, 100)
    if "last_name" in data:
        out["last_name"] = clean_text(data["last_name"], "last_name", errors, 100)
    if "email" in data:
        raw = clean_text(data["email"], "email", errors, 254)
        out["email"] = None
        if raw and "email" not in errors:
            try:
                out["email"] = normalize_email(raw)
            except ValueError as exc:
                errors["email"] = str(exc)
    if "phone" in data:
        raw = clean_text(data["phone"], "phone", errors, 40)
        out["phone"] = ""
        if raw and "phone" not in errors:
            try:
                out["phone"] = normalize_phone(raw)
            except ValueError as exc:
                errors["phone"] = str(exc)
    for kind in ("type", "status"):
        if kind in data or existing is None:
            value = clean_text(data.get(kind), kind, errors, 50)
            keys = vocabulary.keys(kind)
            if not value and existing is None and keys:
                value = keys[0]
            if kind not in errors and value not in keys and (existing is None or value != getattr(existing, kind)):
                errors[kind] = f"Choose one of: {', '.join(keys)}."
            out[kind] = value
    if "organization_id" in data:
        org_id = int_or_none(data["organization_id"], "organization_id", errors)
        if org_id is not None and "organization_id" not in errors:
            org = db.session.get(Organization, org_id)
            teams = visible_team_ids(actor)
            if org is None or org.deleted_at is not None or (teams is not None and org.owner_team_id not in teams):
                errors["organization_id"] = "No such organization."
        out["organization_id"] = org_id
    out.update(hierarchy.clean_reports_to(actor, data, existing, errors))
    if "owner_team_id" in data or existing is None:
        out["owner_team_id"] = clean_owner_team(actor, data, existing, errors)
    first = out.get("first_name", existing.first_name if existing else "")
    last = out.get("last_name", existing.last_name if existing else "")
    email = out.get("email", existing.email if existing else None)
    if not (first or last or email) and not errors:
        errors["first_name"] = "Give at least a name or an email address."
    if errors:
        if out.get("email") and "email" not in errors:
            message = _email_clash(out["email"], existing)
            if message:
                errors["email"] = message
        raise ValidationError(errors)
    return out


def _email_clash(email: str, existing: Contact | None) -> str | None:
    """The friendly message when another contact holds ``email``. Only asked once a save has
    failed (the unique index is the check), so a successful save pays no extra query."""
    clash = db.session.execute(
        select(Contact.id, Contact.deleted_at).where(Contact.email_key == email.lower())
    ).first()
    if clash is None or (existing is not None and clash.id == existing.id):
        return None
    where = " (it is in the trash; restore it instead)" if clash.deleted_at else ""
    return f"Another contact already has this email address{where}."


def _apply(contact: Contact, values: dict) -> dict:
    changes = apply_changes(contact, values)
    if "email" in changes:
        contact.email_key = contact.email.lower() if contact.email else None
    if "first_name" in changes or "last_name" in changes:
        contact.sort_name = sort_name(contact.first_name, contact.last_name)
    return changes


def _fire(event: str, contact: Contact, actor, action: str, changes: dict | None = None) -> None:
    """Inside the write: ``event`` after commit, and the change announced (core/plugins.py
    ``record_changed``: the activity feed's entry joins this transaction)."""
    kwargs = {"contact": contact, "actor": actor}
    if event == "contacts_contact_updated":
        kwargs["changes"] = changes or {}
    after_commit(lambda: getattr(hook(), event)(**kwargs))
    record_changed("contact", contact.id, action, actor, changes or {})


def _unique_violation(exc: IntegrityError, email: str | None = None, existing: Contact | None = None):
    if "email" in str(exc.orig).lower():
        message = _email_clash(email, existing) if email else None
        return ValidationError({"email": message or "Another contact already has this email address."})
    raise exc


_COLUMNS = tuple(column.key for column in Contact.__table__.columns if column.key != "id")
# Run as driver SQL (core/driver_sql.py): every API create sends it.
_INSERT = DriverStatement(Contact.__table__.insert().returning(Contact.__table__.c.id), _COLUMNS)


def _row(contact: Contact) -> dict | None:
    """A new contact's row for ``_insert``, every column set on ``contact`` too (nothing to read back
    after attaching it); built before the write lock is taken. The values go straight into the
    object's ``__dict__``, as a load puts them: ``_insert`` makes it persistent as loaded, which
    drops any history setting them would have recorded (through the attributes: ~5 % of a create's
    calls). None when the row names another contact (``reports_to_id``): then the unit of work writes
    it (that contact's pages show it, and the flush stamps them, core/services/stamps.py)."""
    if contact.reports_to_id is not None:
        return None
    now = utcnow()
    values = contact.__dict__
    row = {key: values.get(key) for key in _COLUMNS}
    for key in ("created_at", "updated_at"):
        if row[key] is None:
            row[key] = now
    if row["version"] is None:
        row["version"] = 1
    values.update(row)
    return row


def _insert(contact: Contact, row: dict | None) -> None:
    """Write a new contact's row (``_row``) and make ``contact`` persistent with its id. With a prebuilt
    statement on the transaction's connection (a third of the unit of work's CPU), then attached as
    loaded; through the unit of work when ``row`` is None. A new contact had no page of its own; the
    lists show it, so either way one stripe of the lists' stamps changes."""
    if row is None:
        db.session.add(contact)
        db.session.flush()
        return
    contact.id = _INSERT.execute(db.session.connection(), row).scalar()
    stamps.contact_created(db.session, contact.id)  # lists show it: the unit of work would have said so
    make_transient_to_detached(contact)
    db.session.add(contact)


_TABLE = Contact.__table__
# A contact's columns whose changes Session flush listeners follow: moving a contact to another team
# or to the trash moves what is counted per team (plugins/communications/rollup.py). An update that
# changes one goes through the unit of work; other updates are written directly (``_save``).
FLUSHED = ("owner_team_id", "deleted_at")
_UPDATE = _TABLE.update().where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.version == bindparam("b_version"))
_UPDATES: dict[tuple, DriverStatement] = {}  # _UPDATE as driver SQL (core/driver_sql.py), per set of columns written


def _update_of(keys: tuple) -> DriverStatement:
    found = _UPDATES.get(keys)
    if found is None:
        found = _UPDATES[keys] = DriverStatement(_UPDATE, (*keys, "b_id", "b_version"))
    return found


def _save(contact: Contact) -> None:
    """Write what changed on a loaded contact with a prebuilt UPDATE on the transaction's
    connection, as the unit of work would (``version`` moved on and checked, ``updated_at`` set
    unless given), then mark the object clean. The unit of work costs several times more for one
    row (~12 % of an API update). A contact update changes every page's version stamp (a contact's
    name or team shows on other contacts' pages and in every list: core/services/stamps.py), so
    the stamp is said here as the flush would. Anything but plain columns changed, or a column that
    flush listeners follow (``FLUSHED``): left to the flush."""
    state = inspect(contact)
    unmodified = state.unmodified
    changed = [key for key in _attribute_keys() if key not in unmodified]
    if not changed or state.session is None or any(key not in _TABLE.c or key in FLUSHED for key in changed):
        return
    row = {key: state.dict[key] for key in changed}
    row.setdefault("updated_at", utcnow())
    row["version"] = contact.version + 1
    session = db.session
    params = {**row, "b_id": contact.id, "b_version": contact.version}
    result = _update_of(tuple(row)).execute(session.connection(), params)
    if result.rowcount != 1:  # what the unit of work raises when the version check fails
        raise StaleDataError(f"UPDATE statement on table 'contacts' expected to update 1 row(s); {result.rowcount} were matched.")
    for key, value in row.items():
        setattr(contact, key, value)
    # Clean, persistent, every column loaded, as after a flush: out of the session (``make_transient``:
    # no cascade, its loaded records stay), back as loaded (``make_transient_to_detached`` commits what
    # it holds), and in again (the same steps as ``_insert``).
    make_transient(contact)
    make_transient_to_detached(contact)
    session.add(contact)
    stamps.touch_shared(session)


@functools.cache
def _attribute_keys() -> tuple[str, ...]:
    """A contact's mapped attributes (columns and relationships), once the mappers are configured."""
    return tuple(Contact.__mapper__.attrs.keys())


def create_contact(actor, data: dict, *, also: Callable[[Contact], dict] | None = None) -> Contact:
    """Create a contact. ``also(contact)`` writes more of the record (its details, see
    core/services/details.py) in the same transaction, after the insert, and returns its changes
    (audited with the contact's). A unique-email violation is caught outside the transaction, once
    it is rolled back, so the friendly clash message can still be looked up."""
    require(actor, "contact.create")
    data, tax = taxonomy.split_form(data)  # tags, group_ids, category_id: core/services/taxonomy.py
    values, extras = contact_extras.clean(data, None, lambda core: _clean(actor, core, None))
    tax_values = taxonomy.clean(actor, tax)
    contact = Contact(first_name="", last_name="", phone="", type=values["type"], status=values["status"])
    # What needs no database is done before the write lock: writers queue on it (core/write_queue.py).
    require(actor, "contact.create", Owner(values["owner_team_id"]))
    changes = _apply(contact, values)
    contact.sort_name = sort_name(contact.first_name, contact.last_name)
    row = _row(contact)
    try:
        with transaction():
            _insert(contact, row)
            changes |= contact_extras.apply(actor, contact, extras, changes, created=True)
            changes.update(taxonomy.apply(actor, contact, tax_values, new=True))
            if also is not None:
                changes |= also(contact)
            audit.record(actor, "created", "contact", contact.id, {k: (None, v[1]) for k, v in changes.items()},
                         stamped=True)
            _fire("contacts_contact_created", contact, actor, "created", changes)
    except IntegrityError as exc:
        raise _unique_violation(exc, values.get("email")) from None
    return contact


def get_contact(actor, contact_id: int, *, deleted: bool = False) -> Contact:
    return get_owned(actor, Contact, contact_id, "contact", deleted=deleted)


@functools.cache
def _fresh():
    """The contact by id, read again even when the session holds it (built once: every update runs it).
    Its columns only: nothing an update does reads its organization or owner team objects (the checks
    read the ids), and their joined loads were half the read's ORM work (loaded if ever asked for)."""
    return (select(Contact).where(Contact.id == bindparam("id"))
            .options(lazyload(Contact.organization), lazyload(Contact.owner_team))
            .execution_options(populate_existing=True))


def update_contact(
    actor, contact_id: int, data: dict, expected_version: int | None, *, also: Callable[[Contact], dict] | None = None,
    answer: Callable[[Contact], None] | None = None,
) -> Contact:
    """Change a contact; only the keys present change. ``also`` as in ``create_contact``. ``answer(contact)``
    runs last in the transaction, once everything is written: what the caller answers with, read there
    rather than in a read transaction of its own after the commit."""
    data, tax = taxonomy.split_form(data)
    values: dict = {}
    contact = None
    try:
        # Read, check and validate under the write lock: one fresh read serves the permission
        # check and the version check.
        with transaction():
            contact = db.session.execute(_fresh(), {"id": contact_id}).scalar() if 0 < contact_id <= MAX_ID else None
            if contact is None or contact.deleted_at is not None:
                raise NotFound("No such contact.")
            require(actor, "contact.view", contact)
            require(actor, "contact.edit", contact)
            values, extras = contact_extras.clean(data, contact, lambda core: _clean(actor, core, contact))
            tax_values = taxonomy.clean(actor, tax)
            if expected_version is not None and contact.version != expected_version:
                theirs = stale_changes(contact, values)
                raise Conflict(
                    "Someone else changed this contact since you opened it. Review their version below, then save again.",
                    current=contact,
                    changes=theirs,
                )
            if "owner_team_id" in values and values["owner_team_id"] != contact.owner_team_id:
                require(actor, "contact.edit", Owner(values["owner_team_id"]))
            changes = _apply(contact, values)
            changes |= contact_extras.apply(actor, contact, extras, changes)
            changes.update(taxonomy.apply(actor, contact, tax_values))
            if also is not None:
                changes |= also(contact)
            if changes:
                audit.record(actor, "updated", "contact", contact.id, changes, stamped=db.session.is_modified(contact))
                _fire("contacts_contact_updated", contact, actor, "updated", changes)
            _save(contact)
            if answer is not None:
                answer(contact)
    except IntegrityError as exc:
        raise _unique_violation(exc, values.get("email"), contact) from None
    except StaleDataError:  # saved by someone else between this save's read and its write (PostgreSQL)
        raise Conflict("Someone else saved this contact at the same moment. Reload it, then save again.") from None
    return contact


def delete_contact(actor, contact_id: int) -> Contact:
    contact = get_contact(actor, contact_id)
    require(actor, "contact.delete", contact)
    with transaction():
        contact.deleted_at = utcnow()
        contact.deleted_by_id = actor.id
        audit.record(actor, "deleted", "contact", contact.id, {"deleted_at": (None, contact.deleted_at)}, stamped=True)
        _fire("contacts_contact_deleted", contact, actor, "deleted")
    return contact


def restore_contact(actor, contact_id: int) -> Contact:
    contact = get_contact(actor, contact_id, deleted=True)
    require(actor, "contact.restore", contact)
    if contact.merged_into_id is not None:  # its email and records went to the survivor: only an unmerge brings it back
        raise ValidationError({"merged_into_id": "This contact was merged into another; undo the merge instead."})
    with transaction():
        before = contact.deleted_at
        contact.deleted_at = None
        contact.deleted_by_id = None
        audit.record(actor, "restored", "contact", contact.id, {"deleted_at": (before, None)}, stamped=True)
        record_changed("contact", contact.id, "restored", actor, {})
    return contact


def search_condition(q: str):
    """Full-text prefix search on names, email, phone digits and organization name (see
    core/services/search.py); None when ``q`` has nothing to look for."""
    return search.search_condition(q)


def list_contacts(
    actor,
    *,
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
    similar_names: bool = False,
    rows: bool = False,
    **filters,
) -> Page:
    """One keyset page of the contacts ``actor`` may see, filtered (see ``contacts_statement``) and sorted.
    ``similar_names``: when the search finds nothing, list similar names instead and say so in
    ``page.extra["similar"]`` (PostgreSQL with pg_trgm: core/services/similar_search.py; the UI list
    asks for it, the API does not). ``rows``: the items are ``contact_rows.ContactRow`` (the listed
    columns as plain values, for the list page) instead of entities with their organization and team."""
    require(actor, "contact.list")
    if sort not in SORTS and not custom_field_queries.is_sort(sort):
        raise ValidationError({"sort": f"Choose one of: {', '.join(SORTS)} or cf_<custom field key>."})
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    # The page's organizations and teams load in one extra query each, not joined into the
    # main query: that query stays a plain walk of the sort index (or of the search hits).
    options = () if rows else (selectinload(Contact.organization), selectinload(Contact.owner_team))

    def page(**extra):
        if sort not in SORTS:  # a custom field: core/services/custom_field_queries.py
            selected = (contact_rows.ROW,) if rows else (Contact,)
            stmt = contacts_statement(actor, **filters, **extra, columns=selected).options(*options)
            return custom_field_queries.paginate_by_field(db.session, stmt, sort, cursor, limit)
        # Plain rows are read on the connection and made ContactRows (contact_rows.COLUMNS).
        selected, make = (contact_rows.COLUMNS, contact_rows.make) if rows else ((Contact,), None)
        column, kind, descending = SORTS[sort]
        columns, key_of = (column, Contact.id), lambda c: [getattr(c, column.key), c.id]
        if rows and not extra and set(filters) <= _PLAIN_FILTERS and not any(filters.get(k) for k in _NOT_PLAIN):
            stmt, params = _plain_statement(actor, selected, filters)
            return paginate(db.session, stmt, columns, [kind, int], cursor, limit, descending, key_of, unique=False,
                            make=make, params=params)
        if rows and not extra and set(filters) <= _PLAIN_FILTERS and not filters.get("q") and not filters.get("deleted"):
            found = _filtered_statement(actor, selected, filters)  # a tag, a group...: built once
            if found is not None:
                stmt, is_kept = found  # a kept statement's first window is kept too (params given)
                return paginate(db.session, stmt, columns, [kind, int], cursor, limit, descending, key_of,
                                unique=False, make=make, params={} if is_kept and not cursor else None)
        # By name, a search reads its hits in parts that are each cheap in that order (search.py).
        legs = search.sorted_legs(filters.get("q", "")) if column is Contact.sort_name and not extra else None
        if legs:
            parts = [contacts_statement(actor, **filters, search_leg=leg, columns=(Contact.id,)) for leg in legs]
            return paginate_union(db.session, select(*selected).options(*options), parts, columns, [kind, int],
                                  cursor, limit, descending, key_of, unique=not rows, make=make)
        stmt = contacts_statement(actor, **filters, **extra, columns=selected).options(*options)
        return paginate(db.session, stmt, columns, [kind, int], cursor, limit, descending, key_of, unique=not rows,
                        make=make)

    result = page()
    if similar_names and not result.items and similar_search.wanted(actor, filters, cursor):  # PostgreSQL: similar names
        alike = page(similar=True)
        if alike.items:
            result = alike
            result.extra["similar"] = True
    return result


_PLAIN_FILTERS = {"q", "status", "type", "organization_id", "extra_filters", "deleted"}
_NOT_PLAIN = ("q", "extra_filters", "deleted")


def _plain_statement(actor, columns: tuple, filters: dict):
    """``contacts_statement`` for a list without a search or other filters (the first page, a status,
    type or organization filter, a saved view of them), built once with its values as bind parameters
    (``_plain``), and those values: building the statement and its cache key cost more than running it."""
    teams = visible_team_ids(actor)
    status, type_, organization_id = filters.get("status"), filters.get("type"), filters.get("organization_id")
    stmt = _plain(columns, teams is not None, bool(status), bool(type_), bool(organization_id))
    params = {"teams": teams or [-1]} if teams is not None else {}
    params |= {k: v for k, v in (("status", status), ("type", type_), ("organization_id", organization_id)) if v}
    return stmt, params


_FILTERED = kept_conditions.FilteredStatements()


def _filtered_statement(actor, columns: tuple, filters: dict):
    """(``contacts_statement`` for a list whose extra filters add only WHERE conditions, built from
    those conditions (each filter applied once: core/services/kept_conditions.py), whether it is
    kept): kept per teams, plain filters and conditions when all of those are built once a process.
    None when a filter adds anything else (a join: the list then applies the filters as usual, a
    second time; none of the project's filters does)."""
    found = kept_conditions.where_conditions(filters.get("extra_filters") or ())
    if found is None:
        return None
    conditions, all_kept = found
    plain = {"status": filters.get("status") or "", "type": filters.get("type") or "",
             "organization_id": filters.get("organization_id")}
    adds = [functools.partial(_where, c) for c in conditions]  # what the filters add, in their order

    def build():
        return contacts_statement(actor, columns=columns, extra_filters=adds, **plain)

    if not all_kept:
        return build(), False
    teams = visible_team_ids(actor)
    key = (columns, None if teams is None else tuple(sorted(teams)), *plain.values())
    return _FILTERED.get(key, conditions, build), True


def _where(condition, stmt):
    return stmt.where(condition)


@functools.lru_cache(maxsize=64)
def _plain(columns: tuple, teams: bool, status: bool, type_: bool, organization_id: bool):
    """The statement ``contacts_statement`` builds for these filters, in the same order, with bind parameters."""
    stmt = select(*columns)
    if teams:
        stmt = stmt.where(Contact.owner_team_id.in_(bindparam("teams", expanding=True)))
    if status:
        stmt = stmt.where(Contact.status == bindparam("status"))
    if type_:
        stmt = stmt.where(Contact.type == bindparam("type"))
    if organization_id:
        stmt = stmt.where(Contact.organization_id == bindparam("organization_id"))
    return stmt.where(Contact.deleted_at.is_(None))


def contacts_statement(
    actor,
    *,
    q: str = "",
    status: str = "",
    type: str = "",
    organization_id: int | None = None,
    deleted: bool = False,
    extra_filters=(),
    columns=None,
    similar: bool = False,
    search_leg=None,
):
    """The unordered ``select`` of the contacts ``actor`` may see that match the filters (the list,
    its lazy count and bulk actions share it). ``extra_filters``: callables ``stmt -> stmt``; one with
    a true ``by_hits`` attribute asks for the rows to be read by id (SQLite, see search.search_plan).
    ``search_leg``: one part of ``q``'s hits, ``(condition, by_hits)`` from ``search.sorted_legs``."""
    require(actor, "contact.list")
    stmt = select(*(columns or (Contact,)))
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(Contact.owner_team_id.in_(teams or [-1]))
    condition, by_hits = search_leg or (search.search_plan(q) if q else (None, False))
    if similar and q:  # no match: names like q instead (core/services/similar_search.py)
        condition, by_hits = similar_search.list_condition(q), False
    if condition is not None:
        stmt = stmt.where(condition)
    if status:
        stmt = stmt.where(Contact.status == status)
    if type:
        stmt = stmt.where(Contact.type == type)
    if organization_id:
        stmt = stmt.where(Contact.organization_id == organization_id)
    for apply in extra_filters:
        stmt = apply(stmt)
    # filters.Filter.apply says so, or a filter's condition is a few ids (search.few_contacts)
    by_hits = by_hits or any(getattr(apply, "by_hits", False) for apply in extra_filters) or (
        bool(extra_filters) and search.has_few_contacts(stmt))
    deleted_at = search.unindexed_deleted_at() if by_hits else Contact.deleted_at
    return stmt.where(deleted_at.is_not(None) if deleted else deleted_at.is_(None))
