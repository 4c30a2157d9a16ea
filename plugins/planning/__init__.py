"""The planning plugin.

Its static contact lists were the core's contact groups under another name (team-owned, many
contacts, the same permissions, paging, filter and bulk actions), so they became core groups
(the migration planning_0002 moved them). What stays here is planning's own: the old ``/planning``
addresses and ``?list=`` filters, which redirect to the groups, the list-to-group id map
they need, and the old bulk "list_add"/"list_remove" keys (not offered: they run bulk jobs queued
before the upgrade as group adds and removes). Segments, priorities and campaigns (PRD section 4) will live here.
"""

from pathlib import Path

from core import hookimpl

__version__ = "0.2.0"


@hookimpl
def contacts_blueprints(app):
    from .views import bp

    return [bp]


@hookimpl
def contacts_migration_dirs():
    return [str(Path(__file__).parent / "migrations")]


@hookimpl
def contacts_bulk_actions():
    from .services import retired_bulk_actions

    return retired_bulk_actions()
