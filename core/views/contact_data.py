"""Contact-page panels for preferences (with their edit form) and the status history."""

from __future__ import annotations

import json

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required
from ..errors import ValidationError
from ..extensions import htmx
from ..policy import can
from ..services import contacts as contact_service
from ..services import preferences, status_history, vocabulary
from .rendering import fragment, page

bp = Blueprint("contact_data", __name__, template_folder="../templates")
CID = "<int(max=2147483647):contact_id>"


def _actor():
    return current_user._get_current_object()


def _shown_preferences(values: dict) -> list[tuple[str, str]]:
    out = []
    for f in preferences.fields():
        value = values.get(f.key, "")
        if f.options is not None and value:
            value = dict(f.options()).get(value, value)
        out.append((f.label, value))
    return out


@bp.get(f"/contacts/{CID}/preferences")
@login_required
def preferences_panel(contact_id: int):
    contact = contact_service.get_contact(_actor(), contact_id)
    values = preferences.get_preferences(_actor(), contact_id)
    return fragment("core/contacts/preferences.html", "panel", contact=contact, shown=_shown_preferences(values),
                    may_edit=can(_actor(), "contact.edit", contact))


def _form(contact, values, errors=None, status=200):
    return page("core/contacts/preferences.html", "form", status=status, contact=contact, fields=preferences.fields(),
                values=values, errors=errors or {}, modal=bool(htmx) and not htmx.boosted)


@bp.get(f"/contacts/{CID}/preferences/edit")
@login_required
def edit_preferences(contact_id: int):
    contact = contact_service.get_contact(_actor(), contact_id)
    return _form(contact, preferences.get_preferences(_actor(), contact_id))


@bp.post(f"/contacts/{CID}/preferences/edit")
@login_required
def save_preferences(contact_id: int):
    contact = contact_service.get_contact(_actor(), contact_id)
    data = {f.key: request.form.get(f.key, "") for f in preferences.fields() if f.key in request.form}
    try:
        preferences.set_preferences(_actor(), contact_id, data)
    except ValidationError as exc:
        return _form(contact, data, exc.errors, status=422)
    if htmx:
        response = make_response(render_template("core/contacts/_toast.html", message="Preferences saved.", oob=True))
        response.headers["HX-Trigger"] = json.dumps({"contact-changed": True, "closeModal": True})
        return response
    return redirect(url_for("contacts.show", contact_id=contact_id))


@bp.get(f"/contacts/{CID}/status-history")
@login_required
def status_panel(contact_id: int):
    contact = contact_service.get_contact(_actor(), contact_id)
    entries = status_history.history(_actor(), contact_id, limit=50)
    return fragment("core/contacts/status_history.html", "panel", contact=contact, entries=entries,
                    label=lambda key: vocabulary.label("status", key) if key else "—")
