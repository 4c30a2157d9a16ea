"""The monitoring plugin: an activity feed of who changed what, fed by the event hooks."""

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
def contacts_permissions():
    return {"activity.list": "See the activity feed (limited to the teams one may see)"}


@hookimpl
def contacts_nav_items(user):
    from flask import url_for

    from core.ui import NavItem

    return [NavItem("Activity", url_for("monitoring.activity"), order=60, endpoint_prefix="monitoring.")]


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from core.ui import Panel

    return [Panel("activity", "Activity", url_for("monitoring.contact_activity", contact_id=contact.id), order=90,
                  inline=True)]


@hookimpl
def contacts_dashboard_widgets(user):
    from flask import url_for

    from core.ui import Panel

    return [Panel("activity", "Recent activity", url_for("monitoring.widget"), order=50)]


@hookimpl
def contacts_record_changed(entity_type, entity_id, action, actor, changes):
    # Only this hook, not contacts_contact_created/updated/deleted: the core calls both for contacts.
    # Changes announced after their commit (other plugins' records, merges): a transaction of its own.
    from .services import record

    record(entity_type, entity_id, action, actor, changes)


@hookimpl
def contacts_record_written(entity_type, entity_id, action, actor, changes):
    # Contacts and their details: the entry joins the change's transaction (one commit per write)
    # and is not announced again through contacts_record_changed.
    from .services import add

    add(entity_type, entity_id, action, actor, changes)


@hookimpl
def contacts_records_changed(entity_type, items, actor):
    # A batch (an import): the same entries as one contacts_record_changed each, in one insert.
    from .services import record_many

    record_many(entity_type, items, actor)


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .services import repoint_contact

    moved = repoint_contact(source.id, target.id)
    return {"monitoring": {"activity": moved}} if moved else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .services import unrepoint_contact

    record = (undo or {}).get("monitoring")
    if isinstance(record, dict) and record:
        unrepoint_contact(source.id, target.id, record.get("activity"))
