"""The birthday panel on the contact page (an HTML fragment) and its form."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from core.access import login_required
from core.errors import ValidationError
from core.policy import can
from core.services.contacts import get_contact
from core.views.rendering import fragment

from . import services

bp = Blueprint("birthdays", __name__, url_prefix="/birthdays", template_folder="templates")
MAX_ID = 9223372036854775807


def _panel(contact_id: int, status: int = 200, errors: dict | None = None, form: dict | None = None):
    contact = get_contact(current_user, contact_id)
    return fragment(
        "birthdays/panel.html", "panel", status=status, contact=contact,
        birthday=services.get_birthday(current_user, contact_id),
        can_edit=can(current_user, "contact.edit", contact), errors=errors or {}, form=form or {},
    )


@bp.get(f"/contacts/<int(max={MAX_ID}):contact_id>")
@login_required
def panel(contact_id: int):
    return _panel(contact_id)


@bp.post(f"/contacts/<int(max={MAX_ID}):contact_id>")
@login_required
def update(contact_id: int):
    form = {"day": request.form.get("day", ""), "note": request.form.get("note", "")}
    try:
        services.set_birthday(current_user, contact_id, form["day"], form["note"])
    except ValidationError as exc:
        return _panel(contact_id, status=422, errors=exc.errors, form=form)
    return _panel(contact_id)
