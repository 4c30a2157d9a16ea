"""Imports: external ids of imported contacts (core/models/imports.py).

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-11-24 00:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0008"
down_revision = "core_0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_external_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_external_ids_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_external_ids")),
        sa.UniqueConstraint("source", "external_id", name="uq_contact_external_ids_source_external_id"),
    )
    with op.batch_alter_table("contact_external_ids", schema=None) as batch_op:
        batch_op.create_index("ix_contact_external_ids_contact", ["contact_id"], unique=False)


def downgrade():
    with op.batch_alter_table("contact_external_ids", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_external_ids_contact")
    op.drop_table("contact_external_ids")
