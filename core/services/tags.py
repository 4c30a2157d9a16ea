"""Tags: free labels with a colour from a small accessible palette; names unique regardless of
case. Anyone who may edit a contact may tag it (and create a tag by typing a new name); renaming,
recolouring and deleting tags is for admins (``tag.manage``).
"""

from __future__ import annotations

import functools
import zlib

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..database import transaction
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import MAX_ID, Contact, ContactTag, Tag, parse_id
from ..policy import can, require
from . import audit, id_lists, stamps
from .fields import clean_text
from .pagination import Page, paginate
from .records import apply_changes
from .taxonomy import BulkResult, editable_chunks, member_condition, touch

# Colour key -> (label, background, text): each pair has a contrast ratio of at least 4.5:1.
PALETTE = {
    "gray": ("Gray", "#e5e7eb", "#1f2937"),
    "red": ("Red", "#fee2e2", "#991b1b"),
    "orange": ("Orange", "#ffedd5", "#9a3412"),
    "yellow": ("Yellow", "#fef9c3", "#854d0e"),
    "green": ("Green", "#dcfce7", "#166534"),
    "teal": ("Teal", "#ccfbf1", "#115e59"),
    "blue": ("Blue", "#dbeafe", "#1e40af"),
    "purple": ("Purple", "#f3e8ff", "#6b21a8"),
    "pink": ("Pink", "#fce7f3", "#9d174d"),
}
MAX_NAME = 50
MAX_TAGS_PER_CONTACT = 100
COUNT_CAP = 1000  # the manage page shows "1,000+" beyond this


def joined(names) -> str:
    """Tag names as the audit trail keeps them: "Alpha, beta" (the trail holds scalars)."""
    return ", ".join(sorted(names, key=str.lower))


def color_for(name_key: str) -> str:
    """A new tag's colour: stable for its name, spread over the palette."""
    keys = list(PALETTE)
    return keys[zlib.crc32(name_key.encode()) % len(keys)]


def clean_name(raw, errors: dict, field: str = "name") -> str:
    name = " ".join(clean_text(raw, field, errors, MAX_NAME, required=True).split())
    if field not in errors and "," in name:
        errors[field] = "A tag name cannot contain a comma."
    return name


def parse_names(value, errors: dict, field: str = "tags") -> list[str]:
    """Tag names from a comma-separated string or a list; duplicates (any case) dropped."""
    if value is None:
        raw = []
    elif isinstance(value, str):
        raw = value.split(",")
    elif isinstance(value, (list, tuple)):
        raw = value
    else:
        errors[field] = "A list of tag names."
        return []
    names, seen = [], set()
    for item in raw:
        if not isinstance(item, str):
            errors[field] = "A list of tag names."
            return []
        if not item.strip():
            continue
        one: dict = {}
        name = clean_name(item, one, field)
        if one:
            errors[field] = f"{one[field]} ({item.strip()[:60]})"
            return []
        if name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    if len(names) > MAX_TAGS_PER_CONTACT:
        errors[field] = f"At most {MAX_TAGS_PER_CONTACT} tags."
    return names


def get_tag(actor, tag_id: int) -> Tag:
    require(actor, "tag.view")
    tag = db.session.get(Tag, tag_id) if 0 < tag_id <= MAX_ID else None
    if tag is None:
        raise NotFound("No such tag.")
    return tag


def find(name: str) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.name_key == name.strip().lower()))


def list_tags(actor, *, q: str = "", cursor: str | None = None, limit: int = 50) -> Page:
    """Tags by name, a keyset page at a time; ``q`` keeps the names starting with it."""
    require(actor, "tag.list")
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    stmt = select(Tag)
    key = (q or "").strip().lower()[:MAX_NAME]
    if key:  # a range, so the unique index on name_key serves it on both databases
        stmt = stmt.where(Tag.name_key >= key, Tag.name_key < key + "\U0010ffff")
    return paginate(db.session, stmt, (Tag.name_key, Tag.id), [str, int], cursor, limit, False,
                    key_of=lambda t: [t.name_key, t.id])


def options(actor, q: str, limit: int = 10) -> list[Tag]:
    return list_tags(actor, q=q, limit=limit).items


def counts(tag_ids) -> dict[int, int]:
    """Contacts per tag (those in the trash too: they keep their tags), each count stopping at
    COUNT_CAP + 1 (shown as "1,000+"): at most that many entries of the (tag_id, contact_id) index."""
    out = {}
    for tag_id in tag_ids:
        inner = select(ContactTag.contact_id).where(ContactTag.tag_id == tag_id).limit(COUNT_CAP + 1).subquery()
        out[tag_id] = db.session.scalar(select(func.count()).select_from(inner))
    return out


def _duplicate(exc: IntegrityError):
    if "name_key" in str(exc.orig) or "uq_tags" in str(exc.orig):
        return ValidationError({"name": "A tag with this name exists already."})
    raise exc


def _new_tag(name: str, color: str | None = None) -> Tag:
    tag = Tag(name=name, name_key=name.lower(), color=color or color_for(name.lower()))
    db.session.add(tag)
    db.session.flush()
    return tag


def _clean_color(data: dict, errors: dict) -> str | None:
    color = data.get("color")
    if color in (None, ""):
        return None
    if color not in PALETTE:
        errors["color"] = f"Choose one of: {', '.join(PALETTE)}."
    return color


def create_tag(actor, data: dict) -> Tag:
    require(actor, "tag.create")
    errors: dict = {}
    for name in sorted(set(data) - {"name", "color"}):
        errors[name] = "Unknown field."
    name = clean_name(data.get("name"), errors)
    color = _clean_color(data, errors)
    if "name" not in errors and find(name) is not None:
        errors["name"] = "A tag with this name exists already."
    if errors:
        raise ValidationError(errors)
    try:
        with transaction():
            tag = _new_tag(name, color)
            audit.record(actor, "created", "tag", tag.id, {"name": (None, tag.name), "color": (None, tag.color)})
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return tag


def update_tag(actor, tag_id: int, data: dict) -> Tag:
    """Rename and/or recolour (admins)."""
    tag = get_tag(actor, tag_id)
    require(actor, "tag.manage", tag)
    errors: dict = {}
    for name in sorted(set(data) - {"name", "color"}):
        errors[name] = "Unknown field."
    values = {}
    if "name" in data:
        values["name"] = clean_name(data.get("name"), errors)
        other = find(values["name"]) if "name" not in errors else None
        if other is not None and other.id != tag.id:
            errors["name"] = "A tag with this name exists already."
    if "color" in data:
        values["color"] = _clean_color(data, errors) or tag.color
    if errors:
        raise ValidationError(errors)
    try:
        with transaction():
            changes = apply_changes(tag, values)
            if "name" in changes:
                tag.name_key = tag.name.lower()
            if changes:
                audit.record(actor, "updated", "tag", tag.id, changes)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return tag


def delete_tag(actor, tag_id: int) -> int:
    """Delete the tag and take it off every contact (admins); returns how many carried it."""
    tag = get_tag(actor, tag_id)
    require(actor, "tag.manage", tag)
    with transaction():
        count = db.session.scalar(select(func.count()).select_from(ContactTag).where(ContactTag.tag_id == tag.id))
        db.session.execute(delete(ContactTag).where(ContactTag.tag_id == tag.id))
        audit.record(actor, "deleted", "tag", tag.id, {"name": (tag.name, None), "contacts": (count, 0)})
        db.session.delete(tag)
    return count


# --- tags on contacts -----------------------------------------------------------------------------


def tags_of(contact_ids) -> dict[int, list[Tag]]:
    """contact id -> its tags by name: one query for a whole page."""
    ids = list(contact_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(ContactTag.contact_id, Tag).join(Tag, Tag.id == ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(ids)).order_by(Tag.name_key)
    ).all()
    out: dict[int, list[Tag]] = {}
    for contact_id, tag in rows:
        out.setdefault(contact_id, []).append(tag)
    return out


_TAGS = Tag.__table__
_CONTACT_TAGS = ContactTag.__table__
# Built once, run on the connection: a list page asks it every time, and building the statement and
# passing it through the ORM cost ~4 times what SQLite spends answering it.
@functools.cache
def _chips(one: bool):
    return (
        select(_CONTACT_TAGS.c.contact_id, _TAGS.c.id, _TAGS.c.name, _TAGS.c.color)
        .join(_TAGS, _TAGS.c.id == _CONTACT_TAGS.c.tag_id)
        .where(id_lists.matching(_CONTACT_TAGS.c.contact_id, one))
        .order_by(_TAGS.c.name_key)
    )


_TAG_ID = select(_TAGS.c.id).where(_TAGS.c.id == bindparam("id"))


def chips_of(contact_ids) -> dict[int, list[tuple[int, str, str]]]:
    """contact id -> its tags as (id, name, colour), by name: ``tags_of`` for pages that only show them
    (one query, plain values, no entities)."""
    ids = list(contact_ids)
    if not ids:
        return {}
    out: dict[int, list[tuple[int, str, str]]] = {}
    for contact_id, tag_id, name, color in id_lists.execute(db.session.connection(), _chips, ids):
        out.setdefault(contact_id, []).append((tag_id, name, color))
    return out


def tag_names_of(contact_ids) -> dict[int, list[str]]:
    """contact id -> the names of its tags, in order: ``tags_of`` for answers that show names only."""
    return {contact_id: [name for _id, name, _color in chips] for contact_id, chips in chips_of(contact_ids).items()}


def resolve(actor, names: list[str], *, create: bool) -> list[Tag]:
    """The tags with these names (any case); missing ones are created when ``create`` (that needs
    ``tag.create``), otherwise left out. Call inside the write transaction."""
    if not names:
        return []
    keys = [n.lower() for n in names]
    found = {t.name_key: t for t in db.session.scalars(select(Tag).where(Tag.name_key.in_(keys)))}
    out = []
    for name in names:
        tag = found.get(name.lower())
        if tag is None and create:
            require(actor, "tag.create")
            tag = _new_tag(name)
            found[tag.name_key] = tag
            audit.record(actor, "created", "tag", tag.id, {"name": (None, tag.name), "color": (None, tag.color)})
        if tag is not None:
            out.append(tag)
    return out


def set_contact_tags(actor, contact: Contact, names: list[str], *, new: bool = False) -> dict:
    """Make the contact's tags exactly ``names`` (inside the caller's transaction); returns
    ``{"tags": (before, after)}`` when they changed. ``new``: the contact was created in this
    transaction, so it has none yet (nothing to read)."""
    before = [] if new else tags_of([contact.id]).get(contact.id, [])
    wanted = resolve(actor, names, create=True)
    have = {t.id for t in before}
    want = {t.id for t in wanted}
    if have == want:
        return {}
    if have - want:
        db.session.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id,
                                                    ContactTag.tag_id.in_(have - want)))
    if want - have:
        db.session.execute(insert(ContactTag), [{"contact_id": contact.id, "tag_id": t} for t in sorted(want - have)])
    return {"tags": (joined(t.name for t in before), joined(t.name for t in wanted))}


def _bulk(actor, contact_ids, names, adding: bool, folded: dict | None = None) -> BulkResult:
    errors: dict = {}
    names = parse_names(names, errors)
    if errors:
        raise ValidationError(errors)
    result = BulkResult()
    if not names:
        raise ValidationError({"tags": "Give at least one tag name."})
    with transaction():
        tags = resolve(actor, names, create=adding and can(actor, "tag.create"))
        ids = {t.id for t in tags}
        for contacts in editable_chunks(actor, contact_ids, result):
            current = tags_of([c.id for c in contacts])
            for c in contacts:
                have = current.get(c.id, [])
                have_ids = {t.id for t in have}
                change = ids - have_ids if adding else ids & have_ids
                if not change:
                    result.unchanged += 1
                    continue
                if adding:
                    db.session.execute(insert(ContactTag), [{"contact_id": c.id, "tag_id": t} for t in sorted(change)])
                    after = joined([t.name for t in have] + [t.name for t in tags if t.id in change])
                else:
                    db.session.execute(delete(ContactTag).where(ContactTag.contact_id == c.id,
                                                                ContactTag.tag_id.in_(change)))
                    after = joined(t.name for t in have if t.id not in change)
                change_set = {"tags": (joined(t.name for t in have), after)}
                if folded is None:
                    touch(c)
                    audit.record(actor, "updated", "contact", c.id, change_set)
                else:
                    folded[c.id] = change_set
                result.changed += 1
                result.changed_ids.append(c.id)
    return result


def would_add(actor, contact_ids, names) -> dict:
    """What ``add_tags`` would change, nothing written (an import's preview): contact id ->
    ``{"tags": (before, after)}`` for each contact that lacks one of the tags (of those that exist,
    or may be created by ``actor``)."""
    names = parse_names(names, {})
    if not names:
        return {}
    found = {t.name_key for t in resolve(actor, names, create=False)}
    wanted = [n for n in names if n.lower() in found or can(actor, "tag.create")]
    current = tags_of(contact_ids)
    out = {}
    for cid in contact_ids:
        have = current.get(cid, [])
        have_keys = {t.name_key for t in have}
        change = [n for n in wanted if n.lower() not in have_keys]
        if change:
            out[cid] = {"tags": (joined(t.name for t in have), joined([t.name for t in have] + change))}
    return out


def add_tags(actor, contact_ids, names, folded: dict | None = None) -> BulkResult:
    """Tag every contact ``actor`` may edit (creating missing tags); skips and counts the rest.
    With ``folded`` (a dict: contacts an import batch has just created), each contact's change goes
    there by id for the caller's audit entry, and its version is not moved on."""
    return _bulk(actor, contact_ids, names, True, folded)


def remove_tags(actor, contact_ids, names) -> BulkResult:
    """Untag every contact ``actor`` may edit; skips and counts the rest."""
    return _bulk(actor, contact_ids, names, False)


def tag_filter(stmt, value: str):
    """The "tag" list filter: a tag id, or a name (ANDed with the list's other conditions)."""
    where = tag_member(value, joined=True)
    return stmt if where is None else stmt.where(where)


def tag_member(value: str, *, joined: bool = False):
    """The condition "has the tag ``value``" (an id, or a name); None for no value.
    ``joined``: see ``taxonomy.member_condition`` (only where it is ANDed with the rest)."""
    value = (value or "").strip()
    if not value:
        return None
    tag_id = parse_id(value)
    if tag_id is not None:  # the list's chips link by id: checked without an entity, once per shared version
        tag_id = stamps.local("tag-id", tag_id,
                              make=lambda: db.session.connection().execute(_TAG_ID, {"id": tag_id}).scalar())
    if tag_id is None:
        tag = find(value[:MAX_NAME])
        tag_id = tag.id if tag is not None else None
    if tag_id is None:
        raise ValidationError({"tag": "No such tag."})
    return member_condition(ContactTag.contact_id, ContactTag.tag_id, tag_id, joined=joined)


def filter_options(user) -> list[tuple[str, str]]:
    return [(str(tid), name) for tid, name in db.session.execute(select(Tag.id, Tag.name).order_by(Tag.name_key).limit(500))]


# --- merge ---------------------------------------------------------------------------------------


def move_rows(source_id: int, target_id: int) -> dict:
    have = set(db.session.scalars(select(ContactTag.tag_id).where(ContactTag.contact_id == target_id)))
    theirs = sorted(db.session.scalars(select(ContactTag.tag_id).where(ContactTag.contact_id == source_id)))
    if not theirs:
        return {}
    moved = [t for t in theirs if t not in have]
    dropped = [t for t in theirs if t in have]
    db.session.execute(delete(ContactTag).where(ContactTag.contact_id == source_id))
    if moved:
        db.session.execute(insert(ContactTag), [{"contact_id": target_id, "tag_id": t} for t in moved])
    return {"moved": moved, "dropped": dropped}


def unmove_rows(source_id: int, target_id: int, record: dict) -> int:
    moved = [int(t) for t in record.get("moved") or []]
    wanted = set(moved) | {int(t) for t in record.get("dropped") or []}
    if not wanted:
        return 0
    if moved:
        db.session.execute(delete(ContactTag).where(ContactTag.contact_id == target_id, ContactTag.tag_id.in_(moved)))
    existing = set(db.session.scalars(select(Tag.id).where(Tag.id.in_(wanted))))
    held = set(db.session.scalars(select(ContactTag.tag_id).where(ContactTag.contact_id == source_id)))
    back = sorted((wanted & existing) - held)
    if back:
        db.session.execute(insert(ContactTag), [{"contact_id": source_id, "tag_id": t} for t in back])
    return len(back)
