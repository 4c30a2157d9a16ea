"""HTMX fragments: the contact page's timeline panel with its "Log" form, and a global page."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, request, url_for
from flask_login import current_user
from markupsafe import escape

from core.access import login_required
from core.errors import ValidationError
from core.extensions import htmx
from core.views.rendering import fragment, url_parts

from . import services
from .models import DIRECTIONS, STATUSES

bp = Blueprint("communications", __name__, url_prefix="/communications", template_folder="templates")

PANEL = "communications/panel.html"
PAGE_SIZE = 20


def entry_urls() -> tuple[str, str]:
    """A timeline entry's delete URL around its id, built once a request (not a url_for per entry)."""
    return url_parts("communications.delete", "comm_id")


def _panel_context(contact_id: int, cursor: str | None = None, filters: dict | None = None, **extra) -> dict:
    filters = filters or {}
    result = services.timeline(current_user, contact_id, cursor=cursor, limit=PAGE_SIZE, filters=filters)
    contact = result.extra["contact"]
    context = {
        "filters": filters,
        "filter_types": services.TYPES,
        "filter_statuses": STATUSES,
        "contact": contact,
        "items": result.items,
        "next_cursor": result.next_cursor,
        "may_log": services.may_log(current_user, contact),
        "delete_url": entry_urls(),
        "types": services.LOG_TYPES,
        "directions": DIRECTIONS,
        "values": {},
        "errors": {},
    }
    context.update(extra)
    return context


@bp.get("/contacts/<int(max=9223372036854775807):contact_id>/timeline")
@login_required
def timeline(contact_id: int):
    cursor = request.args.get("cursor") or None
    try:
        filters = services.clean_filters(request.args, allowed=("type", "status"))
        context = _panel_context(contact_id, cursor, filters)
    except ValidationError as exc:
        return _errors(exc)
    return fragment(PANEL, "entries" if cursor else "panel", **context)


@bp.post("/contacts/<int(max=9223372036854775807):contact_id>/timeline")
@login_required
def log(contact_id: int):
    data = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        services.log_communication(current_user, contact_id, data)
    except ValidationError as exc:
        context = _panel_context(contact_id, values=data, errors=exc.errors)
        response = fragment(PANEL, "form", status=422, **context)
        response.headers["HX-Retarget"] = "#communications-log"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    if not htmx:
        return _back_to_contact(contact_id)
    return fragment(PANEL, "panel", **_panel_context(contact_id))


@bp.post("/<int(max=9223372036854775807):comm_id>/delete")
@bp.delete("/<int(max=9223372036854775807):comm_id>", endpoint="delete_by_method")
@login_required
def delete(comm_id: int):
    comm = services.delete_communication(current_user, comm_id)
    if not htmx:
        return _back_to_contact(comm.contact_id)
    return make_response("", 200)


@bp.get("/")
@login_required
def index():
    from .views_prefs import communications_page  # the filtered global list lives with the other pages

    return communications_page()


def _errors(exc: ValidationError):
    """A 422 fragment that names each bad field."""
    items = "".join(f"<li>{escape(field)}: {escape(' '.join(msgs))}</li>" for field, msgs in exc.errors.items())
    return make_response(f'<ul class="error" role="alert">{items}</ul>', 422)


def _back_to_contact(contact_id: int):
    if "contacts.show" in current_app.view_functions:
        return redirect(url_for("contacts.show", contact_id=contact_id))
    return redirect(url_for("communications.index"))


@bp.get("/widget")
@login_required
def widget():
    """The dashboard widget: this month and the last 12 months by channel and direction (rollup.py)."""
    from . import rollup

    return fragment("communications/widget.html", "widget", summary=rollup.summary(current_user))
