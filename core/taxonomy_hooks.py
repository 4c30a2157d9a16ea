"""The core's hook implementations for tags, groups and categories (registered in
core/plugins.py new_manager, after builtin_hooks): list filters, the contact page's Groups
panel, navigation, and the merge contract for the taxonomy tables."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_search_filters():
    from .services import categories, groups, tags
    from .ui import SearchFilter

    return [
        SearchFilter("tag", "Tag", apply=tags.tag_filter, options=tags.filter_options),
        SearchFilter("group", "Group", apply=groups.group_filter, options=groups.filter_options),
        SearchFilter("category", "Category", apply=categories.category_filter, options=categories.filter_options),
    ]


@hookimpl
def contacts_permissions():
    return {
        "tag.create": "Create a tag (by typing a new name on a contact)",
        "tag.manage": "Rename, recolour and delete tags (admins)",
        "group.view": "Open a contact group and see its members",
        "group.create": "Create a contact group for a team",
        "group.edit": "Rename a group, add and remove its contacts (also needs contact.edit)",
        "group.delete": "Delete a contact group (its contacts stay)",
        "category.manage": "Create, rename, move and delete categories (admins)",
    }


@hookimpl
def contacts_nav_items(user):
    from flask import url_for

    from .ui import NavItem

    items = [NavItem("Groups", url_for("groups.index"), order=25, endpoint_prefix="groups."),
             NavItem("Tags", url_for("tags.index"), order=26, endpoint_prefix="tags.")]
    if getattr(user, "role", None) == "admin":
        items.append(NavItem("Categories", url_for("categories.index"), order=27, endpoint_prefix="categories."))
    return items


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from .ui import Panel

    return [Panel("groups", "Groups", url_for("groups.contact_groups", contact_id=contact.id), order=20)]


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .database import transaction
    from .services import taxonomy

    with transaction():
        record = taxonomy.merged(target, source, actor)
    return {"core_taxonomy": record} if record else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .database import transaction
    from .services import taxonomy

    record = (undo or {}).get("core_taxonomy")
    if isinstance(record, dict) and record:
        with transaction():
            taxonomy.unmerged(target, source, actor, record)
