"""Search: the contact indexes are merged off the request path (SQLite only). FTS5's automerge is
turned off on ``contacts_fts`` and ``contacts_phone_fts``; the WAL checkpoint thread merges their
segments in small write transactions instead (core/services/search.py ``merge_some``,
core/checkpoints.py). With automerge the write that crossed each 64th leaf page merged ~700 pages
at 1M contacts (15-25 ms of CPU), about one contact create in 60. Nothing is rebuilt; PostgreSQL is
unchanged. The statements are a frozen copy of ``search.sqlite_automerge_off``; the downgrade
puts back FTS5's default (4).

Revision ID: core_0023_writes
Revises: core_0020_search_insert
Create Date: 2026-11-24 15:30:00

"""
from alembic import op

revision = "core_0023_writes"
down_revision = "core_0020_search_insert"
branch_labels = None
depends_on = None

TABLES = ("contacts_fts", "contacts_phone_fts")


def _automerge(value: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            op.execute(f"INSERT INTO {table}({table}, rank) VALUES('automerge', {value})")


def upgrade():
    _automerge(0)


def downgrade():
    _automerge(4)
