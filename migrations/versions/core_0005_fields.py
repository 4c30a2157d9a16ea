"""Custom fields and their values, contact templates, contact preferences, status history.

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-11-24 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0005"
down_revision = "core_0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "custom_field_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("value_text", sa.String(length=500), nullable=True),
        sa.Column("value_long", sa.Text(), nullable=True),
        sa.Column("value_number", sa.Float(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("value_bool", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["field_id"], ["custom_fields.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cfv_contact_field", "custom_field_values", ["contact_id", "field_id"])
    op.create_index("ix_cfv_field_text", "custom_field_values", ["field_id", "value_text", "contact_id"])
    op.create_index("ix_cfv_field_number", "custom_field_values", ["field_id", "value_number", "contact_id"])
    op.create_index("ix_cfv_field_date", "custom_field_values", ["field_id", "value_date", "contact_id"])
    op.create_index("ix_cfv_field_bool", "custom_field_values", ["field_id", "value_bool", "contact_id"])
    op.create_table(
        "contact_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("group_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_team_id"], ["teams.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "contact_preferences",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "key"),
    )
    op.create_table(
        "contact_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_status_changes_contact", "contact_status_changes", ["contact_id", "changed_at"])
    op.create_index("ix_status_changes_recent", "contact_status_changes", ["changed_at", "contact_id"])


def downgrade():
    op.drop_index("ix_status_changes_recent", table_name="contact_status_changes")
    op.drop_index("ix_status_changes_contact", table_name="contact_status_changes")
    op.drop_table("contact_status_changes")
    op.drop_table("contact_preferences")
    op.drop_table("contact_templates")
    for name in ("ix_cfv_field_bool", "ix_cfv_field_date", "ix_cfv_field_number", "ix_cfv_field_text", "ix_cfv_contact_field"):
        op.drop_index(name, table_name="custom_field_values")
    op.drop_table("custom_field_values")
    op.drop_table("custom_fields")
