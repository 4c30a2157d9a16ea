"""birthdays: one birthday per contact

Revision ID: birthdays_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "birthdays_0001"
down_revision = None
branch_labels = ("birthdays",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "birthdays_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_birthdays_dates_contact_id_contacts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_birthdays_dates"),
        sa.UniqueConstraint("contact_id", name="uq_birthdays_dates_contact_id"),
    )
    op.create_index("ix_birthdays_dates_day", "birthdays_dates", ["day"])


def downgrade():
    op.drop_index("ix_birthdays_dates_day", table_name="birthdays_dates")
    op.drop_table("birthdays_dates")
