"""Duplicates and merge: contacts.merged_into_id, candidate pairs, merge records.

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-11-24 00:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0007"
down_revision = "core_0006"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with its foreign key: a batch copy of "contacts" on SQLite would trip over
    # the full-text search view and triggers that read it (and copy a million rows).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE contacts ADD COLUMN merged_into_id INTEGER "
            "CONSTRAINT fk_contacts_merged_into_id_contacts REFERENCES contacts (id)"
        )
    else:
        op.add_column(
            "contacts",
            sa.Column(
                "merged_into_id", sa.Integer(),
                sa.ForeignKey("contacts.id", name=op.f("fk_contacts_merged_into_id_contacts")), nullable=True,
            ),
        )
    op.create_table(
        "duplicate_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("a_id", sa.Integer(), nullable=False),
        sa.Column("b_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["a_id"], ["contacts.id"], name=op.f("fk_duplicate_pairs_a_id_contacts")),
        sa.ForeignKeyConstraint(["b_id"], ["contacts.id"], name=op.f("fk_duplicate_pairs_b_id_contacts")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_duplicate_pairs_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_pairs")),
        sa.UniqueConstraint("a_id", "b_id", name="uq_duplicate_pairs_a_b"),
    )
    with op.batch_alter_table("duplicate_pairs", schema=None) as batch_op:
        batch_op.create_index("ix_duplicate_pairs_queue", ["status", "score", "id"], unique=False)
        batch_op.create_index("ix_duplicate_pairs_b", ["b_id"], unique=False)
    op.create_table(
        "merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("undo", sa.JSON(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_merges_actor_id_users")),
        sa.ForeignKeyConstraint(["source_id"], ["contacts.id"], name=op.f("fk_merges_source_id_contacts")),
        sa.ForeignKeyConstraint(["target_id"], ["contacts.id"], name=op.f("fk_merges_target_id_contacts")),
        sa.ForeignKeyConstraint(["undone_by_id"], ["users.id"], name=op.f("fk_merges_undone_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.create_index("ix_merges_target", ["target_id", "id"], unique=False)
        batch_op.create_index("ix_merges_source", ["source_id", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.drop_index("ix_merges_source")
        batch_op.drop_index("ix_merges_target")
    op.drop_table("merges")
    with op.batch_alter_table("duplicate_pairs", schema=None) as batch_op:
        batch_op.drop_index("ix_duplicate_pairs_b")
        batch_op.drop_index("ix_duplicate_pairs_queue")
    op.drop_table("duplicate_pairs")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_contacts_merged_into_id_contacts"), "contacts", type_="foreignkey")
    op.drop_column("contacts", "merged_into_id")  # SQLite >= 3.35 drops a column in place
