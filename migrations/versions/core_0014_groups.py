"""Group members remember who added them (contact_group_members.added_by_id).

The planning plugin's contact lists became core groups (plugins/planning/migrations/
planning_0002_lists_on_groups.py moves their rows here); their members carried who added them,
so the core's membership table keeps that too instead of dropping it.

A plain ADD COLUMN on SQLite (no batch copy), with its foreign key inline.

Revision ID: core_0014
Revises: core_0012
Create Date: 2026-11-24 03:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0014"
down_revision = "core_0013"
branch_labels = None
depends_on = None

NAME = "fk_contact_group_members_added_by_id_users"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE contact_group_members ADD COLUMN added_by_id INTEGER CONSTRAINT {NAME} REFERENCES users (id)")
    else:
        op.add_column("contact_group_members", sa.Column("added_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(NAME, "contact_group_members", "users", ["added_by_id"], ["id"])


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE contact_group_members DROP COLUMN added_by_id")
    else:
        op.drop_constraint(NAME, "contact_group_members", type_="foreignkey")
        op.drop_column("contact_group_members", "added_by_id")
