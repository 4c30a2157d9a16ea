"""The core's hook implementations for contact details: the merge contract for the detail rows
(a contact's vCard UID is an external id: core/import_hooks.py moves it). Registered in
core/plugins.py new_manager()."""

import pluggy

hookimpl = pluggy.HookimplMarker("contacts")


@hookimpl
def contacts_contacts_merged(target, source, actor):
    from .services import details_merge

    record = details_merge.repoint(target, source, actor)
    return {details_merge.UNDO_KEY: record} if record else None


@hookimpl
def contacts_contacts_unmerged(target, source, actor, undo):
    from .services import details_merge

    details_merge.unrepoint(target, source, actor, (undo or {}).get(details_merge.UNDO_KEY))
