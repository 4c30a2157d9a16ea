"""Pages and fragments for contact lists: index, create/edit, open, members, the contact panel and
the "Add to list" form that the contacts table opens in the modal."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user

from core.access import login_required
from core.errors import NotFound, ValidationError
from core.extensions import htmx
from core.policy import can, writable_teams
from core.services.contacts import list_contacts
from core.views.rendering import fragment, page

from . import services

bp = Blueprint("planning", __name__, url_prefix="/planning", template_folder="templates")

ID = "<int(max=9223372036854775807):list_id>"
CID = "<int(max=9223372036854775807):contact_id>"
PAGE_SIZE = 50


def _go(url: str):
    """Navigate: a redirect for a plain request, ``HX-Redirect`` for an htmx one."""
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def _int_field(raw, field: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({field: "Choose one."}) from None
    if not 0 < value <= services.MAX_ID:
        raise ValidationError({field: "Out of range."})
    return value


# --- lists ----------------------------------------------------------------------------------


@bp.get("/lists")
@login_required
def lists():
    result = services.list_lists(current_user, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE)
    return page(
        "planning/lists.html", "rows", items=result.items, next_cursor=result.next_cursor,
        may_create=bool(writable_teams(current_user)),
    )


def _form(lst=None, values=None, errors=None, status=200):
    return page(
        "planning/form.html", "form", status=status, lst=lst, values=values or {}, errors=errors or {},
        teams=writable_teams(current_user),
    )


@bp.get("/lists/new")
@login_required
def new_list():
    return _form()


@bp.post("/lists")
@login_required
def create_list():
    data = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        lst = services.create_list(current_user, data)
    except ValidationError as exc:
        return _form(values=data, errors=exc.errors, status=422)
    return _go(url_for("planning.show", list_id=lst.id))


@bp.get(f"/lists/{ID}/edit")
@login_required
def edit_list(list_id: int):
    lst = services.get_list(current_user, list_id)
    values = {"name": lst.name, "description": lst.description, "owner_team_id": str(lst.owner_team_id)}
    return _form(lst=lst, values=values)


@bp.post(f"/lists/{ID}/edit")
@login_required
def update_list(list_id: int):
    lst = services.get_list(current_user, list_id)
    data = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        services.update_list(current_user, list_id, data)
    except ValidationError as exc:
        return _form(lst=lst, values=data, errors=exc.errors, status=422)
    return _go(url_for("planning.show", list_id=list_id))


@bp.post(f"/lists/{ID}/delete")
@bp.delete(f"/lists/{ID}", endpoint="delete_list_by_method")
@login_required
def delete_list(list_id: int):
    services.delete_list(current_user, list_id)
    return _go(url_for("planning.lists"))


@bp.get(f"/lists/{ID}")
@login_required
def show(list_id: int):
    result = services.members(current_user, list_id, cursor=request.args.get("cursor") or None, limit=PAGE_SIZE)
    lst = result.extra["list"]
    return page(
        "planning/show.html", "members", lst=lst, items=result.items, next_cursor=result.next_cursor,
        may_edit=can(current_user, "list.edit", lst),
    )


@bp.get(f"/lists/{ID}/search")
@login_required
def search(list_id: int):
    lst = services.get_list(current_user, list_id)
    q = request.args.get("q", "")[:200]
    found = list_contacts(current_user, q=q, limit=20).items if q.strip() else []
    present = services.member_ids(lst.id, [c.id for c in found])
    return fragment("planning/show.html", "results", lst=lst, found=found, present=present, q=q,
                    may_edit=can(current_user, "list.edit", lst))


@bp.post(f"/lists/{ID}/members")
@login_required
def add_member(list_id: int):
    contact_id = _int_field(request.form.get("contact_id"), "contact_id")
    services.add_member(current_user, list_id, contact_id)
    if not htmx:
        return redirect(url_for("planning.show", list_id=list_id))
    lst = services.get_list(current_user, list_id)
    contact = services.get_contact(current_user, contact_id)
    member = services.members(current_user, list_id, limit=1).items
    return fragment("planning/show.html", "added", lst=lst, contact=contact, member=member[0] if member else None,
                    may_edit=True)


@bp.post(f"/lists/{ID}/members/{CID}/delete")
@bp.delete(f"/lists/{ID}/members/{CID}", endpoint="remove_member_by_method")
@login_required
def remove_member(list_id: int, contact_id: int):
    services.remove_member(current_user, list_id, contact_id)
    if not htmx:
        return redirect(url_for("planning.show", list_id=list_id))
    return make_response("", 200)


# --- from a contact: the modal form and the contact-page panel ---------------------------------


def _add_form(contact, values=None, errors=None, status=200, added=None):
    options = services.list_options(current_user, writable=True)
    present = {lst.id for lst in services.lists_of_contact(current_user, contact.id)}
    return page(
        "planning/add_to_list.html", "form", status=status, contact=contact, options=options, present=present,
        values=values or {}, errors=errors or {}, added=added,
    )


@bp.get(f"/contacts/{CID}/add")
@login_required
def add_form(contact_id: int):
    contact = services.get_contact(current_user, contact_id)
    return _add_form(contact)


@bp.post(f"/contacts/{CID}/add")
@login_required
def add_from_contact(contact_id: int):
    contact = services.get_contact(current_user, contact_id)
    raw = request.form.get("list_id")
    try:
        list_id = _int_field(raw, "list_id")
        try:
            services.add_member(current_user, list_id, contact.id)
        except NotFound:
            raise ValidationError({"list_id": "No such list."}) from None
    except ValidationError as exc:
        return _add_form(contact, values={"list_id": raw}, errors=exc.errors, status=422)
    lst = services.get_list(current_user, list_id)
    if not htmx:
        return redirect(url_for("planning.show", list_id=list_id))
    return _add_form(contact, added=lst)


@bp.get(f"/contacts/{CID}/lists")
@login_required
def contact_panel(contact_id: int):
    contact = services.get_contact(current_user, contact_id)
    in_lists = services.lists_of_contact(current_user, contact.id)
    may_edit_contact = can(current_user, "contact.edit", contact)
    editable = {lst.id for lst in in_lists if may_edit_contact and can(current_user, "list.edit", lst)}
    # A list the contact is on and the user may change already proves there is one to add to.
    may_add = may_edit_contact and (bool(editable) or services.has_writable_list(current_user))
    return fragment("planning/panel.html", "panel", contact=contact, lists=in_lists, editable=editable,
                    may_add=may_add)
