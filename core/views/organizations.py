"""Organizations pages: list with active search and keyset "load more"; create and edit in the
modal (or as plain pages without JavaScript); delete with an undo toast; the organization page
with its contacts; an ``<option>`` endpoint for pickers."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from ..access import login_required
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import htmx
from ..policy import can, require, writable_teams
from ..services import accounts, vocabulary
from ..services import contacts as contact_service
from ..services import organizations as service
from ..services.fields import format_phone
from .rendering import fragment, page

bp = Blueprint("organizations", __name__, url_prefix="/organizations", template_folder="../templates")

PAGE_SIZE = 50
CONTACTS_PAGE_SIZE = 25
COUNT_CAP = 1000
CHANGED_EVENT = "organizationsChanged"
FORM_FIELDS = ("name", "website", "phone", "notes", "owner_team_id", "parent_id")
LIST = "core/organizations/index.html"
FORM = "core/organizations/form.html"
SHOW = "core/organizations/show.html"
TOAST = "core/organizations/_toast.html"


@bp.context_processor
def _helpers():
    return {"format_phone": format_phone, "can": can, "term_label": vocabulary.label}


def _actor():
    return current_user._get_current_object()


def _is_fragment_request() -> bool:
    """An htmx request that wants a piece of the page (not a boosted or history-restore load)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _trigger(response, **events):
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def _form_data() -> dict:
    return {name: request.form.get(name, "") for name in FORM_FIELDS}


def _version() -> int | None:
    raw = request.form.get("version", "")
    if raw == "":
        return None
    try:
        number = int(raw)
    except ValueError:
        raise ValidationError({"version": "Must be a number; reload the page and try again."}) from None
    if not 0 < number < 2**31:
        raise ValidationError({"version": "Out of range; reload the page and try again."})
    return number


# --- list ------------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    q = request.args.get("q", "").strip()[:200]
    cursor = request.args.get("cursor") or None
    result = service.list_organizations(_actor(), q=q, cursor=cursor, limit=PAGE_SIZE)
    undo = None
    deleted_id = request.args.get("deleted", type=int)
    if deleted_id and not cursor:
        try:
            undo = service.get_organization(_actor(), deleted_id, deleted=True)
        except NotFound:
            undo = None
    context = {
        "organizations": result.items,
        "next_cursor": result.next_cursor,
        "q": q,
        "cursor": cursor,
        "undo": undo,
        "may_create": can(_actor(), "organization.create") and bool(writable_teams(_actor())),
    }
    if _is_fragment_request():
        return fragment(LIST, "rows", **context)
    return page(LIST, None, **context)


@bp.get("/options")
@login_required
def options():
    """``<option>`` elements for a ``<select>`` or ``<datalist>``.

    ``q`` is a name prefix; ``value=name`` puts the name (not the id) in each option's value,
    for a datalist; ``blank=1`` starts with an empty "no organization" option; ``selected`` is
    the id to mark selected.
    """
    q = request.args.get("q", "").strip()[:200]
    limit = request.args.get("limit", 20, type=int)
    limit = min(max(limit, 1), 100)
    result = service.list_organizations(_actor(), q=q, limit=limit)
    response = fragment(
        "core/organizations/options.html",
        "options",
        organizations=result.items,
        by_name=request.args.get("value") == "name",
        blank=request.args.get("blank") == "1",
        selected=request.args.get("selected", type=int),
    )
    return response


# --- create and edit -------------------------------------------------------------------------


def _render_form(org=None, values=None, errors=None, conflict=None, status=200):
    actor = _actor()
    modal = _is_fragment_request()
    if values is None:
        values = {name: getattr(org, name) for name in FORM_FIELDS} if org is not None else {}
        if org is not None:
            values["phone"] = format_phone(org.phone)
    teams = writable_teams(actor)
    if org is not None and org.owner_team_id not in [t.id for t in teams]:
        teams = [org.owner_team, *teams]
    context = {
        "org": org,
        "values": values,
        "errors": errors or {},
        "conflict": conflict,
        "team_choices": [(t.id, t.name) for t in teams],
        "modal": modal,
        "version": org.version if org is not None else None,
    }
    if conflict is not None:
        context["version"] = conflict.current.version
        context["conflict_rows"] = _conflict_rows(conflict.changes)
    if modal:
        return fragment(FORM, "form", status=status, **context)
    return page(FORM, None, status=status, **context)


LABELS = {"name": "Name", "website": "Website", "phone": "Phone", "notes": "Notes", "owner_team_id": "Owner team",
          "parent_id": "Parent organization"}


def _conflict_rows(changes: dict) -> list[dict]:
    """``(label, yours, theirs)`` for each field that differs, shown as the user would enter it."""
    teams = {t.id: t.name for t in accounts.list_teams()}

    def shown(name, value):
        if value in (None, ""):
            return "—"
        if name == "owner_team_id":
            return teams.get(value, value)
        if name == "phone":
            return format_phone(value)
        return value

    return [
        {"label": LABELS.get(name, name), "yours": shown(name, yours), "theirs": shown(name, theirs)}
        for name, (yours, theirs) in changes.items()
    ]


def _saved(org, message: str):
    if _is_fragment_request():
        response = fragment(TOAST, "oob", message=message, undo_url=None)
        return _trigger(response, closeModal=True, **{CHANGED_EVENT: {"id": org.id}})
    flash(message, "success")
    return redirect(url_for(".show", org_id=org.id))


@bp.get("/new")
@login_required
def new():
    require(_actor(), "organization.create")
    return _render_form()


@bp.post("/")
@login_required
def create():
    values = _form_data()
    try:
        org = service.create_organization(_actor(), values)
    except ValidationError as exc:
        return _render_form(values=values, errors=exc.errors, status=422)
    return _saved(org, f"Organization “{org.name}” was created.")


@bp.get("/<int(max=2147483647):org_id>/edit")
@login_required
def edit(org_id: int):
    org = service.get_organization(_actor(), org_id)
    require(_actor(), "organization.edit", org)
    return _render_form(org)


@bp.post("/<int(max=2147483647):org_id>/edit")
@login_required
def update(org_id: int):
    values = _form_data()
    try:
        org = service.update_organization(_actor(), org_id, values, _version())
    except ValidationError as exc:
        org = service.get_organization(_actor(), org_id)
        return _render_form(org, values=values, errors=exc.errors, status=422)
    except Conflict as exc:
        org = service.get_organization(_actor(), org_id)
        return _render_form(org, values=values, conflict=exc, status=409)
    return _saved(org, f"Organization “{org.name}” was saved.")


# --- delete and restore ----------------------------------------------------------------------


@bp.post("/<int(max=2147483647):org_id>/delete")
@login_required
def delete(org_id: int):
    org = service.delete_organization(_actor(), org_id)
    message = f"Organization “{org.name}” was moved to the trash."
    undo_url = url_for(".restore", org_id=org.id)
    if _is_fragment_request():
        if request.form.get("from") == "page":
            response = fragment(TOAST, "toast", message=message, undo_url=undo_url)
            response.headers["HX-Redirect"] = url_for(".index", deleted=org.id)
            return response
        # The row that asked is removed (empty body, outerHTML); the toast arrives out of band.
        response = fragment(TOAST, "oob", message=message, undo_url=undo_url)
        return response
    return redirect(url_for(".index", deleted=org.id))


@bp.post("/<int(max=2147483647):org_id>/restore")
@login_required
def restore(org_id: int):
    org = service.restore_organization(_actor(), org_id)
    message = f"Organization “{org.name}” was restored."
    if _is_fragment_request():
        response = fragment(TOAST, "toast", message=message, undo_url=None)
        return _trigger(response, **{CHANGED_EVENT: {"id": org.id}})
    flash(message, "success")
    return redirect(url_for(".show", org_id=org.id))


# --- the organization page -------------------------------------------------------------------


def _count_label(count: int) -> str:
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


def _show(org_id: int):
    org = service.get_organization(_actor(), org_id)
    contacts = contact_service.list_contacts(
        _actor(), organization_id=org.id, cursor=request.args.get("cursor") or None, limit=CONTACTS_PAGE_SIZE
    )
    context = {
        "org": org,
        "contacts": contacts.items,
        "next_cursor": contacts.next_cursor,
        "contact_count": _count_label(service.contact_count(org.id, limit=COUNT_CAP)),
        "may_edit": can(_actor(), "organization.edit", org),
        "may_delete": can(_actor(), "organization.delete", org),
    }
    return context


@bp.get("/<int(max=2147483647):org_id>")
@login_required
def show(org_id: int):
    context = _show(org_id)
    if _is_fragment_request():
        return fragment(SHOW, "details", **context)
    return page(SHOW, None, **context)


@bp.get("/<int(max=2147483647):org_id>/contacts")
@login_required
def contacts(org_id: int):
    """The next page of the organization's contacts: rows for "load more" (the page without JS)."""
    context = _show(org_id)
    if _is_fragment_request():
        return fragment(SHOW, "contact_rows", **context)
    return page(SHOW, None, **context)
