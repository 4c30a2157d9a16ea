"""The core's hook implementations for duplicates and merge: the scan job, the navigation entry
and the merge-history panel on the contact page."""

import pluggy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_job_runners():
    from .services import duplicate_scan

    return {duplicate_scan.KIND: duplicate_scan.run}


@hookimpl
def contacts_nav_items(user):
    from flask import url_for

    from .ui import NavItem

    if not getattr(user, "is_authenticated", False):
        return []
    return [NavItem("Duplicates", url_for("merges.queue"), order=60, endpoint_prefix="merges.")]


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from .ui import Panel

    return [Panel("merges", "Merges", url_for("merges.contact_panel", contact_id=contact.id), order=90, inline=True)]
