"""communications: consent (with history), contact preferences, message templates, list indexes

Revision ID: communications_0003
Revises: communications_0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "communications_0003"
down_revision = "communications_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "communications_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name="fk_communications_consents_contact_id_contacts",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"], name="fk_communications_consents_changed_by_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_communications_consents"),
        sa.UniqueConstraint("contact_id", "channel", name="uq_communications_consents_contact_channel"),
    )
    op.create_table(
        "communications_consent_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("previous_status", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name="fk_communications_consent_history_contact_id_contacts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["users.id"],
                                name="fk_communications_consent_history_changed_by_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_communications_consent_history"),
    )
    op.create_index("ix_communications_consent_history_contact", "communications_consent_history",
                    ["contact_id", "changed_at", "id"])
    op.create_table(
        "communications_preferences",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("preferred_channel", sa.String(length=50), nullable=True),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name="fk_communications_preferences_contact_id_contacts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name="fk_communications_preferences_updated_by_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("contact_id", name="pk_communications_preferences"),
    )
    op.create_table(
        "communications_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_team_id"], ["teams.id"], name="fk_communications_templates_owner_team_id_teams"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name="fk_communications_templates_created_by_id_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name="fk_communications_templates_updated_by_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_communications_templates"),
        sa.UniqueConstraint("owner_team_id", "name", name="uq_communications_templates_team_name"),
    )
    op.create_index("ix_communications_type_time", "communications", ["type", "scheduled_at", "id"])
    op.create_index("ix_communications_creator_time", "communications", ["created_by_id", "scheduled_at", "id"])


def downgrade():
    op.drop_index("ix_communications_creator_time", table_name="communications")
    op.drop_index("ix_communications_type_time", table_name="communications")
    op.drop_table("communications_templates")
    op.drop_table("communications_preferences")
    op.drop_index("ix_communications_consent_history_contact", table_name="communications_consent_history")
    op.drop_table("communications_consent_history")
    op.drop_table("communications_consents")
