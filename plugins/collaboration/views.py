"""Notes on the contact page: a lazily loaded panel with a form, edit in place, delete."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user

from core.access import login_required
from core.errors import Conflict, ValidationError
from core.policy import can, require
from core.services.contacts import get_contact
from core.views.rendering import fragment

from . import services

bp = Blueprint("collaboration", __name__, url_prefix="/collaboration", template_folder="templates")
MAX_ID = 2147483647  # INTEGER ids: larger ones are a 500 on PostgreSQL
PANEL = "collaboration/panel.html"


def _panel(contact_id: int, status: int = 200, body: str = "", errors: dict | None = None, block: str = "panel"):
    contact = get_contact(current_user, contact_id)
    result = services.list_notes(current_user, contact_id, cursor=request.args.get("cursor") or None)
    return fragment(
        PANEL, block, status=status, contact=contact, notes=result.items, next_cursor=result.next_cursor,
        can_write=services.can_write(current_user, contact), can=can, body=body, errors=errors or {},
    )


def _note(template: str, note, status: int = 200, **context):
    response = make_response(render_template(template, note=note, can=can, **context), status)
    response.vary.add("HX-Request")
    return response


def _changed(response):
    """Tell other panels on the contact page (e.g. the activity feed) to refresh themselves."""
    response.headers["HX-Trigger"] = "contact-changed"
    return response


@bp.get(f"/contacts/<int(max={MAX_ID}):contact_id>/notes")
@login_required
def panel(contact_id: int):
    try:
        return _panel(contact_id, block="items" if request.args.get("cursor") else "panel")
    except ValidationError as exc:  # a broken cursor
        return fragment(PANEL, "error", status=422, errors=exc.errors)


@bp.post(f"/contacts/<int(max={MAX_ID}):contact_id>/notes")
@login_required
def add(contact_id: int):
    body = request.form.get("body", "")
    try:
        services.add_note(current_user, contact_id, body)
    except ValidationError as exc:
        return _panel(contact_id, status=422, body=body, errors=exc.errors)
    return _changed(_panel(contact_id))


@bp.get(f"/notes/<int(max={MAX_ID}):note_id>")
@login_required
def show(note_id: int):
    return _note("collaboration/_note.html", services.get_note(current_user, note_id))


@bp.get(f"/notes/<int(max={MAX_ID}):note_id>/edit")
@login_required
def edit(note_id: int):
    note = services.get_note(current_user, note_id)
    require(current_user, "note.edit", note)
    return _note("collaboration/_edit.html", note, body=note.body, version=note.version, errors={})


@bp.post(f"/notes/<int(max={MAX_ID}):note_id>")
@login_required
def update(note_id: int):
    body = request.form.get("body", "")
    try:
        note = services.update_note(current_user, note_id, body, request.form.get("version"))
    except ValidationError as exc:
        note = services.get_note(current_user, note_id)
        return _note("collaboration/_edit.html", note, 422, body=body, version=request.form.get("version", ""),
                     errors=exc.errors)
    except Conflict as exc:
        note = services.get_note(current_user, note_id)
        # Keep the user's text; show theirs; the new version lets a second save overwrite knowingly.
        return _note("collaboration/_edit.html", note, 409, body=body, version=note.version, errors={},
                     conflict=exc.message)
    return _changed(_note("collaboration/_note.html", note))


@bp.post(f"/notes/<int(max={MAX_ID}):note_id>/delete")
@login_required
def delete(note_id: int):
    services.delete_note(current_user, note_id)
    return _changed(make_response("", 200))  # htmx swaps the note's <li> for nothing
