"""The planning plugin: static contact lists that belong to a team."""

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
    return {
        "list.view": "Open a contact list and see its members",
        "list.list": "See the lists page",
        "list.create": "Create a contact list for a team",
        "list.edit": "Rename a list, add and remove its contacts (adding also needs contact.edit)",
        "list.delete": "Delete a contact list (its contacts stay)",
    }


@hookimpl
def contacts_nav_items(user):
    from flask import url_for

    from core.ui import NavItem

    return [NavItem("Lists", url_for("planning.lists"), order=30, endpoint_prefix="planning.")]


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from core.ui import Panel

    return [Panel("lists", "Lists", url_for("planning.contact_panel", contact_id=contact.id), order=40, inline=True)]


@hookimpl
def contacts_contact_actions(contact, user):
    from core.policy import can
    from core.ui import Action
    from core.views.rendering import url_with_id

    if not can(user, "contact.edit", contact):
        return []
    # called for every row of the contacts list: the URL from a prefix built once a request
    return [Action("Add to list", url_with_id("planning.add_form", "contact_id", contact.id))]


@hookimpl
def contacts_search_filters():
    from core.ui import SearchFilter

    from .services import filter_options, in_list_filter

    return [SearchFilter("list", "In list", apply=in_list_filter, options=filter_options)]


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .services import repoint

    record = repoint(target, source, actor)
    return {"planning": record} if record else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .services import unrepoint

    record = (undo or {}).get("planning")
    if isinstance(record, dict) and record:
        unrepoint(target, source, actor, record)


@hookimpl
def contacts_bulk_actions():
    from core.ui import BulkAction, BulkField

    from .services import bulk_add, bulk_remove, writable_list_options

    field = (BulkField("list_id", "List", options=writable_list_options),)
    return [
        BulkAction("list_add", "Add to list", bulk_add, field, order=40),
        BulkAction("list_remove", "Remove from list", bulk_remove, field, order=41),
    ]
