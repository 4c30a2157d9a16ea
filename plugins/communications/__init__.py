"""The communications plugin: calls, emails and meetings logged on a contact, shown as a timeline."""

from pathlib import Path

from core import hookimpl

__version__ = "0.1.0"


@hookimpl
def contacts_blueprints(app):
    from .api import bp as api_bp
    from .api_prefs import bp as prefs_api_bp
    from .api_send import bp as send_api_bp
    from .views import bp
    from .views_prefs import bp as prefs_bp
    from .views_send import bp as send_bp

    return [bp, api_bp, send_bp, send_api_bp, prefs_bp, prefs_api_bp]


@hookimpl
def contacts_template_globals():
    from .models import type_label

    return {"communication_type": type_label}


@hookimpl
def contacts_migration_dirs():
    return [str(Path(__file__).parent / "migrations")]


@hookimpl
def contacts_permissions():
    return {
        "communication.view": "See a contact's communications (also needs contact.view)",
        "communication.list": "List communications",
        "communication.create": "Log a call, email or meeting on a contact (also needs contact.edit)",
        "communication.delete": "Delete a logged communication (also needs contact.edit)",
        "communication.edit": "Cancel, reschedule or send now a scheduled email (also needs contact.edit)",
        "communication_template.view": "See a message template of one's teams",
        "communication_template.list": "List message templates",
        "communication_template.create": "Write a message template for one's team",
        "communication_template.edit": "Change a message template",
        "communication_template.delete": "Delete a message template",
    }


@hookimpl
def contacts_nav_items(user):
    from flask import url_for

    from core.ui import NavItem

    return [NavItem("Communications", url_for("communications.index"), order=25, endpoint_prefix="communications")]


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from core.ui import Panel

    return [
        Panel("communications", "Communications", url_for("communications.timeline", contact_id=contact.id), order=20,
              inline=True),
        Panel("communications-email", "Email", url_for("communications_send.compose", contact_id=contact.id), order=21,
              inline=True),
        Panel("communications-consent", "Consent",
              url_for("communications_prefs.panel", contact_id=contact.id), order=22, inline=True),
    ]


@hookimpl
def contacts_preference_fields():
    from .preference_fields import preference_fields

    return preference_fields()


@hookimpl
def contacts_dashboard_widgets(user):
    from flask import url_for

    from core.policy import can
    from core.ui import Panel

    if not can(user, "communication.list"):
        return []
    return [Panel("communications", "Communications", url_for("communications.widget"), order=40)]


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .preferences import repoint_preferences
    from .services import repoint

    moved = repoint(target, source, actor)
    prefs = repoint_preferences(target, source, actor)
    if not moved and not prefs:
        return None
    return {"communications": {"communications": moved, **(prefs or {})}}


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .preferences import unrepoint_preferences
    from .services import unrepoint

    record = (undo or {}).get("communications")
    if isinstance(record, dict) and record:
        unrepoint(target, source, actor, record.get("communications"))
        unrepoint_preferences(target, source, actor, record)


@hookimpl
def contacts_hookspecs():
    from . import hookspecs

    return [hookspecs]


@hookimpl
def contacts_tasks(app, huey):
    from .tasks import setup

    setup(app, huey)
