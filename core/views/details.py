"""Contact details in the UI: the repeatable rows of the contact form, the photo (upload,
remove, served with caching headers), and vCard download of one contact or of a list filter
(vCard files are imported on the import pages, core/views/imports.py)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from ..access import login_required
from ..downloads import download
from ..errors import ValidationError
from ..extensions import htmx
from ..models.details import LABELS
from ..services import details as service
from ..services import vcard_export
from ..services.details import ADDRESS_FIELDS, LIST_KEYS
from ..services.fields import format_phone
from . import list_state

bp = Blueprint("details", __name__, template_folder="../templates")
ID = "<int(max=2147483647):contact_id>"
LABEL_CHOICES = [(label, label.capitalize()) for label in LABELS]
HISTORY_LABELS = {"emails": "Other emails", "phones": "Other phones", "urls": "Websites", "addresses": "Addresses",
                  "title": "Job title", "birthday": "Birthday", "notes": "Notes", "photo": "Photo"}


def _user():
    return current_user._get_current_object()


# --- the contact form's detail fields (called from core/views/contacts.py) ----------------------


def form_data(form) -> dict:
    """The detail fields of a posted contact form: repeatable rows arrive as parallel lists."""
    data: dict = {}
    if "details" not in form:  # a form without the detail fields (an older page) changes none
        return data
    for key in LIST_KEYS:
        labels, values = form.getlist(f"{key}-label"), form.getlist(f"{key}-value")
        data[key] = [{"label": lbl, "value": val} for lbl, val in zip(labels, values, strict=False)]
    columns = {name: form.getlist(f"addresses-{name}") for name in ("label", *ADDRESS_FIELDS)}
    data["addresses"] = [
        {name: columns[name][i] if i < len(columns[name]) else "" for name in columns}
        for i in range(len(columns["label"]))
    ]
    for name in ("title", "birthday", "notes"):
        data[name] = form.get(name, "")
    return data


def form_values(contact) -> dict:
    """The detail fields of a saved contact, as the form shows them."""
    found = service.details(contact)
    values = {key: found[key] for key in (*LIST_KEYS, "addresses", "title", "notes")}
    values["phones"] = [{"label": p["label"], "value": format_phone(p["value"])} for p in found["phones"]]
    values["birthday"] = found["birthday"].isoformat() if found["birthday"] else ""
    return values


@bp.app_context_processor
def _details_helpers():
    return {"contact_details": service.details, "detail_labels": LABEL_CHOICES}


# --- the photo ------------------------------------------------------------------------------


@bp.get(f"/contacts/{ID}/photo")
@login_required
def photo(contact_id: int):
    row = service.get_photo(_user(), contact_id)
    if row is None:
        abort(404)
    response = make_response(row.data)
    response.mimetype = row.mime
    response.set_etag(row.digest)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


def _back(contact_id: int, message: str, error: bool = False):
    if htmx:
        response = make_response(render_template("core/contacts/_toast.html", message=message, oob=True))
        response.headers["HX-Trigger"] = '{"contactsChanged": true}'
        return response
    flash(message, "error" if error else "success")
    return redirect(url_for("contacts.show", contact_id=contact_id))


@bp.post(f"/contacts/{ID}/photo")
@login_required
def upload_photo(contact_id: int):
    upload = request.files.get("photo")
    try:
        service.set_photo(_user(), contact_id, upload.read(service.PHOTO_MAX_BYTES + 1) if upload else b"")
    except ValidationError as exc:
        message = " ".join(exc.errors.get("photo", [exc.message]))
        if htmx:
            return make_response(render_template("core/contacts/_toast.html", message=message, oob=True), 422)
        flash(message, "error")
        return redirect(url_for("contacts.show", contact_id=contact_id)), 303
    return _back(contact_id, "The photo was saved.")


@bp.post(f"/contacts/{ID}/photo/delete")
@login_required
def delete_photo(contact_id: int):
    service.remove_photo(_user(), contact_id)
    return _back(contact_id, "The photo was removed.")


# --- vCard export ---------------------------------------------------------------------------


@bp.get(f"/contacts/{ID}/vcard")
@login_required
def contact_vcard(contact_id: int):
    card = vcard_export.contact_vcard(_user(), contact_id, request.args.get("version"))
    return download(card, f"contact-{contact_id}.vcf", "text/vcard")


@bp.get("/contacts/export.vcf")
@login_required
def export_vcards():
    cards = vcard_export.stream_vcards(_user(), request.args.get("version"), **list_state.list_kwargs(_user(), request.args))
    return download(cards, "contacts.vcf", "text/vcard")


