"""Contact templates: named presets (type, status, owner team, custom-field defaults, tag names,
group ids) offered when creating a contact. Admins and managers manage them; everyone who may
create contacts uses them. A template only prefills the form: the contact is validated as usual."""

from __future__ import annotations

from sqlalchemy import select

from ..database import transaction
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..models import MAX_ID, ContactTemplate, Team
from ..policy import can, require
from . import audit, custom_fields, groups, vocabulary
from .fields import clean_text
from .records import int_or_none

FIELDS = ("name", "type", "status", "owner_team_id", "custom_fields", "tags", "group_ids")


def may_manage(actor) -> bool:
    return can(actor, "contact_template.manage") or getattr(actor, "role", "") == "manager"


def _require_manage(actor) -> None:
    if not may_manage(actor):
        raise PermissionDenied("Only administrators and managers manage contact templates.")


def list_templates(actor) -> list[ContactTemplate]:
    require(actor, "contact.list")
    return db.session.scalars(select(ContactTemplate).order_by(ContactTemplate.name)).all()


def get_template(actor, template_id: int) -> ContactTemplate:
    require(actor, "contact.list")
    template = db.session.get(ContactTemplate, template_id) if 0 < template_id <= MAX_ID else None
    if template is None:
        raise NotFound("No such contact template.")
    return template


def _names(raw, errors: dict) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list):
        errors["tags"] = "A list of tag names (or comma-separated text)."
        return []
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            errors["tags"] = "Tag names are text."
            return []
        name = clean_text(item, "tags", errors, 50)
        if name and name.lower() not in {n.lower() for n in out}:
            out.append(name)
    if len(out) > 50:
        errors["tags"] = "At most 50 tags."
    return out


def _unseen(actor, existing: ContactTemplate | None) -> list[int]:
    """The groups ``existing`` names that ``actor`` may not see (another team's, named by an admin).
    A manager's editor cannot show them, so a save cannot mean to drop them: they are kept."""
    from ..models import ContactGroup

    ids = list(existing.group_ids or []) if existing is not None else []
    found = db.session.scalars(select(ContactGroup).where(ContactGroup.id.in_(ids))) if ids else []
    unseen = {g.id for g in found if not can(actor, "group.view", g)}
    return [i for i in ids if i in unseen]


def _ids(actor, raw, errors: dict, existing: ContactTemplate | None = None) -> list[int]:
    """Ids of existing groups ``actor`` may see, plus those of ``existing`` they may not see (kept
    as they were): a template never stores a dangling reference."""
    items = [i for i in raw.replace(",", " ").split()] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        errors["group_ids"] = "A list of group ids."
        return []
    out: list[int] = []
    for item in items:
        if isinstance(item, bool):
            errors["group_ids"] = "Group ids are numbers."
            return []
        number = int_or_none(item, "group_ids", errors)
        if number is not None and number not in out:
            out.append(number)
    unseen = _unseen(actor, existing) if "group_ids" not in errors else []
    out = [i for i in out if i not in unseen]
    if len(out) + len(unseen) > 100:
        errors["group_ids"] = "At most 100 groups."
        return []
    return groups.usable_ids(actor, out, errors) + unseen if "group_ids" not in errors else []


def _clean(actor, data: dict, existing: ContactTemplate | None) -> dict:
    errors: dict = {}
    out: dict = {}
    for name in sorted(set(data) - set(FIELDS)):
        errors[name] = "Unknown field."
    if "name" in data or existing is None:
        out["name"] = clean_text(data.get("name"), "name", errors, 100, required=True)
        clash = db.session.scalar(select(ContactTemplate.id).where(ContactTemplate.name == out["name"]))
        if out["name"] and clash and (existing is None or clash != existing.id):
            errors["name"] = "Another template has this name."
    for kind in ("type", "status"):
        if kind in data:
            value = clean_text(data[kind], kind, errors, 50)
            if value and kind not in errors and value not in dict(vocabulary.terms(kind)):
                errors[kind] = f"Choose one of: {', '.join(k for k, _ in vocabulary.terms(kind))}."
            out[kind] = value
    if "owner_team_id" in data:
        team_id = int_or_none(data["owner_team_id"], "owner_team_id", errors)
        if team_id is not None and "owner_team_id" not in errors and db.session.get(Team, team_id) is None:
            errors["owner_team_id"] = "No such team."
        out["owner_team_id"] = team_id
    if "custom_fields" in data:
        raw = data["custom_fields"]
        try:  # defaults: each valid for its field; required-ness is checked when the contact is saved
            cleaned = custom_fields.clean_values(raw, creating=False, check_required=False)
        except ValidationError as exc:
            errors.update(exc.errors)
            cleaned = {}
        out["custom"] = {f.key: custom_fields.jsonable(f, v) for f, v in cleaned.items() if v is not None}
    if "tags" in data:
        out["tags"] = _names(data["tags"], errors)
    if "group_ids" in data:
        out["group_ids"] = _ids(actor, data["group_ids"], errors, existing)
    if errors:
        raise ValidationError(errors)
    return out


def create_template(actor, data: dict) -> ContactTemplate:
    _require_manage(actor)
    values = _clean(actor, data, None)
    with transaction():
        template = ContactTemplate(type="", status="", custom={}, tags=[], group_ids=[])
        for name, value in values.items():
            setattr(template, name, value)
        db.session.add(template)
        db.session.flush()
        audit.record(actor, "created", "contact_template", template.id, {k: (None, v) for k, v in values.items()})
    return template


def update_template(actor, template_id: int, data: dict) -> ContactTemplate:
    _require_manage(actor)
    get_template(actor, template_id)
    values = _clean(actor, data, db.session.get(ContactTemplate, template_id))
    with transaction():
        template = db.session.get(ContactTemplate, template_id)
        changes = {}
        for name, value in values.items():
            if getattr(template, name) != value:
                changes[name] = (getattr(template, name), value)
                setattr(template, name, value)
        if changes:
            audit.record(actor, "updated", "contact_template", template.id, changes)
    return template


def delete_template(actor, template_id: int) -> None:
    _require_manage(actor)
    get_template(actor, template_id)
    with transaction():
        template = db.session.get(ContactTemplate, template_id)
        audit.record(actor, "deleted", "contact_template", template.id, {"name": (template.name, None)})
        db.session.delete(template)


# --- what a template points at -----------------------------------------------------------------


def _set(actor, template: ContactTemplate, name: str, value) -> None:
    audit.record(actor, "updated", "contact_template", template.id, {name: (getattr(template, name), value)})
    setattr(template, name, value)


def forget_group(actor, group_id: int) -> None:
    """Inside a group's delete: every template naming it stops naming it (audited). Templates
    are a handful of presets: read them all rather than index a JSON list."""
    for template in db.session.scalars(select(ContactTemplate).order_by(ContactTemplate.id)):
        if group_id in (template.group_ids or []):
            _set(actor, template, "group_ids", [i for i in template.group_ids if i != group_id])


def _kept_choices(value, choices):
    """A choice default with only the choices still offered: the value, a shorter list, or None."""
    if isinstance(value, list):
        return [v for v in value if v in choices] or None
    return value if value in choices else None


def forget_choices(actor, key: str, choices) -> None:
    """Inside a choice field's change: defaults naming a choice no longer offered are dropped (audited)."""
    for template in db.session.scalars(select(ContactTemplate).order_by(ContactTemplate.id)):
        custom = template.custom or {}
        if key not in custom:
            continue
        kept = _kept_choices(custom[key], choices)
        if kept != custom[key]:
            _set(actor, template, "custom", {k: v for k, v in custom.items() if k != key}
                 | ({key: kept} if kept is not None else {}))


def stale(template: ContactTemplate) -> list[str]:
    """What ``template`` still names that no longer exists (saved before groups and choices were
    cleaned up on delete): deleted groups, removed choices. Left out of new contacts; dropped by
    the next save of the editor."""
    from ..models import ContactGroup

    out = []
    ids = list(template.group_ids or [])
    found = set(db.session.scalars(select(ContactGroup.id).where(ContactGroup.id.in_(ids)))) if ids else set()
    out += [f"group #{i}" for i in ids if i not in found]
    fields = custom_fields.by_key(include_archived=True)
    for key, value in (template.custom or {}).items():
        field = fields.get(key)
        if field is not None and field.choices:
            gone = [v for v in (value if isinstance(value, list) else [value]) if v not in field.choices]
            out += [f"{field.label} “{v}”" for v in gone]
    return out


def form_values(actor, template: ContactTemplate) -> dict:
    """The new-contact form's values from ``template``: type, status, owner team (when the user
    may write to it), ``cf_<key>`` defaults, ``tags`` (comma-separated names), ``group_ids``."""
    from ..policy import writable_teams

    values: dict = {}
    if template.type in dict(vocabulary.terms("type")):
        values["type"] = template.type
    if template.status in dict(vocabulary.terms("status")):
        values["status"] = template.status
    if template.owner_team_id and template.owner_team_id in {t.id for t in writable_teams(actor)}:
        values["owner_team_id"] = template.owner_team_id
    fields = custom_fields.by_key(include_archived=False)
    for key, value in (template.custom or {}).items():
        if key in fields:
            values["cf_" + key] = value
    if template.tags:
        values["tags"] = ", ".join(template.tags)
    if template.group_ids:
        values["group_ids"] = [str(i) for i in template.group_ids]
    values["template_id"] = template.id
    return values
