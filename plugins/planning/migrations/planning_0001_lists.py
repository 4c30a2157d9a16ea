"""planning: contact lists and their members

Revision ID: planning_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "planning_0001"
down_revision = None
branch_labels = ("planning",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "planning_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_team_id"], ["teams.id"], name="fk_planning_lists_owner_team_id_teams"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name="fk_planning_lists_created_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_planning_lists"),
        sa.UniqueConstraint("owner_team_id", "name_key", name="uq_planning_lists_team_name"),
    )
    op.create_index("ix_planning_lists_name", "planning_lists", ["name_key", "id"])
    op.create_table(
        "planning_list_members",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["planning_lists.id"], name="fk_planning_list_members_list_id_planning_lists", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_planning_list_members_contact_id_contacts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name="fk_planning_list_members_added_by_id_users"),
        sa.PrimaryKeyConstraint("list_id", "contact_id", name="pk_planning_list_members"),
    )
    op.create_index("ix_planning_list_members_contact_id", "planning_list_members", ["contact_id"])
    op.create_index(
        "ix_planning_list_members_list_added", "planning_list_members", ["list_id", "added_at", "contact_id"]
    )


def downgrade():
    op.drop_index("ix_planning_list_members_list_added", table_name="planning_list_members")
    op.drop_index("ix_planning_list_members_contact_id", table_name="planning_list_members")
    op.drop_table("planning_list_members")
    op.drop_index("ix_planning_lists_name", table_name="planning_lists")
    op.drop_table("planning_lists")
