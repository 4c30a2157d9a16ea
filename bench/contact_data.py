"""Custom-field values and relationships in the bench dataset, an admin for the full export, and
the communications rollup: added once to a dataset, new or reused (each step keyed by a row in
``bench_dataset``, so a 1M dataset built before them gains them without a rebuild).

- Four custom fields: "Tier" (a choice: gold, silver, bronze) on 30 % of the contacts, "Employees"
  (a number, log-uniform 1–10,000) on 60 %, "Renewal" (a date in 2026–2028) on 40 %, "Source"
  (a short text among twelve) on 50 %. Scenario: the list filtered by ``cf_tier=gold`` (~10 %).
- Typed relationships from the default types: "colleague of" on 4 % of the contacts (another
  contact of the same organization when it has one, else a nearby id), "spouse of" 1 %,
  "assistant of" 1 %, "board member of" an organization 0.5 %.
- ``bench-admin@bench.example.org`` (role admin, sees every contact) with an API token: the CSV
  export of every contact runs as this user (bench/transfer.py).
- ``communications_rollup`` filled from the loaded communications (plugins/communications/rollup.py).

Each random stream is its own (seed + 4, + 5), so the rest of the dataset does not change.
"""

from __future__ import annotations

import json
import math
import random
import time
from datetime import date, datetime, timedelta

from sqlalchemy import inspect, text

ADMIN_EMAIL = "bench-admin@bench.example.org"
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a bench-only user in bench data
FIELDS = [  # (key, label, kind, choices, share of the contacts)
    ("tier", "Tier", "choice", ["gold", "silver", "bronze"], 0.30),
    ("employees", "Employees", "number", [], 0.60),
    ("renewal", "Renewal", "date", [], 0.40),
    ("source", "Source", "text", [], 0.50),
]
SOURCES = ["web form", "trade fair", "referral", "cold call", "newsletter signup", "partner lead", "webinar",
           "conference Berlin", "LinkedIn", "walk-in", "support ticket", "old CRM"]
RELATIONS = [("colleague of", 0.04), ("spouse of", 0.01), ("assistant of", 0.01)]
BOARD = ("board member of", 0.005)
STAMP = "2026-01-01 00:00:00"
VALUE_COLS = ("id", "field_id", "contact_id", "value_text", "value_number", "value_date")
REL_COLS = ("id", "type_id", "contact_id", "other_contact_id", "organization_id", "note", "created_at", "updated_at")


def _done(conn, step: str) -> bool:
    return conn.execute(text("SELECT 1 FROM bench_dataset WHERE name = :n"), {"n": step}).first() is not None


def _mark(conn, step: str, value: dict) -> None:
    conn.execute(text("DELETE FROM bench_dataset WHERE name = :n"), {"n": step})
    conn.execute(text("INSERT INTO bench_dataset (name, value) VALUES (:n, :v)"), {"n": step, "v": json.dumps(value)})


def extend(engine, load_rows, params: dict, info: dict, log) -> bool:
    """Run the steps this dataset lacks (inside an app request context); True when ``info`` changed."""
    changed = False
    with engine.connect() as conn:
        done = {step: _done(conn, step) for step in ("contact_data", "admin", "rollup")}
    if not done["contact_data"]:
        info["contact_data_counts"] = _load_contact_data(engine, load_rows, params, log)
        changed = True
    if not done["admin"] or "admin" not in info:
        info["admin"] = _admin(engine)
        changed = True
    if not done["rollup"]:
        _rollup(engine, log)
    return changed


def _load_contact_data(engine, load_rows, params: dict, log) -> dict:
    from core.extensions import db
    from core.services import custom_search, relationship_types

    sqlite = engine.dialect.name == "sqlite"
    relationship_types.ensure_defaults()
    db.session.remove()
    tables = [db.metadata.tables[name] for name in ("custom_field_values", "relationships")]
    with engine.begin() as conn:  # a half-done earlier attempt is started again
        names = {ix["name"] for t in tables for ix in inspect(conn).get_indexes(t.name)}
        custom_search.uninstall(conn)
        for table in tables:
            for index in table.indexes:
                if index.name in names:
                    index.drop(conn)
        conn.execute(text("DELETE FROM custom_field_values"))
        conn.execute(text("DELETE FROM relationships"))
        keys = [key for key, *_ in FIELDS]
        conn.execute(text(f"DELETE FROM custom_fields WHERE key IN ({', '.join(repr(k) for k in keys)})"))
        for position, (key, label, kind, choices, _share) in enumerate(FIELDS, 1):
            conn.execute(text("INSERT INTO custom_fields (key, label, kind, required, choices, position, archived, "
                              "created_at, updated_at) VALUES (:k, :l, :kind, false, :c, :p, false, :s, :s)"),
                         {"k": key, "l": label, "kind": kind, "c": json.dumps(choices), "p": 100 + position,
                          "s": STAMP})
        field_ids = dict(conn.execute(text("SELECT key, id FROM custom_fields")).all())
        type_ids = {name: tid for name, tid in conn.execute(text("SELECT name, id FROM relationship_types"))}
        orgs = dict(conn.execute(text("SELECT id, organization_id FROM contacts WHERE organization_id IS NOT NULL")).all())
    counts = {"custom_field_values": load_rows(engine, "custom_field_values", VALUE_COLS,
                                               _numbered(_values(params, field_ids, sqlite)), log)}
    counts["relationships"] = load_rows(engine, "relationships", REL_COLS,
                                        _numbered(_relationships(params, type_ids, orgs, sqlite)), log)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for table in tables:
            for index in table.indexes:
                index.create(conn)
        custom_search.install(conn)
        if sqlite:
            conn.exec_driver_sql(f"INSERT INTO {custom_search.FTS_TABLE}({custom_search.FTS_TABLE}) VALUES ('rebuild')")
        else:
            for name in ("custom_fields", "custom_field_values", "relationships"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {name}))")
        _mark(conn, "contact_data", counts)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table.name}")
    log(f"  custom-field values and relationships indexed in {time.perf_counter() - t0:.1f} s")
    return counts


def _numbered(rows):
    return ((i, *row) for i, row in enumerate(rows, 1))


def _values(params: dict, field_ids: dict, sqlite: bool):
    rng = random.Random(params["seed"] + 4)
    rand = rng.random
    base = date(2026, 1, 1)
    tier, employees, renewal, source = (field_ids[key] for key, *_ in FIELDS)
    for cid in range(1, params["contacts"] + 1):
        if rand() < 0.30:
            yield (tier, cid, ("gold", "silver", "bronze")[int(rand() * 3)], None, None)
        if rand() < 0.60:
            yield (employees, cid, None, float(int(math.exp(rand() * math.log(10_000))) or 1), None)
        if rand() < 0.40:
            day = base + timedelta(days=int(rand() * 3 * 365))
            yield (renewal, cid, None, None, day.isoformat() if sqlite else day)
        if rand() < 0.50:
            yield (source, cid, SOURCES[int(rand() * len(SOURCES))], None, None)


def _relationships(params: dict, type_ids: dict, orgs: dict, sqlite: bool):
    rng = random.Random(params["seed"] + 5)
    n = params["contacts"]
    stamp = STAMP if sqlite else datetime(2026, 1, 1)
    by_org: dict[int, list[int]] = {}
    for cid, org in sorted(orgs.items()):
        by_org.setdefault(org, []).append(cid)
    for cid in range(1, n + 1):
        for name, share in RELATIONS:
            if rng.random() >= share:
                continue
            peers = by_org.get(orgs.get(cid), [])
            other = rng.choice(peers) if name == "colleague of" and len(peers) > 1 else \
                min(n, max(1, cid + rng.randrange(-1000, 1001)))
            if other != cid:
                yield (type_ids[name], cid, other, None, "", stamp, stamp)
        if params["orgs"] and rng.random() < BOARD[1]:
            yield (type_ids[BOARD[0]], cid, None, rng.randrange(1, params["orgs"] + 1), "", stamp, stamp)


def _admin(engine) -> dict:
    from core.extensions import db
    from core.models import User
    from core.services import accounts

    user = db.session.scalar(db.select(User).where(User.email == ADMIN_EMAIL))
    if user is None:
        user, _ = accounts.create_user(accounts.SYSTEM, {"email": ADMIN_EMAIL, "name": "Bench Admin", "role": "admin",
                                                         "team_ids": []}, password=ADMIN_PASSWORD)
    _token, raw = accounts.create_token(user, "bench export")
    db.session.commit()
    admin = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "id": user.id, "api_token": raw}
    db.session.remove()
    with engine.begin() as conn:
        _mark(conn, "admin", {"id": admin["id"]})
    return admin


def _rollup(engine, log) -> None:
    try:
        from plugins.communications import rollup
    except ImportError:
        return
    if "communications_rollup" not in inspect(engine).get_table_names():
        return
    t0 = time.perf_counter()
    with engine.begin() as conn:
        rows = rollup.backfill(conn)
        _mark(conn, "rollup", {"rows": rows})
    log(f"  communications_rollup: {rows:,} rows counted in {time.perf_counter() - t0:.1f} s")


# --- the scenario ----------------------------------------------------------------------------------


def scenarios(add, list_scenario, floor, skip) -> None:
    """The list filtered by a custom field (``/?cf_tier=gold``, a choice on ~10 % of the contacts)."""
    where = (" AND EXISTS (SELECT 1 FROM custom_field_values v WHERE v.contact_id = c.id AND v.field_id = ? "
             "AND v.value_text = ?)")
    field: list = []

    def field_id():
        if not field:
            found = floor.rows("SELECT id FROM custom_fields WHERE key = 'tier' AND NOT archived")
            field.append(found[0][0] if found else None)
        if field[0] is None:
            raise skip("the dataset has no custom field 'tier'")
        return field[0]

    def setup(c, notes):
        fid = field_id()
        share = floor.rows("SELECT count(*) FROM custom_field_values WHERE field_id = ? AND value_text = 'gold'", (fid,))
        notes.append(f"cf_tier=gold: {share[0][0]:,} contacts (all teams)")
        return list_scenario(c, {"cf_tier": "gold"}, where, (fid, "gold"), notes=notes)

    add("list: custom-field filter", "GET /?cf_tier=gold (a choice field; ~10 % of the contacts)", setup,
        lambda i: floor.list_page(where, (field_id(), "gold")))
