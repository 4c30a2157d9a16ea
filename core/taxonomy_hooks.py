"""The core's hook implementations for tags, groups and categories (registered in
core/plugins.py new_manager, after builtin_hooks): list filters, the contact page's Groups
panel, navigation, and the merge contract for the taxonomy tables."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_search_filters():
    from .services import categories, groups, tags
    from .services.taxonomy import builder_condition
    from .ui import SearchFilter

    return [  # the builder's tag and group conditions are not joined (taxonomy.member_condition)
        SearchFilter("tag", "Tag", apply=tags.tag_filter, options=tags.filter_options,
                     condition=builder_condition(tags.tag_member)),
        SearchFilter("group", "Group", apply=groups.group_filter, options=groups.filter_options,
                     condition=builder_condition(groups.group_member)),
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
    # Categories (admins only) are reached from the admin area's menu.
    return items


@hookimpl
def contacts_contact_panels(contact, user):
    from flask import url_for

    from .ui import Panel

    return [Panel("groups", "Groups", url_for("groups.contact_groups", contact_id=contact.id), order=20, inline=True)]


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


@hookimpl
def contacts_bulk_actions():
    """Tag/untag, add to/remove from a group, set the category: on the chosen rows or on every
    contact a filter matches (core/services/bulk.py runs them batch by batch)."""
    from .services import taxonomy
    from .services.categories import filter_options as category_options
    from .services.groups import filter_options as group_options
    from .services.tags import filter_options as tag_options
    from .ui import BulkAction, BulkField

    def counts(result):
        return result.changed, result.skipped

    def tag_name(params):
        return dict(tag_options(None)).get(params["tag_id"], "")

    return [
        BulkAction("tag_add", "Add a tag", lambda a, ids, p: counts(taxonomy.add_tags(a, ids, [p["tag"]])),
                   (BulkField("tag", "Tag (a new name creates it)"),), order=20),
        BulkAction("tag_remove", "Remove a tag", lambda a, ids, p: counts(taxonomy.remove_tags(a, ids, [tag_name(p)])),
                   (BulkField("tag_id", "Tag", options=tag_options),), order=21),
        BulkAction("group_add", "Add to a group", lambda a, ids, p: counts(taxonomy.add_to_group(a, ids, p["group_id"])),
                   (BulkField("group_id", "Group", options=group_options),), order=22),
        BulkAction("group_remove", "Remove from a group",
                   lambda a, ids, p: counts(taxonomy.remove_from_group(a, ids, p["group_id"])),
                   (BulkField("group_id", "Group", options=group_options),), order=23),
        BulkAction("category", "Set the category",
                   lambda a, ids, p: counts(taxonomy.set_category(a, ids, p["category_id"] or None)),
                   (BulkField("category_id", "Category", options=category_options),), order=24),
    ]
