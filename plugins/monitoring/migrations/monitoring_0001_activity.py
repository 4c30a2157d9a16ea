"""monitoring: the activity feed table

Revision ID: monitoring_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "monitoring_0001"
down_revision = None
branch_labels = ("monitoring",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "monitoring_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_monitoring_activity_actor_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_activity"),
    )
    op.create_index("ix_monitoring_activity_contact", "monitoring_activity", ["contact_id", "id"])
    op.create_index("ix_monitoring_activity_team", "monitoring_activity", ["owner_team_id", "id"])
    op.create_index("ix_monitoring_activity_actor", "monitoring_activity", ["actor_id", "id"])
    op.create_index("ix_monitoring_activity_entity", "monitoring_activity", ["entity_type", "id"])


def downgrade():
    op.drop_index("ix_monitoring_activity_entity", table_name="monitoring_activity")
    op.drop_index("ix_monitoring_activity_actor", table_name="monitoring_activity")
    op.drop_index("ix_monitoring_activity_team", table_name="monitoring_activity")
    op.drop_index("ix_monitoring_activity_contact", table_name="monitoring_activity")
    op.drop_table("monitoring_activity")
