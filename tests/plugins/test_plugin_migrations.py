"""Each plugin's hand-written revisions create exactly what its models declare.

Runs the revisions in order on a scratch database (a fresh SQLite file, or a scratch PostgreSQL schema)
holding every other table, then asks Alembic's autogenerate for differences on this plugin's
tables: there must be none, and foreign keys must carry the naming convention's names.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from itertools import pairwise
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import create_engine, inspect, text

from core.extensions import db
from tests.conftest import TEST_DB

ROOT = Path(__file__).resolve().parents[2] / "plugins"
BRANCHES = {
    "collaboration": {"collaboration_notes"},
    "monitoring": {"monitoring_activity"},
    "planning": {"planning_legacy_lists"},  # its lists became core groups (planning_0002)
}


@pytest.fixture(params=sorted(BRANCHES))
def branch(request):
    return request.param, BRANCHES[request.param], ROOT / request.param / "migrations"


def _revisions(branch) -> list:
    plugin, _, folder = branch
    modules = []
    for path in sorted(folder.glob(f"{plugin}_0*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


@pytest.fixture
def scratch_engine(app, tmp_path, branch):
    if not TEST_DB:
        engine = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"mig_{branch[0]}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(TEST_DB)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(TEST_DB, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_revision_metadata(branch):
    plugin, _, folder = branch
    revision, *later = _revisions(branch)
    assert revision.revision == f"{plugin}_0001" and revision.down_revision is None
    assert revision.branch_labels == (plugin,) and revision.depends_on == "core_0001"
    assert not (folder / "__init__.py").exists()
    for before, after in pairwise([revision, *later]):  # the branch is one chain
        assert after.down_revision == before.revision and not after.branch_labels


def test_migration_matches_models(scratch_engine, branch):
    tables = branch[1]
    revisions = _revisions(branch)
    others = [t for t in db.metadata.sorted_tables if t.name not in tables]
    with scratch_engine.begin() as conn:
        db.metadata.create_all(conn, tables=others)
        with Operations.context(MigrationContext.configure(conn)):
            for revision in revisions:
                revision.upgrade()
    with scratch_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_object": lambda obj, name, kind, reflected, compare_to: (
                kind != "table" or name in tables) and (kind == "table" or obj.table.name in tables),
        })
        assert compare_metadata(context, db.metadata) == []
        inspector = inspect(conn)
        for table in tables:
            reflected = {(fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                          (fk.get("options") or {}).get("ondelete")) for fk in inspector.get_foreign_keys(table)}
            declared = {(fk.name, tuple(c.name for c in fk.columns), fk.referred_table.name, fk.ondelete)
                        for fk in db.metadata.tables[table].foreign_key_constraints}
            assert reflected == declared
            assert inspector.get_pk_constraint(table)["name"] in (f"pk_{table}", None)  # SQLite drops pk names
    with scratch_engine.begin() as conn:
        with Operations.context(MigrationContext.configure(conn)):
            for revision in reversed(revisions):
                revision.downgrade()
        assert not tables & set(inspect(conn).get_table_names())
