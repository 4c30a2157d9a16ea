"""PostgreSQL: partial indexes (sort_name, id), (created_at, id), (updated_at, id) WHERE
deleted_at IS NULL, so the contacts list walks its order instead of sorting every live contact
(see core/models/pg_list_indexes.py). Nothing on SQLite, whose (deleted_at, ...) indexes serve.

The DDL is a frozen copy of what pg_list_indexes.py builds for create_all.

Revision ID: core_0015
Revises: core_0014
Create Date: 2026-11-24 04:00:00

"""
from alembic import op

revision = "core_0015"
down_revision = "core_0014"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contacts_live_sort_pg": "(sort_name, id)",
    "ix_contacts_live_created_pg": "(created_at, id)",
    "ix_contacts_live_updated_pg": "(updated_at, id)",
}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, columns in INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON contacts {columns} WHERE deleted_at IS NULL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
