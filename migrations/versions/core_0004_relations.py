"""Hierarchy and typed relationships: organizations.parent_id, contacts.reports_to_id (each with
the index its children list walks), relationship_types (seeded) and relationships.

The new columns are added with plain ALTER TABLE ... ADD COLUMN (no batch copy on SQLite: the
full-text triggers of core_0002 stay attached to the tables).

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-11-24 00:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None

DEFAULT_TYPES = [
    ("contact", "manager of", "reports to"),
    ("contact", "spouse of", "spouse of"),
    ("contact", "assistant of", "has assistant"),
    ("contact", "colleague of", "colleague of"),
    ("organization", "board member of", "has board member"),
    ("organization", "advisor to", "has advisor"),
]


def _add_reference(table: str, column: str, target: str, name: str) -> None:
    """A nullable self-reference column with a named foreign key, without copying the table."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER CONSTRAINT {name} REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(name, table, target, [column], ["id"])


def upgrade():
    _add_reference("organizations", "parent_id", "organizations", "fk_organizations_parent_id_organizations")
    op.create_index("ix_organizations_parent_name", "organizations", ["parent_id", "deleted_at", "name_key", "id"])
    _add_reference("contacts", "reports_to_id", "contacts", "fk_contacts_reports_to_id_contacts")
    op.create_index("ix_contacts_reports_to_name", "contacts", ["reports_to_id", "deleted_at", "sort_name", "id"])

    types = op.create_table(
        "relationship_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("inverse_label", sa.String(length=100), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("target_kind IN ('contact', 'organization')", name="ck_relationship_types_target_kind"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationship_types")),
    )
    op.create_index("ix_relationship_types_kind_name", "relationship_types", ["target_kind", "name"], unique=True)
    op.create_table(
        "relationships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("other_contact_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(other_contact_id IS NULL) <> (organization_id IS NULL)", name="ck_relationships_one_target"),
        sa.CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
                           name="ck_relationships_dates"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_relationships_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_contact_id"], ["contacts.id"],
                                name=op.f("fk_relationships_other_contact_id_contacts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name=op.f("fk_relationships_organization_id_organizations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_relationships_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["type_id"], ["relationship_types.id"],
                                name=op.f("fk_relationships_type_id_relationship_types")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationships")),
    )
    op.create_index("ix_relationships_contact", "relationships", ["contact_id", "id"])
    op.create_index("ix_relationships_other_contact", "relationships", ["other_contact_id", "id"])
    op.create_index("ix_relationships_organization", "relationships", ["organization_id", "id"])
    op.create_index("ix_relationships_type", "relationships", ["type_id"])

    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(types, [
        {"name": name, "inverse_label": inverse, "target_kind": kind, "position": position, "active": True,
         "created_at": now, "updated_at": now}
        for position, (kind, name, inverse) in enumerate(DEFAULT_TYPES)
    ])


def downgrade():
    op.drop_table("relationships")
    op.drop_table("relationship_types")
    op.drop_index("ix_contacts_reports_to_name", table_name="contacts")
    op.drop_index("ix_organizations_parent_name", table_name="organizations")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a column that no index or constraint other than its REFERENCES uses.
        op.execute("ALTER TABLE contacts DROP COLUMN reports_to_id")
        op.execute("ALTER TABLE organizations DROP COLUMN parent_id")
    else:
        op.drop_constraint("fk_contacts_reports_to_id_contacts", "contacts", type_="foreignkey")
        op.drop_column("contacts", "reports_to_id")
        op.drop_constraint("fk_organizations_parent_id_organizations", "organizations", type_="foreignkey")
        op.drop_column("organizations", "parent_id")
