"""PostgreSQL only: partial indexes that give the contacts list its order among live contacts.

The list reads ``WHERE deleted_at IS NULL ... ORDER BY sort_name, id LIMIT 51``. SQLite walks
``ix_contacts_live_name (deleted_at, sort_name, id)`` for that; PostgreSQL does not (``IS NULL`` is
no equality to it, so the index gives no order after it) and read and sorted every live contact
instead: 250-320 ms a page at 1M contacts, and a very common tag or custom value (EXISTS probed
per row, core/services/taxonomy.py) 540 ms. With these, 0.4 ms and 12 ms (see the commit that added
them for how it was measured). Built by create_all (core/models/contacts.py) and by core_0015 and core_0019.
"""

from __future__ import annotations

PG_INDEXES = {
    "ix_contacts_live_sort_pg": "(sort_name, id)",
    "ix_contacts_live_created_pg": "(created_at, id)",
    "ix_contacts_live_updated_pg": "(updated_at, id)",
    # The list filtered by status, type or organization (core_0019): the same walk within the one
    # value, a keyset page starting inside the index; the owner team is carried along so the lazy
    # count (ids of visible contacts, capped) reads the index alone. At 200,000 contacts: a page
    # 0.7-5.7 ms -> 0.1-0.25 ms, the count 3-7 ms -> 0.3 ms (EXPLAIN ANALYZE; see the commit).
    "ix_contacts_status_sort_pg": "(status, sort_name, id) INCLUDE (owner_team_id)",
    "ix_contacts_type_sort_pg": "(type, sort_name, id) INCLUDE (owner_team_id)",
    "ix_contacts_org_sort_pg": "(organization_id, sort_name, id) INCLUDE (owner_team_id)",
}


def postgresql_ddl() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {name} ON contacts {columns} WHERE deleted_at IS NULL"
            for name, columns in PG_INDEXES.items()]


def install(conn) -> None:
    if conn.dialect.name == "postgresql":
        for sql in postgresql_ddl():
            conn.exec_driver_sql(sql)
