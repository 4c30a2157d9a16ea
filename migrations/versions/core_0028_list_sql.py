"""The live contacts' sort indexes (``ix_contacts_live_name`` / ``_created`` / ``_updated``) carry the
owner team and the category at their end: (deleted_at, sort key, id, owner_team_id, category_id).
A list page walks one of them in its order; SQLite then decides the permission condition (the
member's teams) and a category condition in the index, and reads a contact's row only for the
ones that pass, and a per-row probe (a common tag or group, a custom-field value: EXISTS on
contacts.id) runs without reading the row at all. Measurements in the commit that added this.

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
