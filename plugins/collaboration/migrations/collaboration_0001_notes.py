"""collaboration: notes on contacts

Revision ID: collaboration_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "collaboration_0001"
down_revision = None
branch_labels = ("collaboration",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "collaboration_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_collaboration_notes_contact_id_contacts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name="fk_collaboration_notes_author_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_collaboration_notes"),
    )
    op.create_index("ix_collaboration_notes_contact", "collaboration_notes", ["contact_id", "deleted_at", "id"])


def downgrade():
    op.drop_index("ix_collaboration_notes_contact", table_name="collaboration_notes")
    op.drop_table("collaboration_notes")
