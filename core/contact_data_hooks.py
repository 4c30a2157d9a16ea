"""The core's hook implementations for custom fields, preferences and the status history
(issue 3): list filters, contact-page panels, the core's preference fields, merge and unmerge."""

from __future__ import annotations

import pluggy
from flask import has_app_context, url_for

hookimpl = pluggy.HookimplMarker("contacts")
UNDO_KEY = "core_contact_data"


@hookimpl
def contacts_search_filters():
    from .services import custom_field_queries

    if not has_app_context():  # the definitions live in the database
        return []
    return custom_field_queries.search_filters()


@hookimpl
def contacts_contact_panels(contact, user):
    from .ui import Panel

    return [
        Panel("preferences", "Preferences", url_for("contact_data.preferences_panel", contact_id=contact.id), order=20,
              inline=True),
        Panel("status-history", "Status history", url_for("contact_data.status_panel", contact_id=contact.id), order=25,
              inline=True),
    ]


@hookimpl
def contacts_preference_fields():
    from .services import preferences

    return preferences.core_fields()


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .services import contact_extras, preferences, status_history

    record = {
        "custom": contact_extras.merge_custom_values(target, source),
        "preferences": preferences.merge(target, source),
        "status_history": status_history.merge(target, source),
    }
    record = {k: v for k, v in record.items() if v}
    return {UNDO_KEY: record} if record else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .services import contact_extras, preferences, status_history

    record = (undo or {}).get(UNDO_KEY)
    if not isinstance(record, dict):
        return
    if isinstance(record.get("custom"), dict):
        contact_extras.unmerge_custom_values(target, source, record["custom"])
    if isinstance(record.get("preferences"), dict):
        preferences.unmerge(target, source, record["preferences"])
    if isinstance(record.get("status_history"), dict):
        status_history.unmerge(target, source, record["status_history"])
