"""Tags, contact groups and categories; contacts.category_id; the tag-name search index.

The search DDL is a frozen copy of what core/services/tag_search.py builds for create_all (a test
compares the two); if that changes, write a new revision instead of editing this one.

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-11-24 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS tags_fts USING fts5(name, content='tags', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER IF NOT EXISTS tags_search_ai AFTER INSERT ON tags BEGIN INSERT INTO tags_fts(rowid, name) VALUES "
    "(NEW.id, NEW.name); END",
    "CREATE TRIGGER IF NOT EXISTS tags_search_ad AFTER DELETE ON tags BEGIN INSERT INTO tags_fts(tags_fts, rowid, "
    "name) VALUES ('delete', OLD.id, OLD.name); END",
    "CREATE TRIGGER IF NOT EXISTS tags_search_au AFTER UPDATE OF id, name ON tags WHEN OLD.name IS NOT NEW.name OR "
    "OLD.id IS NOT NEW.id BEGIN INSERT INTO tags_fts(tags_fts, rowid, name) VALUES ('delete', OLD.id, OLD.name); "
    "INSERT INTO tags_fts(rowid, name) VALUES (NEW.id, NEW.name); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tags_search_ai",
    "DROP TRIGGER IF EXISTS tags_search_ad",
    "DROP TRIGGER IF EXISTS tags_search_au",
    "DROP TABLE IF EXISTS tags_fts",
]
POSTGRESQL = ["CREATE INDEX IF NOT EXISTS ix_tags_search ON tags USING gin (contacts_search_org_vector(name))"]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS ix_tags_search"]


def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_key", sa.String(length=50), nullable=False),
        sa.Column("color", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name_key", name=op.f("uq_tags_name_key")),
    )
    op.create_table(
        "contact_tags",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_contact_tags_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_contact_tags_tag_id_tags"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "tag_id", name=op.f("pk_contact_tags")),
    )
    op.create_index("ix_contact_tags_tag_contact", "contact_tags", ["tag_id", "contact_id"])
    op.create_table(
        "contact_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_contact_groups_created_by_id_users")),
        sa.ForeignKeyConstraint(["owner_team_id"], ["teams.id"], name=op.f("fk_contact_groups_owner_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_groups")),
    )
    op.create_index("uq_contact_groups_team_name", "contact_groups", ["owner_team_id", "name_key"], unique=True)
    op.create_index("ix_contact_groups_name", "contact_groups", ["name_key", "id"])
    op.create_table(
        "contact_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_contact_group_members_contact_id_contacts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["contact_groups.id"],
                                name=op.f("fk_contact_group_members_group_id_contact_groups"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "contact_id", name=op.f("pk_contact_group_members")),
    )
    op.create_index("ix_contact_group_members_group_added", "contact_group_members", ["group_id", "added_at", "contact_id"])
    op.create_index("ix_contact_group_members_contact", "contact_group_members", ["contact_id", "group_id"])
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["categories.id"], name=op.f("fk_categories_parent_id_categories")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
    )
    op.create_index(op.f("ix_categories_parent_id"), "categories", ["parent_id"])
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # A plain ADD COLUMN (batch mode would rebuild contacts and lose its search triggers).
        op.execute("ALTER TABLE contacts ADD COLUMN category_id INTEGER "
                   "CONSTRAINT fk_contacts_category_id_categories REFERENCES categories (id)")
    else:
        op.add_column("contacts", sa.Column("category_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_contacts_category_id_categories"), "contacts", "categories",
                              ["category_id"], ["id"])
    op.create_index("ix_contacts_category_name", "contacts", ["category_id", "deleted_at", "sort_name", "id"])
    if conn.dialect.name == "sqlite":
        for sql in SQLITE:
            op.execute(sql)
    elif conn.dialect.name == "postgresql":
        for sql in POSTGRESQL:
            op.execute(sql)


def downgrade():
    conn = op.get_bind()
    for sql in {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(conn.dialect.name, []):
        op.execute(sql)
    op.drop_index("ix_contacts_category_name", table_name="contacts")
    if conn.dialect.name == "sqlite":
        op.execute("ALTER TABLE contacts DROP COLUMN category_id")
    else:
        op.drop_constraint(op.f("fk_contacts_category_id_categories"), "contacts", type_="foreignkey")
        op.drop_column("contacts", "category_id")
    op.drop_index(op.f("ix_categories_parent_id"), table_name="categories")
    op.drop_table("categories")
    op.drop_index("ix_contact_group_members_contact", table_name="contact_group_members")
    op.drop_index("ix_contact_group_members_group_added", table_name="contact_group_members")
    op.drop_table("contact_group_members")
    op.drop_index("ix_contact_groups_name", table_name="contact_groups")
    op.drop_index("uq_contact_groups_team_name", table_name="contact_groups")
    op.drop_table("contact_groups")
    op.drop_index("ix_contact_tags_tag_contact", table_name="contact_tags")
    op.drop_table("contact_tags")
    op.drop_table("tags")
