"""Contact groups (the PRD's ContactGroup): named, team-owned sets of contacts.

Permissions follow the contacts' team rules (``group.view/list/create/edit/delete`` through
core/policy.py); changing a membership also needs the right to edit the contact.
"""

from __future__ import annotations

import functools
from datetime import datetime

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from ..database import transaction
from ..errors import NotFound, ValidationError
from ..extensions import cache, db
from ..models import MAX_ID, Contact, ContactGroup, GroupMember, parse_id, utcnow
from ..policy import can, require, visible_team_ids
from . import audit, id_lists, stamps
from .fields import clean_text
from .pagination import Page, decode_cursor, paginate
from .records import Owner, apply_changes, clean_owner_team, int_or_none
from .taxonomy import BulkResult, editable_chunks, member_condition, touch

MAX_NAME = 200
MAX_DESCRIPTION = 2000


def _visible(stmt, actor):
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(ContactGroup.owner_team_id.in_(teams or [-1]))
    return stmt


def _clean(actor, data: dict, existing: ContactGroup | None) -> dict:
    errors: dict = {}
    out: dict = {}
    for name in sorted(set(data) - {"name", "description", "owner_team_id"}):
        errors[name] = "Unknown field."
    if "name" in data or existing is None:
        out["name"] = clean_text(data.get("name"), "name", errors, MAX_NAME, required=True)
    if "description" in data:
        out["description"] = clean_text(data.get("description"), "description", errors, MAX_DESCRIPTION)
    if "owner_team_id" in data or existing is None:
        out["owner_team_id"] = clean_owner_team(actor, data, existing, errors)
    if "name" in out and not errors:
        team_id = out.get("owner_team_id", existing.owner_team_id if existing else None)
        clash = db.session.scalar(select(ContactGroup.id).where(
            ContactGroup.owner_team_id == team_id, ContactGroup.name_key == out["name"].lower()))
        if clash is not None and (existing is None or clash != existing.id):
            errors["name"] = "This team already has a group with this name."
    if errors:
        raise ValidationError(errors)
    return out


def _duplicate(exc: IntegrityError):
    if "name" in str(exc.orig):
        return ValidationError({"name": "This team already has a group with this name."})
    raise exc


def create_group(actor, data: dict) -> ContactGroup:
    require(actor, "group.create")
    values = _clean(actor, data, None)
    require(actor, "group.create", Owner(values["owner_team_id"]))
    try:
        with transaction():
            group = ContactGroup(name=values["name"], name_key=values["name"].lower(),
                                 description=values.get("description", ""), owner_team_id=values["owner_team_id"],
                                 created_by_id=getattr(actor, "id", None))
            db.session.add(group)
            db.session.flush()
            audit.record(actor, "created", "contact_group", group.id, {k: (None, v) for k, v in values.items()})
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return group


def get_group(actor, group_id: int) -> ContactGroup:
    group = db.session.get(ContactGroup, group_id) if 0 < group_id <= MAX_ID else None
    if group is None:
        raise NotFound("No such group.")
    require(actor, "group.view", group)
    return group


def update_group(actor, group_id: int, data: dict) -> ContactGroup:
    group = get_group(actor, group_id)
    require(actor, "group.edit", group)
    values = _clean(actor, data, group)
    if values.get("owner_team_id", group.owner_team_id) != group.owner_team_id:
        require(actor, "group.edit", Owner(values["owner_team_id"]))
    try:
        with transaction():
            changes = apply_changes(group, values)
            if "name" in changes:
                group.name_key = group.name.lower()
            if changes:
                audit.record(actor, "updated", "contact_group", group.id, changes)
    except IntegrityError as exc:
        raise _duplicate(exc) from None
    return group


def delete_group(actor, group_id: int) -> None:
    group = get_group(actor, group_id)
    require(actor, "group.delete", group)
    with transaction():
        count = db.session.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group.id))
        db.session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
        audit.record(actor, "deleted", "contact_group", group.id, {"name": (group.name, None), "members": (count, 0)})
        from .contact_templates import forget_group  # it imports this module

        forget_group(actor, group.id)
        db.session.delete(group)


def list_groups(actor, *, cursor: str | None = None, limit: int = 50) -> Page:
    require(actor, "group.list")
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    return paginate(db.session, _visible(select(ContactGroup), actor), (ContactGroup.name_key, ContactGroup.id),
                    [str, int], cursor, limit, False, key_of=lambda g: [g.name_key, g.id])


@functools.cache
def _groups_query(by_team: bool, of_contact: bool):
    """The visible groups by name (``of_contact``: all those ``contact_id`` is in; else at most ``limit``): built
    once, with the teams as a parameter (the contact page's Groups panel asks both on every view)."""
    stmt = select(ContactGroup).options(lazyload(ContactGroup.owner_team))  # not shown; a join per query otherwise
    if of_contact:
        stmt = stmt.join(GroupMember, GroupMember.group_id == ContactGroup.id).where(
            GroupMember.contact_id == bindparam("contact_id"))
    if by_team:
        stmt = stmt.where(ContactGroup.owner_team_id.in_(bindparam("teams", expanding=True)))
    stmt = stmt.order_by(ContactGroup.name_key, ContactGroup.id)
    return stmt if of_contact else stmt.limit(bindparam("limit"))


def _groups(actor, limit: int | None, contact_id: int | None = None) -> list[ContactGroup]:
    """``_groups_query``'s answer: a contact's groups (``contact_id``, all of them) or up to ``limit``."""
    teams = visible_team_ids(actor)  # as _visible
    params = {"limit": limit, "contact_id": contact_id, "teams": list(teams or ()) or [-1]}
    return list(db.session.scalars(_groups_query(teams is not None, contact_id is not None), params))


def usable_groups(actor, limit: int = 500) -> list[ContactGroup]:
    """Groups ``actor`` may put contacts in (the contact form's choices)."""
    return [g for g in _groups(actor, limit) if can(actor, "group.edit", g)]


def visible_groups(actor, limit: int = 500) -> list[ContactGroup]:
    return _groups(actor, limit)


def _checked_cursor(cursor):
    if cursor:
        _when, cid = decode_cursor(cursor, [datetime, int])
        if not 0 <= cid <= MAX_ID:
            raise ValidationError({"cursor": "This cursor is not valid; start again from the first page."})
    return cursor


def members(actor, group_id: int, *, cursor: str | None = None, limit: int = 50) -> Page:
    """The group's live contacts ``actor`` may see, most recently added first (keyset pages)."""
    group = get_group(actor, group_id)
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    stmt = (select(GroupMember).join(Contact, Contact.id == GroupMember.contact_id)
            .where(GroupMember.group_id == group.id, Contact.deleted_at.is_(None)))
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(Contact.owner_team_id.in_(teams or [-1]))
    page = paginate(db.session, stmt, (GroupMember.added_at, GroupMember.contact_id), [datetime, int],
                    _checked_cursor(cursor), limit, True, key_of=lambda m: [m.added_at, m.contact_id])
    page.extra["group"] = group
    return page


def _contact_for_membership(actor, group_id: int, contact_id: int):
    from .contacts import get_contact

    group = get_group(actor, group_id)
    if not 0 < contact_id <= MAX_ID:
        raise NotFound("No such contact.")
    contact = get_contact(actor, contact_id)
    require(actor, "group.edit", group)
    require(actor, "contact.edit", contact)
    return group, contact


def add_member(actor, group_id: int, contact_id: int) -> bool:
    group, contact = _contact_for_membership(actor, group_id, contact_id)
    return bool(add_to_group(actor, [contact.id], group.id).changed)


def remove_member(actor, group_id: int, contact_id: int) -> bool:
    group, contact = _contact_for_membership(actor, group_id, contact_id)
    return bool(remove_from_group(actor, [contact.id], group.id).changed)


def _bulk(actor, contact_ids, group_id, adding: bool) -> BulkResult:
    errors: dict = {}
    gid = int_or_none(group_id, "group_id", errors)
    if errors or gid is None:
        raise ValidationError({"group_id": errors.get("group_id", "Choose a group.")})
    group = get_group(actor, gid)
    require(actor, "group.edit", group)
    result = BulkResult()
    by = getattr(actor, "id", None)
    with transaction():
        for contacts in editable_chunks(actor, contact_ids, result):
            ids = [c.id for c in contacts]
            inside = set(db.session.scalars(select(GroupMember.contact_id).where(
                GroupMember.group_id == group.id, GroupMember.contact_id.in_(ids))))
            for c in contacts:
                if (c.id in inside) == adding:
                    result.unchanged += 1
                    continue
                if adding:
                    db.session.execute(insert(GroupMember), [{"group_id": group.id, "contact_id": c.id,
                                                              "added_at": utcnow(), "added_by_id": by}])
                    change = {"group_ids": (None, group.id)}
                else:
                    db.session.execute(delete(GroupMember).where(GroupMember.group_id == group.id,
                                                                 GroupMember.contact_id == c.id))
                    change = {"group_ids": (group.id, None)}
                touch(c)
                audit.record(actor, "updated", "contact", c.id, change)
                result.changed += 1
                result.changed_ids.append(c.id)
    return result


def add_to_group(actor, contact_ids, group_id) -> BulkResult:
    """Put every contact ``actor`` may edit into the group; skips and counts the rest."""
    return _bulk(actor, contact_ids, group_id, True)


def remove_from_group(actor, contact_ids, group_id) -> BulkResult:
    """Take every contact ``actor`` may edit out of the group; skips and counts the rest."""
    return _bulk(actor, contact_ids, group_id, False)


# --- the contact form and page ---------------------------------------------------------------------


def usable_ids(actor, value, errors: dict) -> list[int]:
    """The ``group_ids`` field: ids of groups ``actor`` may use."""
    if value in (None, ""):
        return []
    raw = value if isinstance(value, (list, tuple)) else [value]
    ids = []
    for item in raw:
        if isinstance(item, bool):
            errors["group_ids"] = "A list of group ids."
            return []
        gid = int_or_none(item, "group_ids", errors)
        if "group_ids" in errors:
            return []
        if gid is not None and gid not in ids:
            ids.append(gid)
    if len(ids) > 500:
        errors["group_ids"] = "At most 500 groups."
        return []
    found = {g.id: g for g in db.session.scalars(select(ContactGroup).where(ContactGroup.id.in_(ids)))} if ids else {}
    for gid in ids:
        if gid not in found or not can(actor, "group.view", found[gid]):
            errors["group_ids"] = f"No such group ({gid})."
            return []
    return ids


def group_ids_of(actor, contact_id: int) -> list[int]:
    return group_ids_of_many(actor, [contact_id]).get(contact_id, [])


@functools.cache
def _group_ids_statement(one: bool):
    """The groups of the contacts ``ids`` with their owner teams: built once, run with plain rows on the
    session's connection (every API answer reads it). The teams a user sees are checked on the rows
    (a contact is in a few groups): an expanding ``IN`` of them would be rendered at every run."""
    return (select(GroupMember.contact_id, ContactGroup.id, ContactGroup.owner_team_id)
            .join(ContactGroup, ContactGroup.id == GroupMember.group_id)
            .where(id_lists.matching(GroupMember.contact_id, one)).order_by(ContactGroup.id))


def group_ids_of_many(actor, contact_ids) -> dict[int, list[int]]:
    ids = list(contact_ids)
    if not ids:
        return {}
    teams = visible_team_ids(actor)  # as _visible
    out: dict[int, list[int]] = {}
    for contact_id, gid, team_id in id_lists.execute(db.session.connection(), _group_ids_statement, ids):
        if teams is None or team_id in teams:
            out.setdefault(contact_id, []).append(gid)
    return out


def groups_of(actor, contact_id: int) -> list[ContactGroup]:
    return _groups(actor, None, contact_id)


def set_contact_groups(actor, contact: Contact, wanted_ids: list[int], *, new: bool = False) -> dict:
    """Make the contact's groups ``wanted_ids`` as far as ``actor`` may change them: groups the
    actor may not edit keep their membership as it is. Raises for a wanted group they may not edit.
    ``new``: the contact was created in this transaction, so it is in no group yet (nothing to read)."""
    current = set() if new else set(
        db.session.scalars(select(GroupMember.group_id).where(GroupMember.contact_id == contact.id)))
    wanted = set(wanted_ids)
    touched = current ^ wanted
    if not touched:
        return {}
    groups = {g.id: g for g in db.session.scalars(select(ContactGroup).where(ContactGroup.id.in_(touched)))}
    for gid in sorted(touched):
        group = groups.get(gid)
        if group is None or not can(actor, "group.edit", group):
            if gid in wanted:
                raise ValidationError({"group_ids": f"You may not change the members of group {gid}."})
            wanted.add(gid)  # an invisible or read-only group the form could not show: keep it
    add, remove = wanted - current, current - wanted
    if remove:
        db.session.execute(delete(GroupMember).where(GroupMember.contact_id == contact.id,
                                                     GroupMember.group_id.in_(remove)))
    if add:
        db.session.execute(insert(GroupMember), [{"group_id": g, "contact_id": contact.id, "added_at": utcnow(),
                                                  "added_by_id": getattr(actor, "id", None)} for g in sorted(add)])
    if not add and not remove:
        return {}
    return {"group_ids": (", ".join(map(str, sorted(current))), ", ".join(map(str, sorted(wanted))))}


def group_filter(stmt, value: str, actor=None):
    """The "group" list filter: members of a group the user may see (ANDed with the list's other conditions)."""
    where = group_member(value, actor, joined=True)
    return stmt if where is None else stmt.where(where)


def group_member(value: str, actor=None, *, joined: bool = False):
    """The condition "is in the group ``value``" (a group the user may see); None for no value.
    ``joined``: see ``taxonomy.member_condition`` (only where it is ANDed with the rest)."""
    value = (value or "").strip()
    if not value:
        return None
    if parse_id(value) is None:
        raise ValidationError({"group": "No such group."})
    if actor is None and has_request_context():
        actor = current_user
    if actor is None or not _may_view(actor, int(value)):
        raise ValidationError({"group": "No such group."})
    return member_condition(GroupMember.contact_id, GroupMember.group_id, int(value), probe_by_contact=True,
                            joined=joined)


VIEW_SECONDS = 300


def _may_view(actor, group_id: int) -> bool:
    """The group exists and ``actor`` may view it: remembered per user under the shared stamps, which
    any change to a group, a team, a membership or a user changes (core/services/stamps.py), so a
    filtered list page skips loading the group and its team (the page read those stamps already)."""
    user_id = getattr(actor, "id", None)
    if user_id:  # this process's copy first (stamps.local), then the shared cache's
        return stamps.local("group-view", user_id, group_id, make=lambda: _may_view_cached(actor, user_id, group_id))
    return _may_view_cached(actor, None, group_id)


def _may_view_cached(actor, user_id, group_id: int) -> bool:
    key = f"group-view:{stamps.shared_version()}:{user_id}:{group_id}" if user_id else None
    known = cache.get(key) if key else None
    if isinstance(known, bool):
        return known
    group = db.session.get(ContactGroup, group_id)
    answer = group is not None and can(actor, "group.view", group)
    if key:
        cache.set(key, answer, timeout=VIEW_SECONDS)
    return answer


def filter_options(user, limit: int = 500) -> list[tuple[str, str]]:
    """The visible groups as (id, name), the list filter's choices: two columns, not ORM objects with
    their team joined in (read on every list page)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    stmt = _visible(select(ContactGroup.id, ContactGroup.name), user).order_by(ContactGroup.name_key, ContactGroup.id)
    return [(str(gid), name) for gid, name in db.session.execute(stmt.limit(limit))]


# --- merge ---------------------------------------------------------------------------------------


def _row(group_id: int, contact_id: int, item: list) -> dict:
    """A membership row from an undo record item ``[group id, added_at, added_by]`` (records
    written before core_0014 have no ``added_by``)."""
    return {"group_id": group_id, "contact_id": contact_id, "added_at": datetime.fromisoformat(item[1]),
            "added_by_id": item[2] if len(item) > 2 else None}


def move_rows(source_id: int, target_id: int) -> dict:
    rows = db.session.execute(select(GroupMember.group_id, GroupMember.added_at, GroupMember.added_by_id)
                              .where(GroupMember.contact_id == source_id).order_by(GroupMember.group_id)).all()
    if not rows:
        return {}
    have = set(db.session.scalars(select(GroupMember.group_id).where(GroupMember.contact_id == target_id)))
    moved = [[g, at.isoformat(), by] for g, at, by in rows if g not in have]
    dropped = [[g, at.isoformat(), by] for g, at, by in rows if g in have]
    db.session.execute(delete(GroupMember).where(GroupMember.contact_id == source_id))
    if moved:
        db.session.execute(insert(GroupMember), [_row(item[0], target_id, item) for item in moved])
    return {"moved": moved, "dropped": dropped}


def unmove_rows(source_id: int, target_id: int, record: dict) -> int:
    from ..models import User

    moved = [(int(item[0]), item) for item in record.get("moved") or []]
    everything = moved + [(int(item[0]), item) for item in record.get("dropped") or []]
    if not everything:
        return 0
    if moved:
        db.session.execute(delete(GroupMember).where(GroupMember.contact_id == target_id,
                                                     GroupMember.group_id.in_([g for g, _ in moved])))
    existing = set(db.session.scalars(select(ContactGroup.id).where(ContactGroup.id.in_([g for g, _ in everything]))))
    held = set(db.session.scalars(select(GroupMember.group_id).where(GroupMember.contact_id == source_id)))
    back = [_row(g, source_id, item) for g, item in everything if g in existing and g not in held]
    users = {row["added_by_id"] for row in back if row["added_by_id"]}
    users = set(db.session.scalars(select(User.id).where(User.id.in_(users)))) if users else set()
    for row in back:  # a user removed since cannot be pointed at
        row["added_by_id"] = row["added_by_id"] if row["added_by_id"] in users else None
    if back:
        db.session.execute(insert(GroupMember), back)
    return len(back)
