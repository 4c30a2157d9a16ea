"""The contacts' status, type and organization indexes carry the owner team at their end:
(value, deleted_at, sort_name, id, owner_team_id). The list's lazy count ("N matching", capped at
1,000: the ids of the visible contacts with that value) then reads the index alone instead of
each candidate row for its team; the list filtered by one of them skips the invisible rows in the
index too. SQLite at 1M contacts (the bench's member sees 2 of 8 teams), CPU per statement: the
count 3.9-4.6 ms -> 0.15-0.17 ms, the page's rows 0.060-0.066 -> 0.053 ms; an inserted contact
costs the same (357 against 368-376 µs: the same number of indexes, one integer wider). PostgreSQL
reads its partial covering indexes for both (core_0019) and gets the same definitions here, as
create_all makes them (core/models/contacts.py).

Revision ID: core_0021_list_count
Revises: core_0020_search_insert
Create Date: 2026-11-24 15:40:00

"""
from alembic import op

revision = "core_0021_list_count"
down_revision = "core_0020_search_insert"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contacts_status_name": "status",
    "ix_contacts_type_name": "type",
    "ix_contacts_org_name": "organization_id",
}


def _recreate(with_team: bool) -> None:
    for name, column in INDEXES.items():
        op.drop_index(name, table_name="contacts")
        columns = [column, "deleted_at", "sort_name", "id"] + (["owner_team_id"] if with_team else [])
        op.create_index(name, "contacts", columns)


def upgrade():
    _recreate(with_team=True)


def downgrade():
    _recreate(with_team=False)
