"""Administration of custom field definitions (admins) and contact templates (admins and
managers). Part of the admin area (/admin/...)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from ..access import role_required
from ..errors import ValidationError
from ..models.contact_data import FIELD_KINDS
from ..policy import writable_teams
from ..services import contact_templates, custom_fields, vocabulary
from ..services.groups import filter_options as group_options
from .rendering import page

bp = Blueprint("admin_fields", __name__, url_prefix="/admin", template_folder="../templates")


def _actor():
    return current_user._get_current_object()


# --- custom fields ---------------------------------------------------------------------------


def _field_form(editing: bool) -> dict:
    form = request.form
    data = {"label": form.get("label", ""), "required": bool(form.get("required")), "position": form.get("position", "0")}
    if not editing:
        data["key"] = form.get("key", "")
        data["kind"] = form.get("kind", "")
    if form.get("choices") is not None:
        data["choices"] = form.get("choices", "")
    return data


def _fields_page(values=None, errors=None, status=200, edit=None):
    return page(
        "core/admin/custom_fields.html", None, status=status,
        fields=custom_fields.definitions(include_archived=True), kinds=list(FIELD_KINDS.items()),
        values=values or {"kind": "text"}, errors=errors or {}, edit=edit,
    )


@bp.get("/custom-fields")
@role_required("admin")
def fields():
    return _fields_page()


@bp.post("/custom-fields")
@role_required("admin")
def create_field():
    data = _field_form(editing=False)
    if data.get("kind") not in custom_fields.CHOICE_KINDS and not (data.get("choices") or "").strip():
        data.pop("choices", None)
    if not str(data.get("position", "")).strip():
        data.pop("position")  # the service puts a new field last
    try:
        field = custom_fields.create_field(_actor(), data)
    except ValidationError as exc:
        return _fields_page(data, exc.errors, status=422)
    flash(f"The field “{field.label}” was added.", "success")
    return redirect(url_for(".fields"))


@bp.get("/custom-fields/<int(max=2147483647):field_id>")
@role_required("admin")
def edit_field(field_id: int):
    field = custom_fields.get_field(_actor(), field_id)
    values = {"label": field.label, "required": field.required, "position": field.position,
              "choices": "\n".join(field.choices)}
    return page("core/admin/custom_field.html", None, field=field, values=values, errors={})


@bp.post("/custom-fields/<int(max=2147483647):field_id>")
@role_required("admin")
def update_field(field_id: int):
    field = custom_fields.get_field(_actor(), field_id)
    data = _field_form(editing=True)
    if field.kind not in custom_fields.CHOICE_KINDS:
        data.pop("choices", None)
    try:
        field = custom_fields.update_field(_actor(), field_id, data)
    except ValidationError as exc:
        return page("core/admin/custom_field.html", None, status=422, field=field, values=data, errors=exc.errors)
    flash(f"The field “{field.label}” was saved.", "success")
    return redirect(url_for(".fields"))


@bp.post("/custom-fields/<int(max=2147483647):field_id>/archive")
@role_required("admin")
def archive_field(field_id: int):
    archived = request.form.get("archived") == "1"
    field = custom_fields.update_field(_actor(), field_id, {"archived": archived})
    flash(f"The field “{field.label}” was {'archived' if archived else 'restored'}.", "success")
    return redirect(url_for(".fields"))


# --- contact templates -----------------------------------------------------------------------


def _template_form() -> dict:
    form = request.form
    data = {name: form.get(name, "") for name in ("name", "type", "status", "tags")}
    data["group_ids"] = form.getlist("group_ids")  # checkboxes
    data["owner_team_id"] = form.get("owner_team_id", "")
    data["custom_fields"] = {
        f.key: (form.getlist("cf_" + f.key) if f.kind == "multi_choice" else form.get("cf_" + f.key, ""))
        for f in custom_fields.definitions()
    }
    return data


def _template_values(template) -> dict:
    values = {"name": template.name, "type": template.type, "status": template.status,
              "owner_team_id": template.owner_team_id or "", "tags": ", ".join(template.tags),
              "group_ids": [str(i) for i in template.group_ids]}
    for f in custom_fields.definitions():
        if f.key in (template.custom or {}):
            values["cf_" + f.key] = _form_value(f, template.custom[f.key])
    return values


def _form_value(field, value):
    if field.kind == "boolean":
        return "yes" if value else ("no" if value is False else "")
    return value


def _templates_page(values=None, errors=None, status=200, template=None):
    actor = _actor()
    return page(
        "core/admin/contact_templates.html", None, status=status,
        templates=contact_templates.list_templates(actor), current=template,
        stale=contact_templates.stale(template) if template is not None else [],
        values=values if values is not None else ({} if template is None else _template_values(template)),
        errors=errors or {}, custom_fields=custom_fields.definitions(),
        types=vocabulary.terms("type"), statuses=vocabulary.terms("status"),
        teams=[(t.id, t.name) for t in writable_teams(actor)], groups=group_options(actor),
    )


@bp.get("/contact-templates")
@role_required("admin", "manager")
def templates():
    return _templates_page()


@bp.post("/contact-templates")
@role_required("admin", "manager")
def create_template():
    data = _template_form()
    try:
        template = contact_templates.create_template(_actor(), data)
    except ValidationError as exc:
        return _templates_page(_flat(data), exc.errors, status=422)
    flash(f"The template “{template.name}” was added.", "success")
    return redirect(url_for(".templates"))


@bp.get("/contact-templates/<int(max=2147483647):template_id>")
@role_required("admin", "manager")
def edit_template(template_id: int):
    return _templates_page(template=contact_templates.get_template(_actor(), template_id))


@bp.post("/contact-templates/<int(max=2147483647):template_id>")
@role_required("admin", "manager")
def update_template(template_id: int):
    template = contact_templates.get_template(_actor(), template_id)
    data = _template_form()
    try:
        contact_templates.update_template(_actor(), template_id, data)
    except ValidationError as exc:
        return _templates_page(_flat(data), exc.errors, status=422, template=template)
    flash("The template was saved.", "success")
    return redirect(url_for(".templates"))


@bp.post("/contact-templates/<int(max=2147483647):template_id>/delete")
@role_required("admin", "manager")
def delete_template(template_id: int):
    contact_templates.delete_template(_actor(), template_id)
    flash("The template was deleted.", "success")
    return redirect(url_for(".templates"))


def _flat(data: dict) -> dict:
    values = {k: v for k, v in data.items() if k != "custom_fields"}
    values.update({"cf_" + k: v for k, v in data["custom_fields"].items()})
    return values
