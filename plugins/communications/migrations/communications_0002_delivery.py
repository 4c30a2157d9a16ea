"""communications: delivery (channel, outbox and claim columns) and the status events table

Revision ID: communications_0002
Revises: communications_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "communications_0002"
down_revision = "communications_0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("channel", sa.String(length=50)),
    ("to_address", sa.String(length=320)),
    ("timezone", sa.String(length=64)),
    ("idempotency_key", sa.String(length=64)),
    ("next_attempt_at", sa.DateTime()),
    ("claim_token", sa.String(length=32)),
    ("claimed_at", sa.DateTime()),
    ("handover_at", sa.DateTime()),
    ("status_changed_at", sa.DateTime()),
    ("sent_at", sa.DateTime()),
    ("last_error", sa.Text()),
)


def upgrade():
    for name, type_ in COLUMNS:
        op.add_column("communications", sa.Column(name, type_, nullable=True))
    op.add_column("communications", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_communications_idempotency_key", "communications", ["idempotency_key"], unique=True)
    op.create_index("ix_communications_status_due", "communications", ["status", "next_attempt_at"])
    op.create_table(
        "communications_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("communication_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("old_status", sa.String(length=20), nullable=True),
        sa.Column("new_status", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["communication_id"], ["communications.id"],
            name="fk_communications_events_communication_id_communications", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_communications_events_actor_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_communications_events"),
    )
    op.create_index(
        "ix_communications_events_communication", "communications_events", ["communication_id", "id"]
    )


def downgrade():
    op.drop_index("ix_communications_events_communication", table_name="communications_events")
    op.drop_table("communications_events")
    op.drop_index("ix_communications_status_due", table_name="communications")
    op.drop_index("ix_communications_idempotency_key", table_name="communications")
    with op.batch_alter_table("communications") as batch:
        batch.drop_column("attempts")
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
