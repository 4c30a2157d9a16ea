"""Hierarchy and relationships pages: the contact-page panels (reporting line, relationships), the
relationship modal form, the organization page's section, the org chart (lazily expanded), the
search-as-you-type pickers and the admin page of relationship types."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required, role_required
from ..errors import NotFound, ValidationError
from ..extensions import htmx
from ..models import Contact, Organization, parse_id
from ..policy import can
from ..services import contacts as contact_service
from ..services import hierarchy
from ..services import organizations as org_service
from ..services import relationship_types as types_service
from ..services import relationships as service
from .rendering import fragment, page, url_parts

bp = Blueprint("relations", __name__, template_folder="../templates")

T = "core/relations/"
CHANGED = "relationsChanged"
PICK_LIMIT = 20
CHART_PAGE = 50


def _user():
    return current_user._get_current_object()


def _trigger(response, **events):
    existing = response.headers.get("HX-Trigger")
    data = json.loads(existing) if existing else {}
    data.update(events)
    response.headers["HX-Trigger"] = json.dumps(data)
    return response


def _modal() -> bool:
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _int_arg(name: str):
    raw = request.args.get(name, "").strip()
    return parse_id(raw)


@bp.app_template_global("relation_record_name")
def _record_name(kind: str, record_id) -> str:
    """The name of a contact or organization for a picker's current option (empty if not visible)."""
    if not record_id:
        return ""
    try:
        record_id = int(record_id)
        if kind == "contact":
            return contact_service.get_contact(_user(), record_id).full_name
        return org_service.get_organization(_user(), record_id).name
    except (NotFound, ValueError, TypeError):
        return ""


# --- pickers (search as you type; never a select of every record) ---------------------------------


@bp.get("/relations/pick/contacts")
@login_required
def pick_contacts():
    """``<option>``s for a contact picker: ``q`` (or ``<field>_q``) searches, ``selected`` stays first."""
    field = request.args.get("field", "reports_to_id")
    q = (request.args.get(f"{field}_q") or request.args.get("q") or "").strip()[:100]
    selected = _int_arg(field) or _int_arg("selected")
    exclude = _int_arg("exclude")
    found = contact_service.list_contacts(_user(), q=q, limit=PICK_LIMIT).items if q else []
    options = [(c.id, c.full_name + (f" — {c.organization.name}" if c.organization else "")) for c in found
               if c.id != exclude]
    return fragment(T + "_options.html", "options", options=options, selected=selected, q=q, kind="contact",
                    blank=request.args.get("blank", "— nobody —"))


@bp.get("/relations/pick/organizations")
@login_required
def pick_organizations():
    field = request.args.get("field", "parent_id")
    q = (request.args.get(f"{field}_q") or request.args.get("q") or "").strip()[:100]
    selected = _int_arg(field) or _int_arg("selected")
    exclude = _int_arg("exclude")
    found = org_service.list_organizations(_user(), q=q, limit=PICK_LIMIT).items if q else []
    options = [(o.id, o.name) for o in found if o.id != exclude]
    return fragment(T + "_options.html", "options", options=options, selected=selected, q=q, kind="organization",
                    blank=request.args.get("blank", "— none —"))


# --- contact page panels ---------------------------------------------------------------------------


@bp.get("/contacts/<int(max=2147483647):contact_id>/reporting")
@login_required
def reporting_panel(contact_id: int):
    user = _user()
    contact = contact_service.get_contact(user, contact_id)
    reports = hierarchy.report_names(user, contact.id, cursor=request.args.get("cursor") or None)
    context = {"contact": contact, "reports": reports.items, "next_cursor": reports.next_cursor,
               "show_url": url_parts("contacts.show", "contact_id")}  # a link per report: one url_for
    if request.args.get("cursor"):
        return fragment(T + "reporting_panel.html", "report_items", **context)
    return fragment(T + "reporting_panel.html", "panel", chain=hierarchy.reporting_chain(user, contact), **context)


@bp.get("/contacts/<int(max=2147483647):contact_id>/relationships")
@login_required
def contact_panel(contact_id: int):
    user = _user()
    contact = contact_service.get_contact(user, contact_id)
    sides = service.for_contact(user, contact)
    return fragment(T + "contact_panel.html", "panel", contact=contact, sides=sides,
                    may_add=can(user, "contact.edit", contact),
                    editable={s.id for s in sides if service.may_edit(user, s.relationship)})


# --- the relationship form ---------------------------------------------------------------------------


def _type_choices(kind_filter=None):
    choices = []
    for t in types_service.list_types():
        if kind_filter and t.target_kind != kind_filter:
            continue
        choices.append((str(t.id), f"{t.name} (an organization)" if t.target_kind == "organization" else t.name))
        if t.target_kind == "contact" and not t.symmetric:
            choices.append((f"-{t.id}", t.inverse_label))
    return choices


def _render_form(contact, rel=None, values=None, errors=None, status=200):
    context = {
        "contact": contact, "rel": rel, "values": values or {}, "errors": errors or {}, "modal": _modal(),
        "types": _type_choices(rel.type.target_kind if rel else None),
    }
    if rel is not None:
        context["side"] = service.side_of(_user(), rel, contact.id)
    return page(T + "form.html", "form", status=status, **context)


def _saved(contact, message: str):
    if _modal():
        response = make_response(render_template("core/contacts/_toast.html", message=message, oob=True))
        return _trigger(response, closeModal=True, **{CHANGED: True})
    flash(message, "success")
    return redirect(url_for("contacts.show", contact_id=contact.id))


@bp.get("/contacts/<int(max=2147483647):contact_id>/relationships/new")
@login_required
def new(contact_id: int):
    contact = contact_service.get_contact(_user(), contact_id)
    if not can(_user(), "contact.edit", contact):
        abort(403)
    return _render_form(contact)


@bp.post("/contacts/<int(max=2147483647):contact_id>/relationships/new")
@login_required
def create(contact_id: int):
    form = request.form
    raw_type = form.get("type_id", "")
    data = {
        "type_id": raw_type.lstrip("-"), "inverse": raw_type.startswith("-"),
        "start_date": form.get("start_date", ""), "end_date": form.get("end_date", ""), "note": form.get("note", ""),
    }
    org_types = {str(t.id) for t in types_service.list_types(kind="organization", include_inactive=True)}
    if data["type_id"] in org_types:
        data["organization_id"] = form.get("organization_id", "")
    else:
        data["other_contact_id"] = form.get("other_contact_id", "")
    try:
        rel = service.create_relationship(_user(), contact_id, data)
    except ValidationError as exc:
        contact = contact_service.get_contact(_user(), contact_id)
        return _render_form(contact, values=dict(form), errors=exc.errors, status=422)
    contact = contact_service.get_contact(_user(), contact_id)
    side = service.side_of(_user(), rel, contact.id)
    return _saved(contact, f"{contact.full_name} {side.label} {side.other.full_name if side.other_kind == 'contact' else side.other.name}: saved.")


def _from_contact(rel):
    contact_id = request.values.get("from", type=int) or rel.contact_id
    if contact_id not in (rel.contact_id, rel.other_contact_id):
        contact_id = rel.contact_id
    return contact_service.get_contact(_user(), contact_id)


@bp.get("/relationships/<int(max=2147483647):rel_id>/edit")
@login_required
def edit(rel_id: int):
    rel = service.get_relationship(_user(), rel_id)
    if not service.may_edit(_user(), rel):
        abort(403)
    values = {"type_id": str(rel.type_id), "start_date": rel.start_date.isoformat() if rel.start_date else "",
              "end_date": rel.end_date.isoformat() if rel.end_date else "", "note": rel.note}
    return _render_form(_from_contact(rel), rel=rel, values=values)


@bp.post("/relationships/<int(max=2147483647):rel_id>/edit")
@login_required
def update(rel_id: int):
    form = request.form
    data = {name: form.get(name, "") for name in service.EDITABLE}
    try:
        rel = service.update_relationship(_user(), rel_id, data)
    except ValidationError as exc:
        rel = service.get_relationship(_user(), rel_id)
        return _render_form(_from_contact(rel), rel=rel, values=dict(form), errors=exc.errors, status=422)
    return _saved(_from_contact(rel), "The relationship was saved.")


@bp.post("/relationships/<int(max=2147483647):rel_id>/delete")
@login_required
def delete(rel_id: int):
    rel = service.get_relationship(_user(), rel_id)
    contact = _from_contact(rel)
    service.delete_relationship(_user(), rel_id)
    return _saved(contact, "The relationship was deleted.")


# --- organizations: the page's section and the org chart -----------------------------------------


@bp.get("/organizations/<int(max=2147483647):org_id>/relations")
@login_required
def org_section(org_id: int):
    user = _user()
    org = org_service.get_organization(user, org_id)
    children = hierarchy.child_organizations(user, org.id, cursor=request.args.get("cursor") or None)
    context = {"org": org, "children": children.items, "next_cursor": children.next_cursor}
    if request.args.get("cursor"):
        return fragment(T + "org_section.html", "child_items", **context)
    return fragment(T + "org_section.html", "section", chain=hierarchy.parent_chain(user, org),
                    sides=service.for_organization(user, org), **context)


@bp.get("/organizations/<int(max=2147483647):org_id>/chart")
@login_required
def chart(org_id: int):
    user = _user()
    org = org_service.get_organization(user, org_id)
    return page(T + "chart.html", None, org=org, **_nodes(org, None))


@bp.get("/organizations/<int(max=2147483647):org_id>/chart/nodes")
@login_required
def chart_nodes(org_id: int):
    """One level of the chart: the reports of ``under`` (or the top), a page at a time."""
    org = org_service.get_organization(_user(), org_id)
    under = _int_arg("under")
    if under is not None:
        contact_service.get_contact(_user(), under)
    return fragment(T + "chart.html", "nodes", org=org, **_nodes(org, under))


def _nodes(org, under):
    user = _user()
    cursor = request.args.get("cursor") or None
    if under is None:
        result = hierarchy.chart_roots(user, org.id, cursor=cursor, limit=CHART_PAGE)
    else:
        result = hierarchy.direct_reports(user, under, organization_id=org.id, cursor=cursor, limit=CHART_PAGE)
    counts = hierarchy.report_counts(user, [c.id for c in result.items], organization_id=org.id)
    return {"nodes": result.items, "counts": counts, "next_cursor": result.next_cursor, "under": under}


# --- admin: relationship types ---------------------------------------------------------------------


def _types_page(values=None, errors=None, edit_id=None, status=200):
    return page(T + "types.html", None, status=status, types=types_service.list_types(include_inactive=True),
                values=values or {}, errors=errors or {}, edit_id=edit_id)


@bp.get("/admin/relationship-types")
@role_required("admin")
def types():
    return _types_page(edit_id=_int_arg("edit"))


@bp.post("/admin/relationship-types")
@role_required("admin")
def create_type():
    values = {k: request.form.get(k, "") for k in ("name", "inverse_label", "target_kind")}
    try:
        rtype = types_service.create_type(_user(), values)
    except ValidationError as exc:
        return _types_page(values, exc.errors, status=422)
    flash(f"“{rtype.name}” was added.", "success")
    return redirect(url_for(".types"))


@bp.post("/admin/relationship-types/<int(max=2147483647):type_id>")
@role_required("admin")
def update_type(type_id: int):
    form = request.form
    data = {k: form[k] for k in ("name", "inverse_label", "active") if k in form}
    try:
        rtype = types_service.update_type(_user(), type_id, data)
    except ValidationError as exc:
        return _types_page({**data, "id": type_id}, exc.errors, edit_id=type_id, status=422)
    flash(f"“{rtype.name}” was saved.", "success")
    return redirect(url_for(".types"))


def related_name(record) -> str:
    return record.full_name if isinstance(record, Contact) else record.name if isinstance(record, Organization) else ""


@bp.app_template_filter("related_name")
def _related_name(record) -> str:
    return related_name(record)


