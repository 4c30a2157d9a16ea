"""Search (SQLite): the contact indexes (``contacts_fts``, ``contacts_phone_fts``) merge their
segments when a level holds 8 of them, not FTS5's default 4: the merges ran inside whichever
write crossed FTS5's work unit and were the tail of single creates at 1M contacts
(core/services/search.py ``CONTACT_INDEX_AUTOMERGE``). A setting in each table's ``_config``: no
rebuild. PostgreSQL: nothing. The downgrade puts the default back.

The statements are a frozen copy of what core/services/search.py ``sqlite_settings`` gives.

Revision ID: core_0026_write_rate
Revises: core_0024_import_speed
Create Date: 2026-11-24 19:10:00

"""
from alembic import op

revision = "core_0026_write_rate"
down_revision = "core_0024_import_speed"
branch_labels = None
depends_on = None

TABLES = ("contacts_fts", "contacts_phone_fts")


def _automerge(value: int) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table in TABLES:
        if bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).first():
            op.execute(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', {value})")


def upgrade():
    _automerge(8)


def downgrade():
    _automerge(4)
