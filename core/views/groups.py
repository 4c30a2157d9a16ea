"""Contact groups: index, create/edit/delete, the group page with its members (keyset pages,
add by search, remove), and the contact page's Groups panel (add to / remove from a group)."""

from __future__ import annotations

import json

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user

from ..access import login_required
from ..errors import NotFound, ValidationError
from ..extensions import htmx
from ..models import MAX_ID, parse_id
from ..policy import can, writable_teams
from ..services import groups as service
from ..services.contacts import get_contact, list_contacts
from .rendering import fragment, page

bp = Blueprint("groups", __name__, template_folder="../templates")

ID = f"<int(max={MAX_ID}):group_id>"
CID = f"<int(max={MAX_ID}):contact_id>"
PAGE_SIZE = 50


def _go(url: str):
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def _contact_id(raw, field: str = "contact_id") -> int:
    number = parse_id(raw)
    if number is None:
        raise ValidationError({field: "Choose one."})
    return number


def _data() -> dict:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@bp.get("/groups")
@login_required
def index():
    result = service.list_groups(current_user, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE)
    return page("core/groups/index.html", "rows", items=result.items, next_cursor=result.next_cursor,
                may_create=bool(writable_teams(current_user)))


def _form(group=None, values=None, errors=None, status=200):
    return page("core/groups/form.html", "form", status=status, group=group, values=values or {},
                errors=errors or {}, teams=writable_teams(current_user))


@bp.get("/groups/new")
@login_required
def new():
    return _form()


@bp.post("/groups")
@login_required
def create():
    data = _data()
    try:
        group = service.create_group(current_user, data)
    except ValidationError as exc:
        return _form(values=data, errors=exc.errors, status=422)
    return _go(url_for("groups.show", group_id=group.id))


@bp.get(f"/groups/{ID}/edit")
@login_required
def edit(group_id: int):
    group = service.get_group(current_user, group_id)
    values = {"name": group.name, "description": group.description, "owner_team_id": str(group.owner_team_id)}
    return _form(group=group, values=values)


@bp.post(f"/groups/{ID}/edit")
@login_required
def update(group_id: int):
    group = service.get_group(current_user, group_id)
    data = _data()
    try:
        service.update_group(current_user, group_id, data)
    except ValidationError as exc:
        return _form(group=group, values=data, errors=exc.errors, status=422)
    return _go(url_for("groups.show", group_id=group_id))


@bp.post(f"/groups/{ID}/delete")
@bp.delete(f"/groups/{ID}", endpoint="delete_by_method")  # what the old /planning/lists/<id> took
@login_required
def delete(group_id: int):
    service.delete_group(current_user, group_id)
    return _go(url_for("groups.index"))


@bp.get(f"/groups/{ID}")
@login_required
def show(group_id: int):
    result = service.members(current_user, group_id, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE)
    group = result.extra["group"]
    return page("core/groups/show.html", "members", group=group, items=result.items, next_cursor=result.next_cursor,
                may_edit=can(current_user, "group.edit", group))


@bp.get(f"/groups/{ID}/search")
@login_required
def search(group_id: int):
    group = service.get_group(current_user, group_id)
    q = request.args.get("q", "")[:200]
    found = list_contacts(current_user, q=q, limit=20).items if q.strip() else []
    present = {cid for cid, gids in service.group_ids_of_many(current_user, [c.id for c in found]).items()
               if group.id in gids}
    return fragment("core/groups/show.html", "results", group=group, found=found, present=present, q=q,
                    may_edit=can(current_user, "group.edit", group))


@bp.post(f"/groups/{ID}/members")
@login_required
def add_member(group_id: int):
    contact_id = _contact_id(request.form.get("contact_id"))
    service.add_member(current_user, group_id, contact_id)
    if not htmx:
        return redirect(url_for("groups.show", group_id=group_id))
    group = service.get_group(current_user, group_id)
    contact = get_contact(current_user, contact_id)
    member = service.members(current_user, group_id, limit=1).items
    return fragment("core/groups/show.html", "added", group=group, contact=contact,
                    member=member[0] if member else None, may_edit=True)


@bp.post(f"/groups/{ID}/members/{CID}/delete")
@bp.delete(f"/groups/{ID}/members/{CID}", endpoint="remove_member_by_method")
@login_required
def remove_member(group_id: int, contact_id: int):
    service.remove_member(current_user, group_id, contact_id)
    if request.form.get("from") == "contact":
        return contact_groups(contact_id)
    if not htmx:
        return redirect(url_for("groups.show", group_id=group_id))
    if not service.members(current_user, group_id, limit=1).items:  # the last one: say the group is empty
        response = make_response(fragment("core/groups/show.html", "emptied"))
    else:
        response = make_response("", 200)
    response.headers["HX-Trigger"] = json.dumps({"groupMembersChanged": True})  # the search results re-read
    return response


# --- the contact page's panel ----------------------------------------------------------------------


@bp.get(f"/contacts/{CID}/groups")
@login_required
def contact_groups(contact_id: int, errors=None, status=200):
    contact = get_contact(current_user, contact_id)
    groups = service.groups_of(current_user, contact.id)
    may_edit_contact = can(current_user, "contact.edit", contact)
    editable = {g.id for g in groups if may_edit_contact and can(current_user, "group.edit", g)}
    present = {g.id for g in groups}
    usable = service.usable_groups(current_user) if may_edit_contact else []
    options = [g for g in usable if g.id not in present]
    # no group to choose from at all: point to creating one (writable_teams only asked in that case)
    may_create = may_edit_contact and not usable and bool(writable_teams(current_user))
    return fragment("core/groups/panel.html", "panel", status=status, contact=contact, groups=groups,
                    editable=editable, options=options, may_create=may_create, errors=errors or {})


@bp.post(f"/contacts/{CID}/groups")
@login_required
def add_from_contact(contact_id: int):
    try:
        group_id = _contact_id(request.form.get("group_id"), "group_id")
        try:
            service.add_member(current_user, group_id, contact_id)
        except NotFound:
            get_contact(current_user, contact_id)  # a missing contact stays a 404
            raise ValidationError({"group_id": "No such group."}) from None
    except ValidationError as exc:
        return contact_groups(contact_id, errors=exc.errors, status=422)
    if not htmx:
        return redirect(url_for("contacts.show", contact_id=contact_id))
    return contact_groups(contact_id)
