"""A contact's richer record (core/models/details.py): title, birthday, notes, extra emails,
phones and URLs, postal addresses and a photo.

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-11-24 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0009"
down_revision = "core_0008"
branch_labels = None
depends_on = None


def _contact_fk(table):
    return sa.ForeignKeyConstraint(
        ["contact_id"], ["contacts.id"], name=op.f(f"fk_{table}_contact_id_contacts"), ondelete="CASCADE"
    )


def upgrade():
    op.create_table(
        "contact_details",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=True),
        _contact_fk("contact_details"),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_details")),
    )
    op.create_index("ix_contact_details_uid", "contact_details", ["uid"])
    op.create_table(
        "contact_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _contact_fk("contact_values"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_values")),
    )
    op.create_index("ix_contact_values_contact", "contact_values", ["contact_id", "kind", "position"])
    op.create_table(
        "contact_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=10), nullable=False),
        sa.Column("street", sa.String(length=500), nullable=False),
        sa.Column("locality", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("postcode", sa.String(length=40), nullable=False),
        sa.Column("country", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _contact_fk("contact_addresses"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_addresses")),
    )
    op.create_index("ix_contact_addresses_contact", "contact_addresses", ["contact_id", "position"])
    op.create_table(
        "contact_photos",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=50), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _contact_fk("contact_photos"),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_photos")),
    )


def downgrade():
    op.drop_table("contact_photos")
    op.drop_index("ix_contact_addresses_contact", table_name="contact_addresses")
    op.drop_table("contact_addresses")
    op.drop_index("ix_contact_values_contact", table_name="contact_values")
    op.drop_table("contact_values")
    op.drop_index("ix_contact_details_uid", table_name="contact_details")
    op.drop_table("contact_details")
