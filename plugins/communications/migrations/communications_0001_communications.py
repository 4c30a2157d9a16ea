"""communications: the communications table (the contact timeline)

Revision ID: communications_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "communications_0001"
down_revision = None
branch_labels = ("communications",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "communications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_communications_contact_id_contacts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name="fk_communications_created_by_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_communications"),
    )
    op.create_index("ix_communications_contact_time", "communications", ["contact_id", "scheduled_at", "id"])
    op.create_index("ix_communications_time", "communications", ["scheduled_at", "id"])
    op.create_index("ix_communications_status_time", "communications", ["status", "scheduled_at"])


def downgrade():
    op.drop_index("ix_communications_status_time", table_name="communications")
    op.drop_index("ix_communications_time", table_name="communications")
    op.drop_index("ix_communications_contact_time", table_name="communications")
    op.drop_table("communications")
