"""Categories: an admin-managed tree (``category.manage``); a contact has at most one.

The tree is small, so it is read whole to draw it, to find a
category's subcategories for the list filter, and to refuse cycles when a subtree moves.
"""

from __future__ import annotations

import functools

from sqlalchemy import select, update

from ..database import transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..models import MAX_ID, Category, Contact, parse_id
from ..policy import require
from . import audit, hierarchy, stamps
from .fields import clean_text
from .kept_conditions import kept
from .records import apply_changes, int_or_none
from .taxonomy import BulkResult, editable_chunks, touch

MAX_NAME = 100
MAX_DEPTH = 20
ORDER = (Category.position, Category.name_key, Category.id)  # siblings: by position, then name


def all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(*ORDER)))


def _parents() -> dict[int, int | None]:
    return {cid: pid for cid, pid in db.session.execute(select(Category.id, Category.parent_id))}


def tree(actor=None) -> list[tuple[Category, int]]:
    """Every category with its depth, parents before children, siblings by name."""
    return _ordered(all_categories())


def _ordered(cats) -> list:
    """(category, depth) pairs, parents before children, of anything with ``id`` and ``parent_id``."""
    children: dict = {}
    for c in cats:
        children.setdefault(c.parent_id, []).append(c)
    out: list = []

    def walk(parent, depth):
        for c in children.get(parent, []):
            out.append((c, depth))
            if depth < MAX_DEPTH * 5:
                walk(c.id, depth + 1)

    walk(None, 0)
    return out


def descendant_ids(category_id: int, parents: dict | None = None) -> list[int]:
    """The category and all its subcategories. ``parents``: ``_parents()`` when the caller has it."""
    children: dict = {}
    for cid, pid in (parents if parents is not None else _parents()).items():
        children.setdefault(pid, []).append(cid)
    out, todo = [], [category_id]
    while todo:
        cid = todo.pop()
        if cid in out:
            continue
        out.append(cid)
        todo.extend(children.get(cid, []))
    return out


def path(category_id: int | None) -> list[Category]:
    """The category's ancestors then itself (for "Parent › Child")."""
    out: list = []
    for cat in hierarchy.up_from(Category, Category.parent_id, category_id) if category_id else ():
        if cat in out:  # a cycle: the chain repeats
            break
        out.insert(0, cat)
    return out


def get_category(actor, category_id: int) -> Category:
    require(actor, "category.view")
    cat = db.session.get(Category, category_id) if 0 < category_id <= MAX_ID else None
    if cat is None:
        raise NotFound("No such category.")
    return cat


def _clean(data: dict, existing: Category | None) -> dict:
    errors: dict = {}
    out: dict = {}
    for name in sorted(set(data) - {"name", "parent_id", "position"}):
        errors[name] = "Unknown field."
    if "name" in data or existing is None:
        out["name"] = " ".join(clean_text(data.get("name"), "name", errors, MAX_NAME, required=True).split())
    if "parent_id" in data:
        parent_id = int_or_none(data.get("parent_id"), "parent_id", errors)
        if parent_id is not None and "parent_id" not in errors:
            parents = _parents()
            if parent_id not in parents:
                errors["parent_id"] = "No such category."
            elif existing is not None:
                # Refuse a cycle: the new parent may not be the category or one of its subcategories.
                node, seen = parent_id, set()
                while node is not None and node not in seen:
                    if node == existing.id:
                        errors["parent_id"] = ("A category cannot be moved under itself or one of its own "
                                               "subcategories.")
                        break
                    seen.add(node)
                    node = parents.get(node)
            if "parent_id" not in errors:
                depth, node = 0, parent_id
                while node is not None and depth <= MAX_DEPTH:
                    depth, node = depth + 1, parents.get(node)
                if depth >= MAX_DEPTH:
                    errors["parent_id"] = f"At most {MAX_DEPTH} levels."
        out["parent_id"] = parent_id
    if "position" in data:
        pos = data.get("position")
        if pos in (None, ""):
            out["position"] = 0
        elif isinstance(pos, bool) or not str(pos).lstrip("-").isdecimal() or abs(int(pos)) > 1_000_000:
            errors["position"] = "A whole number."
        else:
            out["position"] = int(pos)
    if ("name" in out or "parent_id" in out) and "name" not in errors and "parent_id" not in errors:
        # a new name, or a move (which takes the name to other siblings): no two siblings share one
        name = out.get("name", existing.name if existing else "")
        clash = _sibling_named(out.get("parent_id", existing.parent_id if existing else None), name)
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = "There is already a category with this name here."
    if errors:
        raise ValidationError(errors)
    return out


def _sibling_named(parent_id: int | None, name: str, *, but: int | None = None) -> int | None:
    """A category under ``parent_id`` (None: the top level) with this name, other than ``but``."""
    stmt = select(Category.id).where(
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id,
        Category.name_key == name.lower())
    if but is not None:
        stmt = stmt.where(Category.id != but)
    return db.session.scalar(stmt.limit(1))


def create_category(actor, data: dict) -> Category:
    require(actor, "category.manage")
    values = _clean(data, None)
    with transaction():
        cat = Category(name=values["name"], name_key=values["name"].lower(), parent_id=values.get("parent_id"),
                       position=values.get("position", 0))
        db.session.add(cat)
        db.session.flush()
        audit.record(actor, "created", "category", cat.id, {k: (None, v) for k, v in values.items()})
    return cat


def update_category(actor, category_id: int, data: dict) -> Category:
    """Rename, reorder, or move the category with its whole subtree (``parent_id``)."""
    require(actor, "category.manage")
    with transaction():
        cat = get_category(actor, category_id)
        values = _clean(data, cat)
        changes = apply_changes(cat, values)
        if "name" in changes:
            cat.name_key = cat.name.lower()
        if changes:
            audit.record(actor, "updated", "category", cat.id, changes)
        return cat


def delete_category(actor, category_id: int) -> int:
    """Delete the category: its subcategories move up to its parent, its contacts get no
    category. Returns how many contacts had it. Refused (Conflict) when a subcategory would move up
    beside a category of the same name: no silent duplicates in the tree."""
    require(actor, "category.manage")
    with transaction():
        cat = get_category(actor, category_id)
        for child in db.session.scalars(select(Category).where(Category.parent_id == cat.id).order_by(*ORDER)):
            clash = _sibling_named(cat.parent_id, child.name, but=cat.id)  # the deleted one makes room
            if clash is not None:
                other = db.session.get(Category, clash)
                raise Conflict(f"“{cat.name}” cannot be deleted: its subcategory “{child.name}” would move up beside "
                               f"another “{other.name}”. Rename or move one of them first.")
        count = db.session.execute(update(Contact).where(Contact.category_id == cat.id)
                                   .values(category_id=None, version=Contact.version + 1)).rowcount or 0
        db.session.execute(update(Category).where(Category.parent_id == cat.id).values(parent_id=cat.parent_id))
        audit.record(actor, "deleted", "category", cat.id, {"name": (cat.name, None), "contacts": (count, 0)})
        db.session.delete(cat)
    return count


def clean_category_id(value, errors: dict) -> int | None:
    cid = int_or_none(value, "category_id", errors)
    if cid is not None and "category_id" not in errors and db.session.get(Category, cid) is None:
        errors["category_id"] = "No such category."
    return cid


def set_category(actor, contact_ids, category_id) -> BulkResult:
    """Give every contact ``actor`` may edit this category (None clears it); skips and counts the rest."""
    errors: dict = {}
    cid = clean_category_id(category_id, errors)
    if errors:
        raise ValidationError(errors)
    result = BulkResult()
    with transaction():
        for contacts in editable_chunks(actor, contact_ids, result):
            for c in contacts:
                if c.category_id == cid:
                    result.unchanged += 1
                    continue
                audit.record(actor, "updated", "contact", c.id, {"category_id": (c.category_id, cid)})
                c.category_id = cid
                touch(c)
                result.changed += 1
                result.changed_ids.append(c.id)
    return result


def category_filter(stmt, value: str):
    """The "category" list filter: the category and its subcategories."""
    value = (value or "").strip()
    if not value:
        return stmt
    category_id = parse_id(value)
    ids = stamps.local("category-subtree", category_id, make=lambda: _subtree(category_id)) if category_id else None
    if ids is None:
        raise ValidationError({"category": "No such category."})
    return stmt.where(_in_categories(ids))


@functools.lru_cache(maxsize=256)
def _in_categories(ids: tuple[int, ...]):
    """The condition for a subtree's ids, built once a process (an ``IN`` of a few dozen values
    costs ~0.3 ms to build; expressions are immutable, so one serves every statement)."""
    if len(ids) == 1:
        return kept(Contact.category_id == ids[0])
    return kept(Contact.category_id.in_(ids))


def _subtree(category_id: int) -> tuple[int, ...] | None:
    """The category and its subcategories (None when it does not exist): the tree (two columns) says both."""
    parents = _parents()
    return tuple(descendant_ids(category_id, parents)) if category_id in parents else None


def filter_options(user) -> list[tuple[str, str]]:
    """The tree as the list filter's choices, read on every list page: three columns, not objects."""
    rows = db.session.execute(select(Category.id, Category.parent_id, Category.name).order_by(*ORDER)).all()
    return [(str(c.id), "\u2014 " * depth + c.name) for c, depth in _ordered(rows)]
