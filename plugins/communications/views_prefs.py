"""HTMX pages: the consent panel on the contact page (preferred channel and quiet hours are in the
core's Preferences panel, see preference_fields.py), message templates with a
preview against a real contact, and the global, filtered communications list."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core.access import login_required
from core.errors import Conflict, ValidationError
from core.extensions import db, htmx
from core.models import Team, User, parse_id, team_members
from core.policy import can, visible_team_ids, writable_teams
from core.services import vocabulary
from core.services.contacts import list_contacts
from core.views.rendering import fragment, page

from . import preferences, services, templating
from .models import STATUSES, TYPES
from .models_prefs import CONSENT_STATES

bp = Blueprint("communications_prefs", __name__, url_prefix="/communications", template_folder="templates")

ID = "int(max=9223372036854775807)"
PANEL = "communications/consent_panel.html"
HISTORY_SIZE = 10
LIST_SIZE = 50


def _form() -> dict:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _template_form() -> dict:
    """The template form's fields; the preview's contact choice is not part of the template."""
    return {k: v for k, v in _form().items() if k != "preview_contact_id"}


# --- consent panel -----------------------------------------------------------------------------------


def _panel_context(contact_id: int, **extra) -> dict:
    contact = preferences.get_contact(current_user, contact_id)
    history = preferences.consent_history(current_user, contact_id, limit=HISTORY_SIZE)
    context = {
        "contact": contact,
        "consents": preferences.consents(current_user, contact_id),
        "history": history.items,
        "history_names": history.extra["names"],
        "history_next": history.next_cursor,
        "may_edit": can(current_user, "contact.edit", contact),
        "channels": preferences.channel_choices(),
        "states": CONSENT_STATES,
        "consent_values": {},
        "consent_errors": {},
        "conflict": None,
    }
    context.update(extra)
    return context


@bp.get(f"/contacts/<{ID}:contact_id>/consent")
@login_required
def panel(contact_id: int):
    return fragment(PANEL, "panel", **_panel_context(contact_id))


@bp.get(f"/contacts/<{ID}:contact_id>/consent/history")
@login_required
def history(contact_id: int):
    try:
        result = preferences.consent_history(current_user, contact_id, cursor=request.args.get("cursor") or None,
                                             limit=HISTORY_SIZE)
    except ValidationError as exc:
        return _errors(exc)
    contact = preferences.get_contact(current_user, contact_id)
    return fragment(PANEL, "history_rows", contact=contact, history=result.items,
                    history_names=result.extra["names"], history_next=result.next_cursor)


@bp.post(f"/contacts/<{ID}:contact_id>/consent")
@login_required
def set_consent(contact_id: int):
    data = _form()
    try:
        preferences.set_consent(current_user, contact_id, data)
    except ValidationError as exc:
        return _panel_response(contact_id, 422, consent_values=data, consent_errors=exc.errors)
    except Conflict as exc:
        return _panel_response(contact_id, 409, conflict=exc.message)
    if not htmx:
        return _back(contact_id)
    return _panel_response(contact_id, 200)


def _panel_response(contact_id: int, status: int, **extra):
    response = fragment(PANEL, "panel", status=status, **_panel_context(contact_id, **extra))
    if htmx:
        response.headers["HX-Retarget"] = "#communications-consent"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


def _back(contact_id: int):
    from flask import current_app

    if "contacts.show" in current_app.view_functions:
        return redirect(url_for("contacts.show", contact_id=contact_id))
    return redirect(url_for("communications_prefs.templates"))


def _errors(exc: ValidationError):
    from markupsafe import escape

    items = "".join(f"<li>{escape(field)}: {escape(' '.join(msgs))}</li>" for field, msgs in exc.errors.items())
    return make_response(f'<ul class="error" role="alert">{items}</ul>', 422)


# --- templates ---------------------------------------------------------------------------------------


def _preview_contacts():
    """Contacts to preview against: the first page of the ones the user may see (by name)."""
    return list_contacts(current_user, limit=100).items


def _chosen_contact() -> int | None:
    """The preview's contact, kept across a re-rendered form (or given as ?contact_id= in a link)."""
    raw = request.form.get("preview_contact_id") or request.args.get("contact_id") or ""
    return parse_id(raw)


def _template_context(tpl=None, **extra) -> dict:
    teams = writable_teams(current_user)
    context = {
        "tpl": tpl,
        "values": {k: getattr(tpl, k) for k in ("name", "channel", "subject", "body", "owner_team_id", "version")}
        if tpl else {"channel": "email"},
        "errors": {},
        "channels": preferences.channel_choices(),
        "teams": teams,
        "fields": templating.KNOWN,
        "contacts": _preview_contacts(),
        "preview": None,
        "preview_contact_id": _chosen_contact(),
        "may_edit": tpl is None or can(current_user, "communication_template.edit", tpl),
        "conflict": None,
    }
    context.update(extra)
    return context


@bp.get("/templates")
@login_required
def templates():
    items = templating.list_templates(current_user)
    team_names = {t.id: t.name for t in db.session.scalars(select(Team).where(Team.id.in_({t.owner_team_id for t in items} or {-1})))}
    return page("communications/templates.html", None, items=items, team_names=team_names,
                may_create=can(current_user, "communication_template.create"))


@bp.route("/templates/new", methods=["GET", "POST"])
@login_required
def new_template():
    if request.method == "GET":
        return page("communications/template_form.html", None, **_template_context())
    data = _template_form()
    try:
        tpl = templating.create_template(current_user, data)
    except ValidationError as exc:
        return page("communications/template_form.html", "form", status=422,
                    **_template_context(values=data, errors=exc.errors))
    flash(f"Template “{tpl.name}” saved.", "toast")
    return _redirect(url_for("communications_prefs.edit_template", template_id=tpl.id))


@bp.route(f"/templates/<{ID}:template_id>", methods=["GET", "POST"])
@login_required
def edit_template(template_id: int):
    tpl = templating.get_template(current_user, template_id)
    if request.method == "GET":
        return page("communications/template_form.html", None, **_template_context(tpl))
    data = _template_form()
    raw_version = data.pop("version", "")
    if not raw_version.isdecimal() or len(raw_version) > 9:
        return page("communications/template_form.html", "form", status=422,
                    **_template_context(tpl, values={**data, "version": tpl.version},
                                        errors={"version": ["Reload the template and try again."]}))
    version = int(raw_version)
    try:
        tpl = templating.update_template(current_user, template_id, data, version)
    except ValidationError as exc:
        return page("communications/template_form.html", "form", status=422,
                    **_template_context(tpl, values={**data, "version": version}, errors=exc.errors))
    except Conflict as exc:
        db.session.rollback()
        tpl = templating.get_template(current_user, template_id)
        return page("communications/template_form.html", "form", status=409,
                    **_template_context(tpl, values={**data, "version": tpl.version}, conflict=exc.message))
    flash(f"Template “{tpl.name}” saved.", "toast")
    return _redirect(url_for("communications_prefs.edit_template", template_id=tpl.id))


@bp.post(f"/templates/<{ID}:template_id>/delete")
@login_required
def delete_template(template_id: int):
    raw = request.form.get("version", "")
    templating.delete_template(current_user, template_id, int(raw) if raw.isdecimal() else None)
    flash("Template deleted.", "toast")
    return _redirect(url_for("communications_prefs.templates"))


@bp.post("/templates/preview")
@login_required
def preview():
    """Render the form's subject and body (saved or not) for the chosen contact."""
    data = _form()
    raw_contact = (data.get("preview_contact_id") or "").strip()
    if parse_id(raw_contact) is None:
        return fragment("communications/template_form.html", "preview", status=422,
                        preview=None, preview_error="Choose a contact to preview with.", fields=templating.KNOWN)
    result = templating.render_preview(current_user, parse_id(raw_contact), subject=data.get("subject", ""),
                                       body=data.get("body", ""))
    return fragment("communications/template_form.html", "preview", preview=result, preview_error=None,
                    fields=templating.KNOWN)


def _redirect(url: str):
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


# --- the global communications page -------------------------------------------------------------------


def _owner_choices():
    teams = visible_team_ids(current_user)
    stmt = select(User).order_by(User.name, User.email).limit(500)
    if teams is not None:
        stmt = stmt.join(team_members, team_members.c.user_id == User.id).where(
            team_members.c.team_id.in_(teams or [-1])).distinct()
    return [(u.id, u.display_name) for u in db.session.scalars(stmt)]


def _team_choices():
    teams = visible_team_ids(current_user)
    stmt = select(Team).order_by(Team.name)
    if teams is not None:
        stmt = stmt.where(Team.id.in_(teams or [-1]))
    return [(t.id, t.name) for t in db.session.scalars(stmt)]


def communications_page():
    """``/communications/``: every visible communication, newest first, filtered, keyset-paged."""
    args = {k: v for k, v in request.args.items() if k in services.LIST_FILTERS and v != ""}
    errors = {}
    result = None
    try:
        filters = services.clean_filters(args)
        result = services.recent(current_user, cursor=request.args.get("cursor") or None, limit=LIST_SIZE,
                                 filters=filters)
    except ValidationError as exc:
        errors = exc.errors
    if request.args.get("cursor") and htmx and result is not None:
        block = "rows"
    else:
        block = "results"
    return page(
        "communications/index.html", block, status=422 if errors else 200,
        items=result.items if result else [], next_cursor=result.next_cursor if result else None,
        filters=args, errors=errors, types=TYPES, statuses=STATUSES, owners=_owner_choices(), teams=_team_choices(),
        contact_statuses=vocabulary.terms("status"),
    )


__all__ = ["bp", "communications_page"]
