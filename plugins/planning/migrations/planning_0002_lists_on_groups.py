"""planning: static contact lists become core contact groups

Each list becomes a group of the same team (same name, or "<name> (list)" when the team already
has a group of that name), its members become the group's members (added_at and added_by kept),
``planning_legacy_lists`` remembers each old list id for the ``/planning/lists/<id>`` redirects,
saved views filtering on ``list=<id>`` filter on the group instead, and the two list tables go.

The downgrade is the way back: the groups that were lists become lists again, with their old ids
and their members as they are now, and leave the group tables.

Revision ID: planning_0002
Revises: planning_0001
Create Date: 2026-11-24
"""

import importlib.util
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from alembic import op

from plugins.planning.legacy import GROUP_KEY, LIST_KEY, rewrite_query, uses_lists

revision = "planning_0002"
down_revision = "planning_0001"
branch_labels = None
depends_on = "core_0014"  # contact_group_members.added_by_id

MAX_NAME = 200


def _named_set(name: str):
    """A list and a group have the same columns (which is why one became the other)."""
    return sa.table(
        name, sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_key", sa.String),
        sa.column("description", sa.Text), sa.column("owner_team_id", sa.Integer),
        sa.column("created_by_id", sa.Integer), sa.column("created_at", sa.DateTime), sa.column("updated_at", sa.DateTime),
    )


lists, groups = _named_set("planning_lists"), _named_set("contact_groups")
list_members = sa.table(
    "planning_list_members", sa.column("list_id", sa.Integer), sa.column("contact_id", sa.Integer),
    sa.column("added_at", sa.DateTime), sa.column("added_by_id", sa.Integer),
)
group_members = sa.table(
    "contact_group_members", sa.column("group_id", sa.Integer), sa.column("contact_id", sa.Integer),
    sa.column("added_at", sa.DateTime), sa.column("added_by_id", sa.Integer),
)
legacy = sa.table("planning_legacy_lists", sa.column("list_id", sa.Integer), sa.column("group_id", sa.Integer))
views = sa.table("saved_views", sa.column("id", sa.Integer), sa.column("query", sa.Text))
COLUMNS = ("name", "description", "owner_team_id", "created_by_id", "created_at", "updated_at")


def _first_revision():
    path = next(Path(__file__).parent.glob("planning_0001_*.py"))
    spec = importlib.util.spec_from_file_location("planning_0001_for_downgrade", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (list)``, ``name (list 2)``... the first one the team has not got."""
    candidate, n = name, 1
    while candidate.lower() in taken:
        suffix = " (list)" if n == 1 else f" (list {n})"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        n += 1
    taken.add(candidate.lower())
    return candidate


def _rewrite_views(conn, lookup, **how) -> None:
    for view_id, query in conn.execute(sa.select(views.c.id, views.c.query)).all():
        pairs = parse_qsl(query or "", keep_blank_values=True)
        if uses_lists(pairs, how.get("old", LIST_KEY)):
            new = urlencode(rewrite_query(pairs, lookup, **how))
            if new != query:
                conn.execute(views.update().where(views.c.id == view_id).values(query=new))


def upgrade():
    conn = op.get_bind()
    op.create_table(
        "planning_legacy_lists",
        sa.Column("list_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["contact_groups.id"], name="fk_planning_legacy_lists_group_id_contact_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", name="pk_planning_legacy_lists"),
        sa.UniqueConstraint("group_id", name="uq_planning_legacy_lists_group_id"),
    )
    taken: dict[int, set[str]] = {}
    for team_id, key in conn.execute(sa.select(groups.c.owner_team_id, groups.c.name_key)):
        taken.setdefault(team_id, set()).add(key)
    mapping: dict[int, int] = {}
    for row in conn.execute(sa.select(lists).order_by(lists.c.id)).mappings().all():
        values = {name: row[name] for name in COLUMNS}
        values["name"] = _free_name(row["name"], taken.setdefault(row["owner_team_id"], set()))
        values["name_key"] = values["name"].lower()
        group_id = conn.execute(groups.insert().values(**values).returning(groups.c.id)).scalar_one()
        mapping[row["id"]] = group_id
    if mapping:
        conn.execute(legacy.insert(), [{"list_id": k, "group_id": v} for k, v in mapping.items()])
    conn.execute(group_members.insert().from_select(
        ["group_id", "contact_id", "added_at", "added_by_id"],
        sa.select(legacy.c.group_id, list_members.c.contact_id, list_members.c.added_at, list_members.c.added_by_id)
        .join(legacy, legacy.c.list_id == list_members.c.list_id),
    ))
    _rewrite_views(conn, mapping.get)
    _first_revision().downgrade()  # the list tables, now empty of anything not copied


def downgrade():
    conn = op.get_bind()
    _first_revision().upgrade()
    mapping = dict(conn.execute(sa.select(legacy.c.group_id, legacy.c.list_id)).all())
    if mapping:
        rows = conn.execute(sa.select(legacy.c.list_id, *(groups.c[name] for name in COLUMNS))
                            .join(groups, groups.c.id == legacy.c.group_id)).mappings().all()
        conn.execute(lists.insert(), [{"id": r["list_id"], "name_key": r["name"].lower(),
                                       **{name: r[name] for name in COLUMNS}} for r in rows])
        conn.execute(list_members.insert().from_select(
            ["list_id", "contact_id", "added_at", "added_by_id"],
            sa.select(legacy.c.list_id, group_members.c.contact_id, group_members.c.added_at, group_members.c.added_by_id)
            .join(legacy, legacy.c.group_id == group_members.c.group_id),
        ))
        if conn.dialect.name == "postgresql":  # ids were given: the next list must not reuse one
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('planning_lists', 'id'), "
                                 "(SELECT max(id) FROM planning_lists))")
        _rewrite_views(conn, mapping.get, old=GROUP_KEY, new=LIST_KEY, unknown=None)
        ids = list(mapping)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            conn.execute(group_members.delete().where(group_members.c.group_id.in_(chunk)))
            conn.execute(groups.delete().where(groups.c.id.in_(chunk)))
    op.drop_table("planning_legacy_lists")
