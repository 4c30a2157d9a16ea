"""What tags, groups and categories share: the contact-form fields (``tags``, ``group_ids``,
``category_id``), the per-contact checks of the bulk operations, merge and unmerge, and the
one-query-per-page loading of a list's tags.

The bulk operations (``add_tags``, ``remove_tags``, ``add_to_group``, ``remove_from_group``,
``set_category``) live with their kind and all answer a ``BulkResult``: contacts the actor may
not edit (or not see, or in the trash) are skipped and counted, never touched; each changed
contact gets one audit entry.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import select

from ..database import lock_audit_chain
from ..extensions import db
from ..models import MAX_ID, Contact, utcnow
from ..policy import can
from . import cache_keys

FORM_FIELDS = ("tags", "group_ids", "category_id")
CHUNK = 500  # contacts per query in bulk operations (bounded IN lists)


@dataclass
class BulkResult:
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0  # not visible, not editable, in the trash or missing
    changed_ids: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"changed": self.changed, "unchanged": self.unchanged, "skipped": self.skipped}


def clean_ids(contact_ids) -> list[int]:
    out, seen = [], set()
    for raw in contact_ids or ():
        try:
            cid = int(raw)
        except (TypeError, ValueError):
            continue
        if 0 < cid <= MAX_ID and cid not in seen:
            seen.add(cid)
            out.append(cid)
    return out


def held_contacts(stmt) -> list[Contact]:
    """The contacts of ``stmt`` (in a write transaction), read fresh and held until the commit.

    A batch reads its contacts, then writes them with the version it read: a save of one of them
    that committed in between failed the whole batch (StaleDataError, PostgreSQL). So on
    PostgreSQL the batch first takes the audit chain's lock, which every audited write takes
    before it writes its row (taking the rows first deadlocked with such a save), then the rows
    in id order: a save meanwhile waits for the batch, then goes through on its own version
    check. SQLite's writers already take turns for the whole transaction."""
    lock_audit_chain(db.session)
    stmt = stmt.order_by(Contact.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Contact)
    return db.session.scalars(stmt).all()


def editable_chunks(actor, contact_ids, result: BulkResult):
    """Yield lists of live contacts ``actor`` may edit, CHUNK at a time, counting the others in
    ``result.skipped``. Call inside the write transaction."""
    ids = clean_ids(contact_ids)
    result.skipped += len(contact_ids or ()) - len(ids)
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        found = held_contacts(select(Contact).where(Contact.id.in_(part)))
        ok = [c for c in found if c.deleted_at is None and can(actor, "contact.view", c) and can(actor, "contact.edit", c)]
        result.skipped += len(part) - len(ok)
        if ok:
            yield ok


COMMON_MEMBERS = 5_000  # a tag or group on more contacts than this is "common" for the list plan


def member_condition(link_contact, link_key, key: int, *, probe_by_contact: bool = False, joined: bool = False):
    """``contacts.id`` is linked to ``key`` through a link table (contact_tags, group members).

    The plan depends on how many contacts carry it (a bounded count, remembered a few minutes):
    few, and the list reads them from the (key, contact) index and sorts them; many, and it walks
    the list's sort index and probes the link's primary key per row (EXISTS), stopping after a
    page, like the search does for very common words. 30 % of 1M contacts: 500 ms the first way.
    PostgreSQL needs core/models/pg_list_indexes.py for the walk (12 ms for 25 % of 1M contacts).

    ``joined``: the condition is ANDed with the statement's others (the toolbar's filters, never
    under an OR or a NOT): the few then join the link table (``link.key = key AND link.contact =
    contacts.id``, its primary key making one row per contact) instead of ``contacts.id IN
    (SELECT ...)``, which SQLite first copied into a temporary index. At 1M contacts, a tag on
    1,028: 6.19 -> 4.88 M instructions for the page's statement (libsqlite3, callgrind).

    ``probe_by_contact``: the link's primary key leads with the key (group members: (group,
    contact)); on SQLite the per-row probe then seeks its (contact, key) index by the contact alone
    and tests the key on the entry. Probing (key, contact) compared past an equal first column at
    every step of the descent: at 1M contacts the common group's page statement cost 1.91 M
    instructions that way, 1.40 M this way (libsqlite3, callgrind).
    """
    common = _is_common(link_contact, link_key, key)
    if not common and db.session.get_bind().dialect.name == "postgresql":
        # PostgreSQL walked the list's order against an IN (subquery) of a rare tag (15 s at 1M
        # contacts once that order is indexed, core/models/pg_list_indexes.py); given the few ids
        # (fewer than COMMON_MEMBERS), it reads them by primary key and sorts them: 0.7 ms.
        return Contact.id.in_(sorted(db.session.scalars(select(link_contact).where(link_key == key))))
    # The others depend on the key and the plan only: built once a process (expressions are immutable).
    contact_column, key_column = link_contact.expression, link_key.expression
    by_contact = probe_by_contact and common and db.session.get_bind().dialect.name == "sqlite"
    return _member_condition(contact_column.table.name, contact_column.name, key_column.name, key, common, by_contact,
                             joined and not common)


def builder_condition(member):
    """A ``SearchFilter.condition`` ("is", "is not") for the filter builder from ``member(value)`` (a
    condition, or None for no value), not joined: a builder condition may sit under an OR or a NOT."""
    from sqlalchemy import false, not_, true

    def condition(op: str, value: str):
        where = member(value)
        if where is None:
            return true() if op == "is" else false()
        return where if op == "is" else not_(where)

    return condition


@functools.lru_cache(maxsize=1024)
def _member_condition(table: str, contact_column: str, key_column: str, key: int, common: bool, by_contact: bool,
                      joined: bool):
    from sqlalchemy import and_, exists, literal_column

    from .kept_conditions import kept
    from .search import few_contacts

    columns = db.metadata.tables[table].c
    link_contact, link_key = columns[contact_column], columns[key_column]
    if by_contact:  # SQLite: the unary plus keeps the key out of the seek (see member_condition)
        key_test = literal_column(f"+{table}.{key_column}", type_=link_key.type) == key
        return kept(select(link_contact).where(link_contact == Contact.id, key_test).exists())
    if common:
        return kept(exists().where(link_contact == Contact.id, link_key == key))
    if joined:
        return kept(few_contacts(and_(link_key == key, link_contact == Contact.id)))
    return kept(few_contacts(Contact.id.in_(select(link_contact).where(link_key == key))))


def _is_common(link_contact, link_key, key: int) -> bool:
    from sqlalchemy import func

    def count_reaches() -> bool:
        inner = select(link_contact).where(link_key == key).limit(COMMON_MEMBERS).subquery()
        return db.session.scalar(select(func.count()).select_from(inner)) >= COMMON_MEMBERS

    return cache_keys.plan_choice(f"taxonomy-common:{link_key.table.name}:{COMMON_MEMBERS}:{key}", count_reaches)


def touch(contact: Contact) -> None:
    """Mark the contact changed: a new version (and ETag) and updated_at."""
    contact.updated_at = utcnow()


# --- the contact form and the contact API -------------------------------------------------------


def split_form(data: dict) -> tuple[dict, dict]:
    """(core contact fields, taxonomy fields) of what a form or the API sent."""
    core = {k: v for k, v in data.items() if k not in FORM_FIELDS}
    tax = {k: data[k] for k in FORM_FIELDS if k in data}
    return core, tax


def check(actor, tax: dict, errors: dict) -> dict:
    """Validate the taxonomy fields (before any write); returns the cleaned values."""
    from . import categories, groups, tags

    out = {}
    if "tags" in tax:
        out["tags"] = tags.parse_names(tax["tags"], errors)
    if "group_ids" in tax:
        out["group_ids"] = groups.usable_ids(actor, tax["group_ids"], errors)
    if "category_id" in tax:
        out["category_id"] = categories.clean_category_id(tax["category_id"], errors)
    return out


def clean(actor, tax: dict) -> dict:
    """``check``, raising ValidationError for bad values."""
    from ..errors import ValidationError

    errors: dict = {}
    out = check(actor, tax, errors)
    if errors:
        raise ValidationError(errors)
    return out


def apply(actor, contact: Contact, values: dict, *, new: bool = False) -> dict:
    """Set the contact's tags, groups and category inside the caller's transaction; returns the
    changes (field -> (before, after)) for its audit entry."""
    from . import groups, tags

    changes = {}
    if "tags" in values:
        changes.update(tags.set_contact_tags(actor, contact, values["tags"], new=new))
    if "group_ids" in values:
        changes.update(groups.set_contact_groups(actor, contact, values["group_ids"], new=new))
    if "category_id" in values and values["category_id"] != contact.category_id:
        changes["category_id"] = (contact.category_id, values["category_id"])
        contact.category_id = values["category_id"]
    if changes and not new:
        touch(contact)
    if new:  # what the API answers with is known: no reads after the commit
        contact.__dict__["tag_names"] = [t.name for t in tags.tags_of([contact.id]).get(contact.id, [])] \
            if values.get("tags") else []
        contact.__dict__["group_ids"] = sorted(values.get("group_ids") or [])
    return changes


def form_values(actor, contact: Contact | None) -> dict:
    """The taxonomy fields of the contact form, as the form shows them."""
    from . import groups, tags

    if contact is None:
        return {"tags": "", "group_ids": [], "category_id": None}
    names = [t.name for t in tags.tags_of([contact.id]).get(contact.id, [])]
    return {"tags": ", ".join(names), "group_ids": groups.group_ids_of(actor, contact.id),
            "category_id": contact.category_id}


def list_filters(values: dict, actor=None) -> list:
    """List-filter callables (for ``list_contacts(extra_filters=...)``) from tag/group/category values."""
    from . import categories, groups, tags

    apply = {"tag": tags.tag_filter, "group": lambda stmt, v: groups.group_filter(stmt, v, actor),
             "category": categories.category_filter}
    return [(lambda stmt, f=apply[k], v=v: f(stmt, v)) for k, v in values.items() if v]


def preload(actor, contacts) -> None:
    """Give each contact ``tag_names`` and ``group_ids`` (for the API) with two queries a page."""
    from . import groups, tags

    ids = [c.id for c in contacts]
    by_contact = tags.tag_names_of(ids)
    group_map = groups.group_ids_of_many(actor, ids)
    for c in contacts:
        c.__dict__["tag_names"] = by_contact.get(c.id, [])
        c.__dict__["group_ids"] = group_map.get(c.id, [])


def tag_names(actor, contact) -> list[str]:
    if "tag_names" not in contact.__dict__:
        preload(actor, [contact])
    return contact.__dict__["tag_names"]


def group_ids(actor, contact) -> list[int]:
    if "group_ids" not in contact.__dict__:
        preload(actor, [contact])
    return contact.__dict__["group_ids"]


# --- merge and unmerge --------------------------------------------------------------------------


def merged(target, source, actor) -> dict | None:
    """Move the source's tags and groups to the target (a union: those the target already has
    are dropped from the source); the target keeps its category. The undo record lists both."""
    from . import audit, groups, tags

    tag_record = tags.move_rows(source.id, target.id)
    group_record = groups.move_rows(source.id, target.id)
    if not tag_record and not group_record:
        return None
    audit.record(actor, "merged", "contact", target.id, {
        "tag_ids": (None, ", ".join(map(str, tag_record.get("moved", [])))),
        "group_ids": (None, ", ".join(str(item[0]) for item in group_record.get("moved", []))),
        "merged_from": (None, source.id),
    })
    return {"tags": tag_record, "groups": group_record}


def unmerged(target, source, actor, record: dict) -> None:
    """Put back exactly what ``merged`` changed: moved rows leave the target, and the source
    gets back every row it had. Idempotent; tags or groups deleted since are skipped."""
    from . import audit, groups, tags

    back = tags.unmove_rows(source.id, target.id, record.get("tags") or {})
    back += groups.unmove_rows(source.id, target.id, record.get("groups") or {})
    if back:
        audit.record(actor, "unmerged", "contact", source.id, {"restored": (None, back), "unmerged_from": (None, target.id)})


# --- the bulk operations, in one place for callers (bulk actions, import) -----------------------


def add_tags(actor, contact_ids, names, folded: dict | None = None) -> BulkResult:
    from .tags import add_tags as run

    return run(actor, contact_ids, names, folded)


def remove_tags(actor, contact_ids, names) -> BulkResult:
    from .tags import remove_tags as run

    return run(actor, contact_ids, names)


def add_to_group(actor, contact_ids, group_id) -> BulkResult:
    from .groups import add_to_group as run

    return run(actor, contact_ids, group_id)


def remove_from_group(actor, contact_ids, group_id) -> BulkResult:
    from .groups import remove_from_group as run

    return run(actor, contact_ids, group_id)


def set_category(actor, contact_ids, category_id) -> BulkResult:
    from .categories import set_category as run

    return run(actor, contact_ids, category_id)
