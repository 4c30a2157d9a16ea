"""Contact-list use cases: lists (create, rename, delete) and their members (add, remove).

A list belongs to a team and follows the contacts' role rules through ``core.policy`` with the
actions ``list.view/list/create/edit/delete``. Changing a membership also needs the right to edit
the contact, and members are only shown to users who may see them.
"""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from core.database import after_commit, transaction
from core.errors import NotFound, ValidationError
from core.extensions import db
from core.models import Contact, utcnow
from core.plugins import hook
from core.policy import can, require, visible_team_ids, writable_teams
from core.services import audit
from core.services.contacts import get_contact as _get_contact
from core.services.fields import clean_text
from core.services.pagination import Page, decode_cursor, paginate
from core.services.records import Owner

from .models import ContactList, ListMember

MAX_NAME = 200
MAX_DESCRIPTION = 2000


# Ids are INTEGER columns: PostgreSQL refuses a larger number outright, so answer 404 first.
MAX_ID = 2**31 - 1


def get_contact(actor, contact_id: int) -> Contact:
    """The core's ``get_contact`` (404 unless ``actor`` may view it), safe for any integer."""
    if not 0 < contact_id <= MAX_ID:
        raise NotFound("No such contact.")
    return _get_contact(actor, contact_id)


def _checked(cursor: str | None, kinds: list) -> str | None:
    """Refuse a cursor whose ids do not fit the INTEGER columns (PostgreSQL would raise)."""
    if cursor and any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in decode_cursor(cursor, kinds)):
        raise ValidationError({"cursor": "This cursor is not valid; start again from the first page."})
    return cursor


def _fire(entity_type: str, entity_id: int, action: str, actor, changes: dict) -> None:
    after_commit(
        lambda: hook().contacts_record_changed(
            entity_type=entity_type, entity_id=entity_id, action=action, actor=actor, changes=changes
        )
    )


def _visible(stmt, actor):
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(ContactList.owner_team_id.in_(teams or [-1]))
    return stmt


def _team_id(value, errors: dict):
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors["owner_team_id"] = "Must be a number."
        return None
    if not 0 < number <= MAX_ID:
        errors["owner_team_id"] = "Out of range."
        return None
    return number


def _clean(actor, data: dict, existing: ContactList | None) -> dict:
    errors: dict = {}
    out: dict = {}
    for name in sorted(set(data) - {"name", "description", "owner_team_id", "csrf_token"}):
        errors[name] = "Unknown field."
    if "name" in data or existing is None:
        out["name"] = clean_text(data.get("name"), "name", errors, MAX_NAME, required=True)
    if "description" in data:
        out["description"] = clean_text(data.get("description"), "description", errors, MAX_DESCRIPTION)
    if "owner_team_id" in data or existing is None:
        team_id = _team_id(data.get("owner_team_id"), errors)
        allowed = [t.id for t in writable_teams(actor)]
        if team_id is None and "owner_team_id" not in errors:
            team_id = existing.owner_team_id if existing else (allowed[0] if allowed else None)
        if "owner_team_id" not in errors and team_id not in allowed and (existing is None or team_id != existing.owner_team_id):
            errors["owner_team_id"] = "Choose one of your teams."
        out["owner_team_id"] = team_id
    if "name" in out and "name" not in errors and "owner_team_id" not in errors:
        team_id = out.get("owner_team_id", existing.owner_team_id if existing else None)
        clash = db.session.scalar(
            select(ContactList.id).where(ContactList.owner_team_id == team_id, ContactList.name_key == out["name"].lower())
        )
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = "This team already has a list with this name."
    if errors:
        raise ValidationError(errors)
    return out


def _duplicate_name(exc: IntegrityError) -> ValidationError:
    if "uq_planning_lists_team_name" in str(exc.orig) or "name_key" in str(exc.orig):
        return ValidationError({"name": "This team already has a list with this name."})
    raise exc


def create_list(actor, data: dict) -> ContactList:
    require(actor, "list.create")
    values = _clean(actor, data, None)
    require(actor, "list.create", Owner(values["owner_team_id"]))
    try:
        with transaction():
            lst = ContactList(
                name=values["name"], name_key=values["name"].lower(), description=values.get("description", ""),
                owner_team_id=values["owner_team_id"], created_by_id=getattr(actor, "id", None),
            )
            db.session.add(lst)
            db.session.flush()
            changes = {k: (None, v) for k, v in values.items()}
            audit.record(actor, "created", "planning_list", lst.id, changes)
            _fire("planning_list", lst.id, "created", actor, changes)
    except IntegrityError as exc:
        raise _duplicate_name(exc) from None
    return lst


def get_list(actor, list_id: int) -> ContactList:
    lst = db.session.get(ContactList, list_id) if 0 < list_id <= MAX_ID else None
    if lst is None:
        raise NotFound("No such list.")
    require(actor, "list.view", lst)
    return lst


def update_list(actor, list_id: int, data: dict) -> ContactList:
    lst = get_list(actor, list_id)
    require(actor, "list.edit", lst)
    values = _clean(actor, data, lst)
    if values.get("owner_team_id", lst.owner_team_id) != lst.owner_team_id:
        require(actor, "list.edit", Owner(values["owner_team_id"]))
    try:
        with transaction():
            changes = {}
            for name, value in values.items():
                if getattr(lst, name) != value:
                    changes[name] = (getattr(lst, name), value)
                    setattr(lst, name, value)
            if "name" in changes:
                lst.name_key = lst.name.lower()
            if changes:
                lst.updated_at = utcnow()
                audit.record(actor, "updated", "planning_list", lst.id, changes)
                _fire("planning_list", lst.id, "updated", actor, changes)
    except IntegrityError as exc:
        raise _duplicate_name(exc) from None
    return lst


def delete_list(actor, list_id: int) -> None:
    lst = get_list(actor, list_id)
    require(actor, "list.delete", lst)
    with transaction():
        count = db.session.scalar(select(func.count()).select_from(ListMember).where(ListMember.list_id == lst.id))
        db.session.execute(delete(ListMember).where(ListMember.list_id == lst.id))
        changes = {"name": (lst.name, None), "members": (count, None)}
        db.session.delete(lst)
        audit.record(actor, "deleted", "planning_list", list_id, changes)
        _fire("planning_list", list_id, "deleted", actor, changes)


def list_lists(actor, *, cursor: str | None = None, limit: int = 50) -> Page:
    """The lists ``actor`` may see, by name, one keyset page at a time."""
    require(actor, "list.list")
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    stmt = _visible(select(ContactList), actor)
    return paginate(
        db.session, stmt, (ContactList.name_key, ContactList.id), [str, int], _checked(cursor, [str, int]), limit,
        False,
        key_of=lambda lst: [lst.name_key, lst.id],
    )


def list_options(actor, *, writable: bool = False, limit: int = 500) -> list[ContactList]:
    """Lists for a drop-down: every visible one, or only those ``actor`` may change."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    stmt = _visible(select(ContactList), actor).order_by(ContactList.name_key, ContactList.id).limit(limit)
    lists = db.session.scalars(stmt).all()
    if writable:
        lists = [lst for lst in lists if can(actor, "list.edit", lst)]
    return lists


def has_writable_list(actor, *, limit: int = 500) -> bool:
    """Whether ``actor`` may change at least one list (the same lists ``list_options(writable=True)``
    would offer), reading only as many rows as it takes to find one."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    stmt = _visible(select(ContactList), actor).order_by(ContactList.name_key, ContactList.id).limit(limit)
    result = db.session.scalars(stmt.execution_options(yield_per=20))
    try:
        return any(can(actor, "list.edit", lst) for lst in result)
    finally:
        result.close()


def _members_stmt(actor, list_id: int):
    stmt = (
        select(ListMember)
        .join(Contact, Contact.id == ListMember.contact_id)
        .where(ListMember.list_id == list_id, Contact.deleted_at.is_(None))
    )
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(Contact.owner_team_id.in_(teams or [-1]))
    return stmt


def members(actor, list_id: int, *, cursor: str | None = None, limit: int = 50) -> Page:
    """The list's contacts that ``actor`` may see, most recently added first."""
    lst = get_list(actor, list_id)
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    page = paginate(
        db.session, _members_stmt(actor, lst.id), (ListMember.added_at, ListMember.contact_id), [datetime, int],
        _checked(cursor, [datetime, int]), limit, True, key_of=lambda m: [m.added_at, m.contact_id],
    )
    page.extra["list"] = lst
    return page


def member_ids(list_id: int, contact_ids) -> set[int]:
    ids = list(contact_ids)
    if not ids:
        return set()
    return set(db.session.scalars(
        select(ListMember.contact_id).where(ListMember.list_id == list_id, ListMember.contact_id.in_(ids))
    ))


def _membership_target(actor, list_id: int, contact_id: int) -> tuple[ContactList, Contact]:
    lst = get_list(actor, list_id)
    contact = get_contact(actor, contact_id)  # 404 unless visible
    require(actor, "list.edit", lst)
    require(actor, "contact.edit", contact)
    return lst, contact


def add_member(actor, list_id: int, contact_id: int) -> bool:
    """Put the contact on the list; returns False when it already was (nothing changes)."""
    lst, contact = _membership_target(actor, list_id, contact_id)
    with transaction():
        exists = db.session.get(ListMember, (lst.id, contact.id))
        if exists is not None:
            return False
        db.session.add(ListMember(list_id=lst.id, contact_id=contact.id, added_by_id=getattr(actor, "id", None)))
        lst.updated_at = utcnow()
        db.session.flush()
        changes = {"list_id": (None, lst.id), "contact_id": (None, contact.id)}
        audit.record(actor, "created", "planning_list_member", lst.id, changes)
        _fire("planning_list_member", lst.id, "created", actor, changes)
    return True


def remove_member(actor, list_id: int, contact_id: int) -> bool:
    """Take the contact off the list; returns False when it was not on it."""
    lst, contact = _membership_target(actor, list_id, contact_id)
    with transaction():
        member = db.session.get(ListMember, (lst.id, contact.id))
        if member is None:
            return False
        db.session.delete(member)
        lst.updated_at = utcnow()
        changes = {"list_id": (lst.id, None), "contact_id": (contact.id, None)}
        audit.record(actor, "deleted", "planning_list_member", lst.id, changes)
        _fire("planning_list_member", lst.id, "deleted", actor, changes)
    return True


def lists_of_contact(actor, contact_id: int) -> list[ContactList]:
    """The visible lists that hold the contact."""
    contact = get_contact(actor, contact_id)
    stmt = _visible(
        select(ContactList).join(ListMember, ListMember.list_id == ContactList.id).where(ListMember.contact_id == contact.id),
        actor,
    )
    return db.session.scalars(stmt.order_by(ContactList.name_key, ContactList.id)).all()


def in_list_filter(stmt, value: str):
    """The "In list" search filter: narrow a contacts ``select`` to the members of one list."""
    value = (value or "").strip()
    if not value:
        return stmt
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise ValidationError({"list": "No such list."})
    actor = current_user if has_request_context() else None
    lst = db.session.get(ContactList, int(value))
    if lst is None or actor is None or not can(actor, "list.view", lst):
        raise ValidationError({"list": "No such list."})
    return stmt.where(Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id == lst.id)))


def filter_options(actor, limit: int = 500) -> list[tuple[str, str]]:
    """The visible lists as (id, name), read on every contacts list page: two columns, not objects."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    stmt = _visible(select(ContactList.id, ContactList.name), actor).order_by(ContactList.name_key, ContactList.id)
    return [(str(lid), name) for lid, name in db.session.execute(stmt.limit(limit))]


def repoint(target, source, actor) -> dict | None:
    """After a merge: move ``source``'s memberships to ``target``, dropping those of lists that
    hold both. Returns the undo record (``{"moved": [list ids], "dropped": [membership rows]}``,
    JSON-serializable) or None when ``source`` was in no list."""
    with transaction():
        rows = db.session.execute(
            select(ListMember.list_id, ListMember.added_at, ListMember.added_by_id)
            .where(ListMember.contact_id == source.id).order_by(ListMember.list_id)
        ).all()
        if not rows:
            return None
        already = set(db.session.scalars(select(ListMember.list_id).where(ListMember.contact_id == target.id)))
        moved = [r.list_id for r in rows if r.list_id not in already]
        dropped = [{"list_id": r.list_id, "added_at": r.added_at.isoformat() if r.added_at else None,
                    "added_by_id": r.added_by_id} for r in rows if r.list_id in already]
        db.session.execute(
            ListMember.__table__.update()
            .where(ListMember.contact_id == source.id, ~ListMember.list_id.in_(
                select(ListMember.list_id).where(ListMember.contact_id == target.id)))
            .values(contact_id=target.id)
        )
        db.session.execute(delete(ListMember).where(ListMember.contact_id == source.id))
        audit.record(actor, "merged", "planning_list_member", None,
                     {"contact_id": (source.id, target.id), "moved": (None, len(moved)),
                      "duplicates": (None, len(dropped))})
    return {"moved": moved, "dropped": dropped}


def unrepoint(target, source, actor, record: dict | None) -> int:
    """Undo ``repoint`` from its record: moved memberships still on ``target`` go back to
    ``source`` and dropped ones are re-created with their original ``added_at``/``added_by``.
    Lists deleted since, and lists that hold ``source`` again, are skipped; calling it twice
    changes nothing. Returns how many memberships ``source`` got back."""
    from core.models import User

    if not record:
        return 0
    moved = [int(i) for i in record.get("moved") or []]
    dropped = [d for d in record.get("dropped") or [] if isinstance(d, dict) and d.get("list_id")]
    restored = 0
    with transaction():
        held = set(db.session.scalars(select(ListMember.list_id).where(ListMember.contact_id == source.id)))
        back = [i for i in moved if i not in held]
        for start in range(0, len(back), 500):  # bounded IN lists
            restored += db.session.execute(
                ListMember.__table__.update()
                .where(ListMember.contact_id == target.id, ListMember.list_id.in_(back[start:start + 500]))
                .values(contact_id=source.id)
            ).rowcount or 0
        wanted = {int(d["list_id"]) for d in dropped} - held
        lists = set(db.session.scalars(select(ContactList.id).where(ContactList.id.in_(wanted)))) if wanted else set()
        users = {int(d["added_by_id"]) for d in dropped if d.get("added_by_id")}
        users = set(db.session.scalars(select(User.id).where(User.id.in_(users)))) if users else set()
        for d in dropped:
            list_id = int(d["list_id"])
            if list_id not in lists:
                continue
            lists.discard(list_id)
            added_at = datetime.fromisoformat(d["added_at"]) if d.get("added_at") else utcnow()
            by = d.get("added_by_id") if d.get("added_by_id") in users else None
            db.session.add(ListMember(list_id=list_id, contact_id=source.id, added_at=added_at, added_by_id=by))
            restored += 1
        db.session.flush()
        if restored:
            audit.record(actor, "unmerged", "planning_list_member", None,
                         {"contact_id": (target.id, source.id), "restored": (None, restored)})
    return restored


__all__ = ["create_list", "update_list", "delete_list", "get_list", "list_lists", "members", "add_member",
           "remove_member", "lists_of_contact", "in_list_filter", "filter_options", "repoint",
           "unrepoint"]


# --- bulk actions on the contacts list (the contacts_bulk_actions hook) -----------------------------


def writable_list_options(actor) -> list[tuple[str, str]]:
    return [(str(lst.id), lst.name) for lst in list_options(actor, writable=True)]


def _bulk_membership(change):
    def apply(actor, contact_ids, params) -> tuple[int, int]:
        """Add (or remove) each contact; the list is checked once, each contact by ``change``."""
        from core.errors import PermissionDenied

        lst = get_list(actor, int(params["list_id"]))
        require(actor, "list.edit", lst)
        changed = skipped = 0
        for contact_id in contact_ids:
            try:
                changed += bool(change(actor, lst.id, contact_id))
            except (PermissionDenied, NotFound):
                skipped += 1
        return changed, skipped

    return apply


bulk_add = _bulk_membership(add_member)
bulk_remove = _bulk_membership(remove_member)
