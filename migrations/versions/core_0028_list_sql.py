"""The live contacts' sort indexes (``ix_contacts_live_name`` / ``_created`` / ``_updated``) carry the
owner team and the category at their end: (deleted_at, sort key, id, owner_team_id, category_id).
A list page walks one of them in its order; SQLite then decides the permission condition (the
member's teams) and a category condition in the index, and reads a contact's row only for the
ones that pass, and a per-row probe (a common tag or group, a custom-field value: EXISTS on
contacts.id) runs without reading the row at all. SQLite at 1M contacts (the bench's member sees
2 of 8 teams), libsqlite3 instructions a list page: group 3.33 -> 2.47 M, category subtree 2.46 ->
1.50, custom field 5.70 -> 4.14, common tag 1.96 -> 1.58, builder OR 1.98 -> 1.62; with a cold
SQLite cache the page statement reads 97-386 pages of the file instead of 520-1,331. An inserted
contact costs the same (the same indexes, two integers wider); the three indexes grow by 10 MB.

PostgreSQL gets the same definitions, as create_all makes them (core/models/contacts.py); its list
walks its partial indexes (core_0015, core_0019).

Revision ID: core_0028_list_sql
Revises: core_0026_write_rate
Create Date: 2026-11-24 22:00:00

"""
from alembic import op

revision = "core_0028_list_sql"
down_revision = "core_0026_write_rate"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_contacts_live_name": "sort_name",
    "ix_contacts_live_created": "created_at",
    "ix_contacts_live_updated": "updated_at",
}


def _recreate(covering: bool) -> None:
    for name, column in INDEXES.items():
        op.drop_index(name, table_name="contacts")
        columns = ["deleted_at", column, "id"] + (["owner_team_id", "category_id"] if covering else [])
        op.create_index(name, "contacts", columns)


def upgrade():
    _recreate(covering=True)


def downgrade():
    _recreate(covering=False)
