"""The core's hook implementations for hierarchy and relationships: the contact-page panels and
the merge contract (registered in core/plugins.py ``new_manager``)."""

from __future__ import annotations

import pluggy
from flask import url_for

from .ui import Panel

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_contact_panels(contact, user):
    return [
        Panel("reporting", "Reporting line", url_for("relations.reporting_panel", contact_id=contact.id), order=20, inline=True),
        Panel("relationships", "Relationships", url_for("relations.contact_panel", contact_id=contact.id), order=21,
              inline=True),
    ]


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .services import relations_merge

    record = relations_merge.merge(target, source, actor)
    return {relations_merge.KEY: record} if record else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .services import relations_merge

    record = (undo or {}).get(relations_merge.KEY)
    if isinstance(record, dict) and record:
        relations_merge.unmerge(target, source, actor, record)
