"""Audit trail: ``audit_entries.hash`` is no longer UNIQUE. A SHA-256 digest is as good as random,
so its unique index took one insert at a random place of a B-tree per audit entry, i.e. per write
of the whole application: at 1M contacts ~7 µs and 0.6 of the ~3.5 pages an import batch commits
per row (bench.import_floor replay). It guarded nothing the chain does not: each entry holds the
previous entry's hash inside its own digest, ``audit.verify`` walks the chain in id order and
reports an entry inserted, deleted, reordered or edited, and appends are serialized
(``database.lock_audit_chain``). Nothing looks an entry up by its hash.

SQLite rebuilds the table (batch mode); PostgreSQL drops the constraint. The downgrade puts it back.

Revision ID: core_0024_import_speed
Revises: core_0022_import_report
Create Date: 2026-11-24 15:45:00

"""
from alembic import op

revision = "core_0024_import_speed"
down_revision = "core_0022_import_report"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_entries_hash", type_="unique")


def downgrade():
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_audit_entries_hash", ["hash"])
