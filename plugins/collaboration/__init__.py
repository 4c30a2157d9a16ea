"""The collaboration plugin: Markdown notes on a contact, rendered safely."""

from pathlib import Path

from core import hookimpl

__version__ = "0.1.0"


@hookimpl
def contacts_blueprints(app):
    from .views import bp

    return [bp]


@hookimpl
def contacts_migration_dirs():
    return [str(Path(__file__).parent / "migrations")]


@hookimpl
def contacts_template_globals():
    from .render import render_markdown

    return {"render_markdown": render_markdown}


@hookimpl
def contacts_permissions():
    return {
        "note.view": "See the notes on a contact (whoever may view the contact)",
        "note.create": "Add a note to a contact (whoever may edit the contact)",
        "note.edit": "Edit a note (its author or an administrator)",
        "note.delete": "Delete a note (its author or an administrator)",
    }


@hookimpl
def contacts_permission(user, action, obj):
    if not action.startswith("note."):
        return None
    from .services import rule

    return rule(user, action, obj)


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from core.ui import Panel

    return [Panel("notes", "Notes", url_for("collaboration.panel", contact_id=contact.id), order=40, inline=True)]


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .services import repoint_contact

    moved = repoint_contact(source.id, target.id)
    return {"collaboration": {"notes": moved}} if moved else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .services import unrepoint_contact

    record = (undo or {}).get("collaboration")
    if isinstance(record, dict) and record:
        unrepoint_contact(source.id, target.id, record.get("notes"))
