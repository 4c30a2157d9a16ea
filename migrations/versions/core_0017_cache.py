"""Version stamps for conditional GETs of contact pages and panels (core/models/stamps.py).

Revision ID: core_0017
Revises: core_0016
Create Date: 2026-11-24 03:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0017"
down_revision = "core_0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cache_stamps",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cache_stamps")),
    )


def downgrade():
    op.drop_table("cache_stamps")
