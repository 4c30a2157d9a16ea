"""Tags, groups and categories in the bench dataset, and their list scenarios.

Loaded by generate._build right after the contacts (while the contacts' indexes are dropped):
- 40 tags: "customer" on 30 % of the contacts, "newsletter" on 5 %, "golf club" on 0.1 %, and
  about 20 % with one of the 37 others;
- 10 groups owned by the member's teams: "Key accounts" with 20 % of the contacts, "Board" with 0.1 %;
- a category tree of 20 (3 levels), 80 % of the contacts in one of them.
"""

from __future__ import annotations

import random
import time

from sqlalchemy import text

TAGS = ["customer", "newsletter", "golf club"] + [f"topic {i:02d}" for i in range(37)]
SHARES = {1: 0.30, 2: 0.05, 3: 0.001}  # tag id -> share of the contacts
OTHERS = 0.20
GROUPS = ["Key accounts", "Board"] + [f"Group {i}" for i in range(8)]
CATEGORIES = [  # (id, name, parent id)
    (1, "Suppliers", None), (2, "Food", 1), (3, "Bakers", 2), (4, "Butchers", 2), (5, "Tools", 1),
    (6, "Customers", None), (7, "Retail", 6), (8, "Wholesale", 6), (9, "Online", 7), (10, "Shops", 7),
    (11, "Partners", None), (12, "Agencies", 11), (13, "Press", None), (14, "Local", 13), (15, "National", 13),
    (16, "Public sector", None), (17, "Schools", 16), (18, "Hospitals", 16), (19, "Other", None), (20, "Archive", 19),
]
NOW = "2026-01-01 00:00:00"
COLORS = ["gray", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink"]


def load(engine, load_rows, params: dict, team_ids: list[int], log) -> dict:
    """Insert the taxonomy rows (``load_rows(engine, table, cols, rows, log)`` is generate._load)."""
    rng = random.Random(params["seed"] + 3)
    n = params["contacts"]
    now = NOW if engine.dialect.name == "sqlite" else None
    from datetime import datetime

    stamp = now or datetime(2026, 1, 1)
    counts = {"tags": load_rows(engine, "tags", ("id", "name", "name_key", "color", "created_at", "updated_at"),
                                ((i, name, name, COLORS[i % len(COLORS)], stamp, stamp)
                                 for i, name in enumerate(TAGS, 1)), log)}

    def contact_tags():
        for cid in range(1, n + 1):
            seen = set()
            for tag_id, share in SHARES.items():
                if rng.random() < share:
                    seen.add(tag_id)
                    yield (cid, tag_id)
            if rng.random() < OTHERS:
                tag_id = rng.randrange(4, len(TAGS) + 1)
                if tag_id not in seen:
                    yield (cid, tag_id)

    counts["contact_tags"] = load_rows(engine, "contact_tags", ("contact_id", "tag_id"), contact_tags(), log)
    counts["contact_groups"] = load_rows(
        engine, "contact_groups", ("id", "name", "name_key", "description", "owner_team_id", "created_at", "updated_at"),
        ((i, name, name.lower(), "", team_ids[i % len(team_ids)], stamp, stamp) for i, name in enumerate(GROUPS, 1)), log)

    def members():
        for cid in range(1, n + 1):
            if rng.random() < 0.20:
                yield (1, cid, stamp)
            if rng.random() < 0.001:
                yield (2, cid, stamp)
            if rng.random() < 0.02:
                yield (rng.randrange(3, len(GROUPS) + 1), cid, stamp)

    counts["contact_group_members"] = load_rows(engine, "contact_group_members", ("group_id", "contact_id", "added_at"),
                                                members(), log)
    counts["categories"] = load_rows(
        engine, "categories", ("id", "name", "name_key", "parent_id", "position", "created_at", "updated_at"),
        ((i, name, name.lower(), parent, 0, stamp, stamp) for i, name, parent in CATEGORIES), log)
    t0 = time.perf_counter()
    with engine.begin() as conn:  # 80 % of the contacts get a category; the rest none
        conn.execute(text("UPDATE contacts SET category_id = (id % 25) + 1 WHERE id % 25 < 20"))  # text(): % escaped for psycopg
        if engine.dialect.name == "postgresql":
            for name in ("tags", "contact_groups", "categories"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {name}))")
    log(f"  contacts.category_id set in {time.perf_counter() - t0:.1f} s")
    return counts


def scenarios(add, list_scenario, floor) -> None:
    """The list filtered by a tag (common and rare), a group and a category subtree; the search for
    a tag's name. Each is checked against its SQL floor like the other list scenarios."""
    tag_where = " AND EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = c.id AND ct.tag_id = ?)"
    group_where = " AND EXISTS (SELECT 1 FROM contact_group_members gm WHERE gm.contact_id = c.id AND gm.group_id = ?)"
    subtree = (1, 2, 3, 4, 5)  # Suppliers and its subcategories
    category_where = f" AND c.category_id IN ({', '.join('?' for _ in subtree)})"
    rare_where = " AND c.id IN (SELECT ct.contact_id FROM contact_tags ct WHERE ct.tag_id = ?)"  # read them, sort
    cases = [
        ("list: tag filter, common", "GET /?tag=1 (30 % of the contacts)", {"tag": 1}, tag_where, (1,)),
        ("list: tag filter, rare", "GET /?tag=3 (0.1 % of the contacts)", {"tag": 3}, rare_where, (3,)),
        ("list: group filter", "GET /?group=1 (20 % of the contacts)", {"group": 1}, group_where, (1,)),
        ("list: category subtree", "GET /?category=1 (a category with 4 subcategories)", {"category": 1},
         category_where, subtree),
    ]
    for name, description, query, where, params in cases:
        add(name, description,
            lambda c, notes, q=query, w=where, p=params: list_scenario(c, q, w, p, notes=notes),
            lambda i, w=where, p=params: floor.list_page(w, p))
