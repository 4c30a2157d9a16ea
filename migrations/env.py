"""The one Alembic environment: the core's branch and every enabled plugin's branch share it
and one version table.

``version_locations`` comes from the app (core/setup.py adds each enabled plugin's folder).
Autogenerate looks at the core's tables by default; ``-x plugin=<name>`` limits it to one
plugin's tables instead (tables named ``<name>`` or ``<name>_...``), so a revision never mixes
branches::

    flask --app core db revision --autogenerate --head core@head -m "..."
    flask --app core db -x plugin=planning revision --autogenerate --head planning@head -m "..."
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    # Only when nobody configured logging yet (the CLI); never under pytest, gunicorn or the app.
    fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

CORE_TABLES = frozenset(
    {
        "teams",
        "team_members",
        "users",
        "api_tokens",
        "contact_types",
        "contact_statuses",
        "organizations",
        "contacts",
        "audit_entries",
        "jobs",
        # issue 3: custom fields, templates, preferences, status history (core_0005)
        "custom_fields",
        "custom_field_values",
        "contact_templates",
        "contact_preferences",
        "contact_status_changes",
        "relationship_types",
        "relationships",
        "tags",
        "contact_tags",
        "contact_groups",
        "contact_group_members",
        "categories",
        "contact_details",
        "contact_values",
        "contact_addresses",
        "contact_photos",
        "duplicate_pairs",
        "merges",
        "saved_views",
        "contact_external_ids",
        "cache_stamps",  # versions of what pages show (core_0018)
    }
)


def belongs_to(table_name: str, plugin: str | None) -> bool:
    """Whether ``table_name`` is one of the core's tables (``plugin`` None) or the plugin's."""
    if plugin is None or plugin == "core":
        return table_name in CORE_TABLES
    return table_name == plugin or table_name.startswith(plugin + "_")


def _table_name(obj, type_) -> str | None:
    if type_ == "table":
        return obj.name
    table = getattr(obj, "table", None)
    return table.name if table is not None else None


# Full-text search objects made by raw DDL (core/services/search.py, revision core_0002), not by the
# models: the SQLite FTS5 tables with their shadow tables; PostgreSQL's generated tsvector columns
# on contacts and the GIN indexes.
SEARCH_OBJECTS = frozenset(
    {f"{table}{suffix}" for table in ("contacts_fts", "contacts_phone_fts", "organizations_fts")
     for suffix in ("", "_data", "_idx", "_docsize", "_config")}
    | {"ix_contacts_search", "ix_contacts_search_phone", "ix_organizations_search", "search_vector", "search_phone"}
)


def include_object(obj, name, type_, reflected, compare_to):
    if name in SEARCH_OBJECTS:
        return False
    plugin = context.get_x_argument(as_dictionary=True).get("plugin")
    table_name = _table_name(obj, type_)
    if table_name is None:
        return True
    if table_name == "alembic_version":
        return False
    return belongs_to(table_name, plugin)


def _engine():
    return current_app.extensions["migrate"].db.engine


def _metadata():
    db = current_app.extensions["migrate"].db
    return db.metadatas[None] if hasattr(db, "metadatas") else db.metadata


def run_migrations_offline():
    context.configure(
        url=_engine().url.render_as_string(hide_password=False),
        target_metadata=_metadata(),
        literal_binds=True,
        include_object=include_object,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(ctx, revision, directives):
        # No empty revision when autogenerate finds nothing to do.
        if getattr(config.cmd_opts, "autogenerate", False) and directives and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("include_object", include_object)
    # Batch mode rewrites tables on SQLite (which cannot ALTER most things) and is plain ALTER elsewhere.
    conf_args.setdefault("render_as_batch", True)
    conf_args.setdefault("compare_type", True)

    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
