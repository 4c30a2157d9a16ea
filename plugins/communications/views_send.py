"""HTMX fragments for sending: the contact page's "Email" panel (write, send now or schedule)
and the actions on a send in the timeline (cancel, send now, reschedule), plus the entry
fragment the timeline polls while a send is on its way."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup

from core.access import login_required
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.extensions import db, htmx
from core.models import MAX_ID, Contact, parse_id
from core.views.rendering import fragment

from . import channels, delivery, services, templating
from .models import Communication
from .views import entry_urls

bp = Blueprint("communications_send", __name__, url_prefix="/communications", template_folder="templates")

SEND = "communications/send.html"
ENTRY = "communications/_entry.html"
CONTACT_ID = f"<int(max={MAX_ID}):contact_id>"
COMM_ID = f"<int(max={MAX_ID}):comm_id>"
FORM_ONLY = ("csrf_token", "action", "template_id")  # form controls that are not fields of the send


def _email_templates() -> list:
    """The email templates the user may pick from (none if they may not list templates)."""
    try:
        return templating.list_templates(current_user, channel="email")
    except PermissionDenied:
        return []


@lru_cache(maxsize=1)
def _zone_options() -> Markup:
    """The time zones as <datalist> options, rendered once per process (the list comes from a scan
    of the zone database; escaping ~600 options on every request was most of the panel's time)."""
    return Markup("").join(Markup('<option value="{}">').format(z) for z in delivery.timezones())


@bp.get("/timezones")
@login_required
def timezones():
    """The suggestions of the "Time zone" fields (compose, reschedule), fetched when one is first
    focused: ~20 KB the contact page no longer carries. The zone database changes with upgrades
    only, so the browser keeps them a day."""
    response = make_response(_zone_options())
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def _compose_context(contact_id: int, **extra) -> dict:
    contact = services.get_contact(current_user, contact_id)
    email = channels.registry()["email"]
    context = {
        "contact": contact,
        "may_send": delivery.may_send(current_user, contact),
        "delivery_note": email.describe(),
        "outbox": type(email.adapter).__name__ == "FileOutboxAdapter",
        "values": {"timezone": "UTC"},
        "errors": {},
        "result": None,
        "templates": _email_templates(),
        "picked": None,
        "rendered": None,
        "selected": "",
    }
    context.update(extra)
    return context


@bp.get(f"/contacts/{CONTACT_ID}/compose")
@login_required
def compose(contact_id: int):
    return fragment(SEND, "compose", **_compose_context(contact_id))


@bp.post(f"/contacts/{CONTACT_ID}/compose")
@login_required
def send(contact_id: int):
    data = {k: v for k, v in request.form.items() if k not in FORM_ONLY}
    if request.form.get("action") == "now":
        data["when"] = ""
    if request.form.get("action") == "draft":
        data["draft"] = "1"
    try:
        comm = delivery.schedule(current_user, contact_id, data)
    except ValidationError as exc:
        response = fragment(SEND, "compose", status=422,
                            **_compose_context(contact_id, values=data, errors=exc.errors,
                                               selected=request.form.get("template_id", "")))
        return response
    if not htmx:
        return redirect(url_for("contacts.show", contact_id=contact_id))
    comm = db.session.get(Communication, comm.id, populate_existing=True)
    return fragment(SEND, "compose", **_compose_context(contact_id, result=comm, refresh_timeline=True))


@bp.get(f"/contacts/{CONTACT_ID}/compose/template")
@login_required
def use_template(contact_id: int):
    """The subject and message fields filled from a template merged for this contact; unknown
    merge fields and fields that are empty for this contact are flagged before anything is sent."""
    contact = services.get_contact(current_user, contact_id)
    raw = (request.args.get("template_id") or "").strip()
    values = {"subject": "", "content": ""}
    if not raw:  # "no template": empty fields to write by hand
        return fragment(SEND, "fields", contact=contact, values=values, errors={}, rendered=None, picked=None)
    if parse_id(raw) is None:
        return fragment(SEND, "fields", status=422, contact=contact, values=values, rendered=None, picked=None,
                        errors={"template_id": ["Choose a template from the list."]})
    try:
        tpl = templating.get_template(current_user, int(raw))
    except NotFound:
        return fragment(SEND, "fields", status=404, contact=contact, values=values, rendered=None, picked=None,
                        errors={"template_id": ["No such template."]})
    rendered = templating.render_for(current_user, tpl, contact.id)
    if rendered.ok:
        values = {"subject": rendered.subject, "content": rendered.body}
    return fragment(SEND, "fields", contact=contact, values=values, errors={}, rendered=rendered, picked=tpl)


def _entry(comm: Communication, status: int = 200, error: str = ""):
    contact = db.session.get(Contact, comm.contact_id)
    response = fragment(ENTRY, "entry", status=status, c=comm, may_log=services.may_log(current_user, contact),
                        delete_url=entry_urls(),
                        may_send=delivery.may_send(current_user, contact), entry_error=error)
    return response


def _reload(comm_id: int) -> Communication:
    db.session.expire_all()
    return services.get_communication(current_user, comm_id)


@bp.get(f"/{COMM_ID}/entry")
@login_required
def entry(comm_id: int):
    return _entry(services.get_communication(current_user, comm_id))


def _act(comm_id: int, action):
    try:
        action()
    except (Conflict, ValidationError) as exc:
        message = exc.message if isinstance(exc, Conflict) else "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items()
        )
        return _entry(_reload(comm_id), status=exc.status, error=message)
    if not htmx:
        comm = _reload(comm_id)
        return redirect(url_for("contacts.show", contact_id=comm.contact_id))
    return _entry(_reload(comm_id))


@bp.post(f"/{COMM_ID}/cancel")
@login_required
def cancel(comm_id: int):
    return _act(comm_id, lambda: delivery.cancel(current_user, comm_id))


@bp.post(f"/{COMM_ID}/send-now")
@login_required
def send_now(comm_id: int):
    return _act(comm_id, lambda: delivery.send_now(current_user, comm_id))


@bp.post(f"/{COMM_ID}/reschedule")
@login_required
def reschedule(comm_id: int):
    data = {k: v for k, v in request.form.items() if k != "csrf_token"}
    return _act(comm_id, lambda: delivery.reschedule(current_user, comm_id, data))

