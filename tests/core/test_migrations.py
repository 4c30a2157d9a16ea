"""The migrations build exactly the models' schema, on SQLite and PostgreSQL.

Each test migrates a database of its own (a new SQLite file, or a new PostgreSQL schema when
``CONTACTS_TEST_DATABASE_URL`` is set), so the session's test database is left alone.
"""

from __future__ import annotations

import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from core import create_app
from core.extensions import db
from core.models import pg_list_indexes
from core.services import custom_search, search, similar_search, tag_search
from tests import conftest
from tests.outside_plugin import support
from tests.outside_plugin.support import outside_plugin  # noqa: F401 - fixture

CORE_TABLES = {
    "teams", "team_members", "users", "api_tokens", "contact_types", "contact_statuses",
    "organizations", "contacts", "audit_entries", "jobs", "job_problems",
    "custom_fields", "custom_field_values", "contact_templates", "contact_preferences", "contact_status_changes",
    "relationship_types", "relationships",
    "tags", "contact_tags", "contact_groups", "contact_group_members", "categories",
    "contact_details", "contact_values", "contact_addresses", "contact_photos",
    "duplicate_pairs", "merges",  # duplicates and merge (core_0007)
    "saved_views",
    "contact_external_ids",
    "cache_stamps",  # core_0017
}
EVERYTHING = [*conftest.ALL_PLUGINS, support.NAME]


@pytest.fixture
def fresh_url(tmp_path):
    """A database URL nobody else uses."""
    base = conftest.TEST_DB
    if not base or not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    schema = f"mig_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def make_app(tmp_path_factory, fresh_url):
    made = []

    def make(plugins):
        app = create_app(conftest.test_config(tmp_path_factory, SQLALCHEMY_DATABASE_URI=fresh_url), plugins=plugins)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def script_of(app) -> ScriptDirectory:
    with app.app_context():
        return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def branch_labels(script: ScriptDirectory) -> set[str]:
    labels = set()
    for base in script.get_bases():
        labels.update(script.get_revision(base).branch_labels)
    return labels


def owner(table_name: str, labels) -> str | None:
    if table_name in CORE_TABLES:
        return "core"
    for label in labels:
        if label != "core" and (table_name == label or table_name.startswith(label + "_")):
            return label
    return None


SEARCH_OBJECTS = search.SEARCH_TABLES | set(search.PG_INDEXES) | set(search.PG_COLUMNS)  # raw DDL (core_0002)
SEARCH_OBJECTS |= tag_search.SEARCH_TABLES | {tag_search.PG_INDEX}  # raw DDL (core_0003)
SEARCH_OBJECTS |= custom_search.SEARCH_TABLES | {custom_search.PG_INDEX}  # raw DDL (core_0011)
SEARCH_OBJECTS |= {similar_search.PG_INDEX}  # raw DDL (core_0012)
SEARCH_OBJECTS |= set(pg_list_indexes.PG_INDEXES)  # raw DDL (core_0015)


def db_tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"} - SEARCH_OBJECTS


def schema_diff(labels) -> list:
    """alembic's comparison of the migrated database with the models of the given branches."""

    def include(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        if name in SEARCH_OBJECTS:
            return False
        if table is None:
            return True
        return table.name != "alembic_version" and owner(table.name, labels) is not None

    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False, "include_object": include}
        )
        return compare_metadata(context, db.metadata)


def test_core_tables_are_the_core_models():
    """The list above (and in migrations/env.py) stays in step with core/models."""
    import core.models  # noqa: F401

    core_tables = {t.name for t in db.metadata.sorted_tables if owner(t.name, []) == "core"}
    assert core_tables == CORE_TABLES


def test_core_alone_migrates_to_its_models(make_app):
    app = make_app([])
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        assert db_tables() == CORE_TABLES
        assert schema_diff(["core"]) == []


def test_all_plugins_migrate_to_the_models(make_app, outside_plugin):  # noqa: F811
    app = make_app(EVERYTHING)
    report = app.extensions["contacts_plugins"]
    assert {name: info.error for name, info in report.items() if info.error} == {}
    labels = branch_labels(script_of(app))
    assert labels == {"core", *conftest.ALL_PLUGINS, "birthdays"}
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        tables = db_tables()
        diff = schema_diff(labels)
    assert diff == [], "the migrations differ from the models:\n" + "\n".join(map(repr, diff))
    # every model table belongs to a branch, and each branch created exactly its tables
    unowned = {t.name for t in db.metadata.sorted_tables if owner(t.name, labels) is None}
    assert unowned == set(), "tables whose names match no branch (plugin tables start with the plugin name)"
    expected = {t.name for t in db.metadata.sorted_tables if owner(t.name, labels) is not None}
    assert tables == expected


def test_each_branch_has_one_head_and_plugins_depend_on_core(make_app, outside_plugin):  # noqa: F811
    script = script_of(make_app(EVERYTHING))
    labels = branch_labels(script)
    heads = script.get_heads()
    assert len(heads) == len(labels), f"heads {heads} for branches {labels}"
    for label in labels:
        (head,) = script.get_revisions(f"{label}@head")  # raises when a branch has several heads
        assert label in head.branch_labels
    core_revisions = {rev.revision for rev in script.walk_revisions("base", "core@head")}
    assert "core_0001" in core_revisions
    for label in labels - {"core"}:
        (first,) = [script.get_revision(b) for b in script.get_bases() if label in script.get_revision(b).branch_labels]
        assert first.revision == f"{label}_0001"
        assert first.down_revision is None
        depends = {first.dependencies} if isinstance(first.dependencies, str) else set(first.dependencies or ())
        assert depends & core_revisions, f"{label} must depend on a core revision"


def test_downgrading_one_plugin_removes_only_its_tables(make_app, outside_plugin):  # noqa: F811
    app = make_app(EVERYTHING)
    labels = branch_labels(script_of(app))
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        everything = db_tables()
        for label in sorted(labels - {"core"}):
            own = {name for name in everything if owner(name, labels) == label}
            assert own, f"{label} has no tables"
            flask_migrate.downgrade(revision=f"{label}@base")
            assert db_tables() == everything - own, label
            flask_migrate.upgrade(revision="heads")
            assert db_tables() == everything, label
        assert schema_diff(labels) == []


def test_core_0019_builds_the_filter_indexes_on_postgresql_only_and_drops_them(make_app):
    app = make_app([])
    wanted = {"ix_contacts_status_sort_pg", "ix_contacts_type_sort_pg", "ix_contacts_org_sort_pg"}
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"

        def built() -> dict:
            found = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("contacts")}
            return {name: found[name] for name in wanted & set(found)}

        flask_migrate.upgrade(revision="heads")
        assert set(built()) == (wanted if postgresql else set())
        for index in built().values():  # partial, in the list's order, carrying the owner team
            assert index["column_names"][1:] == ["sort_name", "id"]
            assert index["dialect_options"]["postgresql_include"] == ["owner_team_id"]
            assert "deleted_at IS NULL" in str(index["dialect_options"]["postgresql_where"])
        flask_migrate.downgrade(revision="core_0017")
        assert built() == {}
        flask_migrate.upgrade(revision="heads")
        assert set(built()) == (wanted if postgresql else set())


def test_core_0028_widens_the_live_sort_indexes_and_narrows_them_back(make_app):
    """The live contacts' sort indexes end in the owner team and the category at head (the list decides
    both in the index), and go back to (deleted_at, sort key, id) on a downgrade, on both databases."""
    app = make_app([])
    keys = {"ix_contacts_live_name": "sort_name", "ix_contacts_live_created": "created_at",
            "ix_contacts_live_updated": "updated_at"}
    with app.app_context():

        def columns() -> dict:
            return {ix["name"]: ix["column_names"] for ix in inspect(db.engine).get_indexes("contacts") if ix["name"] in keys}

        flask_migrate.upgrade(revision="heads")
        assert columns() == {name: ["deleted_at", key, "id", "owner_team_id", "category_id"] for name, key in keys.items()}
        flask_migrate.downgrade(revision="core_0026_write_rate")
        assert columns() == {name: ["deleted_at", key, "id"] for name, key in keys.items()}
        flask_migrate.upgrade(revision="heads")
        assert columns() == {name: ["deleted_at", key, "id", "owner_team_id", "category_id"] for name, key in keys.items()}
        assert schema_diff(["core"]) == []


def test_plain_upgrade_head_refuses_several_heads(make_app):
    """Why ``contacts db upgrade`` applies ``heads``: with plugins there are several."""
    app = make_app(conftest.ALL_PLUGINS)
    with app.app_context(), pytest.raises(SystemExit):
        flask_migrate.upgrade(revision="head")  # flask_migrate exits on alembic's "multiple heads"
