"""communications: counts per team, month, channel and direction for the dashboard (rollup.py)

Revision ID: communications_0004
Revises: communications_0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "communications_0004"
down_revision = "communications_0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "communications_rollup",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name="fk_communications_rollup_team_id_teams",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "month", "type", "direction", name="pk_communications_rollup"),
    )
    # The existing communications, counted once (a frozen copy of rollup.backfill).
    bind = op.get_bind()
    month = "to_char(m.scheduled_at, 'YYYY-MM')" if bind.dialect.name == "postgresql" else "substr(m.scheduled_at, 1, 7)"
    op.execute(
        "INSERT INTO communications_rollup (team_id, month, type, direction, count) "
        f"SELECT c.owner_team_id, {month}, m.type, m.direction, count(*) "
        "FROM communications m JOIN contacts c ON c.id = m.contact_id WHERE c.deleted_at IS NULL "
        "GROUP BY 1, 2, 3, 4"
    )


def downgrade():
    op.drop_table("communications_rollup")
