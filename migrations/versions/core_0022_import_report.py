"""Every problem of a job, not only the first 1,000 (``jobs.errors``): ``job_problems`` holds each
one, with an import's original CSV row, so the downloadable report is the file's own rows with
Row and Problem columns, streamed (core/services/import_report.py).

Revision ID: core_0022_import_report
Revises: core_0021_list_count
Create Date: 2026-11-24 15:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "core_0022_import_report"
down_revision = "core_0021_list_count"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.BigInteger(), nullable=True),
        sa.Column("item", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_problems_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_problems")),
    )
    with op.batch_alter_table("job_problems", schema=None) as batch_op:
        batch_op.create_index("ix_job_problems_job_ref", ["job_id", "ref"], unique=False)


def downgrade():
    with op.batch_alter_table("job_problems", schema=None) as batch_op:
        batch_op.drop_index("ix_job_problems_job_ref")
    op.drop_table("job_problems")
