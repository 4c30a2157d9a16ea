"""The activity feed: a global page, a contact-page panel and a dashboard widget."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from core.access import login_required
from core.errors import ValidationError
from core.services.contacts import get_contact
from core.views.rendering import fragment, page

from . import services

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring", template_folder="templates")
MAX_ID = 2147483647  # INTEGER ids: larger ones are a 500 on PostgreSQL


def _errors_text(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items())


@bp.get("/activity")
@login_required
def activity():
    context = {
        "entity_types": services.ENTITY_TYPES,
        "actors": services.actor_options(current_user),
        "filters": {"entity_type": request.args.get("entity_type", ""), "actor": request.args.get("actor", "")},
        "entries": [],
        "names": {},
        "next_cursor": None,
        "error": "",
    }
    try:
        filters = services.parse_filters(request.args)
        result = services.list_activity(current_user, **filters)
    except ValidationError as exc:
        return page("monitoring/activity.html", "rows", status=422, **{**context, "error": _errors_text(exc)})
    context.update(entries=result.items, names=services.contact_names(current_user, result.items),
                   next_cursor=result.next_cursor)
    return page("monitoring/activity.html", "rows", **context)


@bp.get(f"/contacts/<int(max={MAX_ID}):contact_id>/activity")
@login_required
def contact_activity(contact_id: int):
    contact = get_contact(current_user, contact_id)
    try:
        result = services.contact_activity(current_user, contact, cursor=request.args.get("cursor") or None)
    except ValidationError as exc:
        return fragment("monitoring/panel.html", "error", status=422, error=_errors_text(exc))
    block = "items" if request.args.get("cursor") else "panel"
    return fragment("monitoring/panel.html", block, contact=contact, entries=result.items,
                    next_cursor=result.next_cursor)


@bp.get("/widget")
@login_required
def widget():
    result = services.list_activity(current_user, limit=10)
    return fragment("monitoring/widget.html", "widget", entries=result.items,
                    names=services.contact_names(current_user, result.items))
