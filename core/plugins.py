"""Discovering, choosing and loading plugins.

Plugins are found through the ``contacts.plugins`` entry-point group. Each one is imported and
registered in isolation: one that fails is logged, listed on the admin page and skipped, and the
app still starts. ``pm.check_pending()`` makes a misspelt hook name fail loudly.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy
from flask import current_app

from . import hookspecs

log = logging.getLogger(__name__)
GROUP = "contacts.plugins"
hookimpl = pluggy.HookimplMarker("contacts")


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str = ""
    enabled: bool = False
    error: str = ""
    traceback: str = field(default="", repr=False)


def installed() -> dict[str, PluginInfo]:
    """Every plugin declared through the entry-point group, by name."""
    found = {}
    for ep in entry_points(group=GROUP):
        version = ep.dist.version if ep.dist is not None else ""
        found[ep.name] = PluginInfo(name=ep.name, module=ep.value, version=version)
    return found


def new_manager() -> pluggy.PluginManager:
    from . import (
        builtin_hooks,
        contact_data_hooks,
        details_hooks,
        import_hooks,
        merge_hooks,
        relations_hooks,
        taxonomy_hooks,
    )

    pm = pluggy.PluginManager("contacts")
    pm.add_hookspecs(hookspecs)
    pm.register(builtin_hooks, name="core")
    pm.register(contact_data_hooks, name="core_contact_data")  # custom fields, preferences, status history
    pm.register(relations_hooks, name="core_relations")  # hierarchy, relationships
    pm.register(taxonomy_hooks, name="core_taxonomy")  # tags, groups, categories
    pm.register(details_hooks, name="core_details")  # extra emails/phones, addresses, photo
    pm.register(merge_hooks, name="core_merge")  # duplicates, merge and undo
    pm.register(import_hooks, name="core_imports")  # CSV import job, external ids through merges
    return pm


def load(pm: pluggy.PluginManager, wanted: list | None) -> dict[str, PluginInfo]:
    """Register the wanted plugins (``None``: every installed one) on ``pm``.

    ``wanted`` holds names of installed plugins, or module objects / dotted paths for plugins
    that are not installed through entry points (handy in tests).
    """
    available = installed()
    if wanted is None:
        wanted = list(available)
    report: dict[str, PluginInfo] = {}
    for item in wanted:
        if isinstance(item, str) and item in available:
            info = available[item]
            target = info.module
        elif isinstance(item, str):
            info = PluginInfo(name=item, module=item)
            target = item
        else:  # a module object
            info = PluginInfo(name=item.__name__.rsplit(".", 1)[-1], module=item.__name__)
            target = item
        report[info.name] = info
        module = None
        try:
            module = importlib.import_module(target) if isinstance(target, str) else target
            info.version = info.version or getattr(module, "__version__", "")
            pm.register(module, name=info.name)
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not stop the app
            if module is not None and pm.is_registered(module):
                pm.unregister(module)
            _failed(info, exc)
            continue
        info.enabled = True
    _add_plugin_hookspecs(pm, report)
    _check_hook_names(pm, report)
    return report


def _failed(info: PluginInfo, exc: BaseException) -> None:
    info.enabled = False
    info.error = f"{type(exc).__name__}: {exc}"
    info.traceback = "".join(traceback.format_exception(exc))
    log.error("plugin %s failed to load and was skipped: %s", info.name, info.error)


def _by_module(pm, report):
    return {pm.get_name(p): p for p in pm.get_plugins() if pm.get_name(p) in report}


def _add_plugin_hookspecs(pm, report) -> None:
    """Plugins may declare hooks of their own (``contacts_hookspecs``) for other plugins."""
    for name, plugin in _by_module(pm, report).items():
        impl = getattr(plugin, "contacts_hookspecs", None)
        if impl is None:
            continue
        try:
            for spec_module in impl() or []:
                pm.add_hookspecs(spec_module)
        except Exception as exc:  # noqa: BLE001
            pm.unregister(plugin)
            _failed(report[name], exc)


def _check_hook_names(pm, report) -> None:
    """A misspelt or unknown hook name fails loudly: the plugin is reported and skipped."""
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            plugin = exc.plugin
            name = pm.get_name(plugin)
            pm.unregister(plugin)
            if name in report:
                _failed(report[name], exc)
            else:  # pragma: no cover - only plugins we registered can be pending
                raise


def call_each(pm, report, hookname: str, apply=None, **kwargs) -> list:
    """Call a setup hook plugin by plugin, so that one plugin raising is reported and skipped
    (unregistered) instead of stopping the app. ``apply(result)`` runs inside the same guard
    (e.g. registering the returned blueprints). Returns the results of the plugins that passed."""
    results = []
    for impl in reversed(getattr(pm.hook, hookname).get_hookimpls()):
        name = impl.plugin_name
        try:
            result = impl.function(**{k: kwargs[k] for k in impl.argnames})
            if apply is not None:
                apply(result)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the app
            if name not in report:  # the core's own hooks fail loudly
                raise
            pm.unregister(impl.plugin)
            _failed(report[name], exc)
            continue
        results.append(result)
    return results


def hook():
    """The hook relay of the current app's plugin manager."""
    return current_app.extensions["contacts_pm"].hook


def implementations(caller) -> tuple:
    """Which functions implement the hook ``caller`` (a relay's attribute, e.g.
    ``hook().contacts_nav_items``): part of the key of an answer kept across calls, so a plugin
    registered later gives a new answer."""
    return tuple(id(impl.function) for impl in caller.get_hookimpls())


def collect(results) -> list:
    """Flatten a hook's list-of-lists answer, skipping ``None``."""
    out = []
    for r in results:
        if r:
            out.extend(r)
    return out


def records_changed(entity_type: str, items, actor) -> None:
    """Announce a committed batch of changes of one record type: ``contacts_records_changed`` once
    for the plugins that implement it, ``contacts_record_changed`` per item for the others (a
    plugin is never told twice). ``items``: ``(entity_id, action, changes)`` triples."""
    items = list(items)
    if not items:
        return
    pm = current_app.extensions["contacts_pm"]
    batch = pm.hook.contacts_records_changed
    takers = [impl.plugin for impl in batch.get_hookimpls()]
    if takers:
        batch(entity_type=entity_type, items=items, actor=actor)
    single = pm.subset_hook_caller("contacts_record_changed", remove_plugins=takers) if takers else pm.hook.contacts_record_changed
    if single.get_hookimpls():
        for entity_id, action, changes in items:
            single(entity_type=entity_type, entity_id=entity_id, action=action, actor=actor, changes=changes)


def record_changed(entity_type: str, entity_id, action: str, actor, changes: dict) -> None:
    """Announce a change of one audited record from inside its ``transaction()``: plugins that
    implement ``contacts_record_written`` write with it now (their rows share the change's commit);
    the others hear ``contacts_record_changed`` once it is committed (a plugin is never told twice)."""
    from .database import after_commit, in_write, transaction

    pm = current_app.extensions["contacts_pm"]
    kwargs = {"entity_type": entity_type, "entity_id": entity_id, "action": action, "actor": actor,
              "changes": changes}
    writing = pm.hook.contacts_record_written
    if writing.get_hookimpls():
        if in_write():
            writing(**kwargs)
        else:
            with transaction():
                writing(**kwargs)
    after = _after_commit_listeners(pm)
    if after.get_hookimpls():
        after_commit(lambda: after(**kwargs))


def _after_commit_listeners(pm):
    """``contacts_record_changed`` minus the plugins that implement ``contacts_record_written``
    (kept on the manager: the set changes only when a plugin is registered or unregistered)."""
    takers = tuple(impl.plugin for impl in pm.hook.contacts_record_written.get_hookimpls())
    key = (takers, tuple(impl.plugin for impl in pm.hook.contacts_record_changed.get_hookimpls()))
    memo = getattr(pm, "_contacts_after_commit_listeners", None)
    if memo is None or memo[0] != key:
        caller = pm.subset_hook_caller("contacts_record_changed", remove_plugins=takers) if takers else pm.hook.contacts_record_changed
        memo = (key, caller)
        pm._contacts_after_commit_listeners = memo
    return memo[1]
