"""What the contact form and page show besides the contact's own fields: the custom fields
section (``cf_<key>`` inputs), the optional reason for a status change, the template chooser
and prefill, and the custom values on the contact page. Called from core/views/contacts.py."""

from __future__ import annotations

from ..errors import NotFound
from ..services import contact_templates, custom_fields


def form_data(form) -> dict:
    """The extras of a submitted contact form, in the service's shape."""
    fields = custom_fields.by_key(include_archived=False)
    data: dict = {}
    present = [k for k in form.getlist("cf_present") if k in fields]
    if present:
        data["custom_fields"] = {
            key: (form.getlist("cf_" + key) if fields[key].kind == "multi_choice" else form.get("cf_" + key, ""))
            for key in present
        }
    if "status_reason" in form:
        data["status_reason"] = form.get("status_reason", "")
    return data


def redisplay(data: dict) -> dict:
    """Submitted data as form values again (after a 422)."""
    values = {k: v for k, v in data.items() if k != "custom_fields"}
    values.update({"cf_" + k: v for k, v in (data.get("custom_fields") or {}).items()})
    return values


def _form_value(field, value):
    if field.kind == "boolean":
        return "yes" if value else ("no" if value is False else "")
    return value


def form_values(contact) -> dict:
    """A saved contact's custom values as ``cf_<key>`` form values."""
    fields = custom_fields.by_key(include_archived=False)
    return {"cf_" + k: _form_value(fields[k], v) for k, v in custom_fields.values_for(contact).items() if k in fields}


def form_context(actor, contact) -> dict:
    return {
        "custom_fields": custom_fields.definitions(),
        "contact_templates": [] if contact is not None else contact_templates.list_templates(actor),
    }


def template_values(actor, raw) -> dict:
    """Prefill for ``/contacts/new?template=<id>``; a blank form for no or an unknown template."""
    if not raw or not str(raw).isdecimal() or len(str(raw)) > 10:
        return {}
    try:
        template = contact_templates.get_template(actor, int(raw))
    except NotFound:
        return {}
    values = contact_templates.form_values(actor, template)
    fields = custom_fields.by_key(include_archived=False)
    for key in [k for k in values if k.startswith("cf_")]:
        values[key] = _form_value(fields[key[3:]], values[key])
    return values


def show_context(contact) -> dict:
    """``custom_values``: ``(label, text, kind)`` of the contact's set custom fields, in order."""
    values = custom_fields.values_for(contact)
    shown = [
        (f.label, custom_fields.display(f, values[f.key]), f.kind, values[f.key])
        for f in custom_fields.definitions() if f.key in values
    ]
    return {"custom_values": shown}
