"""PostgreSQL: partial indexes (status | type | organization_id, sort_name, id) INCLUDE (owner_team_id)
WHERE deleted_at IS NULL, so the list filtered by one of them walks its order within the value (and
the lazy count reads the index alone) instead of walking every live contact or sorting the matches
(see core/models/pg_list_indexes.py). Nothing on SQLite, whose (value, deleted_at, sort_name, id)
indexes serve.

The DDL is a frozen copy of what pg_list_indexes.py builds for create_all.

Revision ID: core_0019
Revises: core_0017
Create Date: 2026-11-24 06:30:00

"""
from alembic import op

revision = "core_0019"
down_revision = "core_0017"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contacts_status_sort_pg": "(status, sort_name, id) INCLUDE (owner_team_id)",
    "ix_contacts_type_sort_pg": "(type, sort_name, id) INCLUDE (owner_team_id)",
    "ix_contacts_org_sort_pg": "(organization_id, sort_name, id) INCLUDE (owner_team_id)",
}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, columns in INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON contacts {columns} WHERE deleted_at IS NULL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
