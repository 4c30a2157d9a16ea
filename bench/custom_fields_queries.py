"""Custom field and status-history queries at a million contacts, measured at the service level.

``python -m bench.custom_fields_queries [--contacts 1000000] [--path FILE]`` builds
(once) a SQLite database with N contacts, a number field set on 70% of them, a choice field on
50% (one option on 0.1%: a rare value) and one status change each, then times list pages sorted
and filtered by them (the SQL the contacts page and API run, without HTTP). Not part of the
HTTP benchmark (``python -m bench``); a check that the plans stay index walks.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta

NOW = "2026-01-01 00:00:00"


def build(path: str, n: int) -> None:
    from core.extensions import db
    from core.services import vocabulary

    db.create_all()
    vocabulary.ensure_defaults()
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")  # the search index is not measured here
    con.execute("INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'T', ?, ?)", (NOW, NOW))
    rnd = random.Random(1)

    def contacts():
        for i in range(1, n + 1):
            first, last = f"F{rnd.randrange(10**6)}", f"L{rnd.randrange(10**6)}"
            status = rnd.choice(["lead", "active", "inactive"])
            yield i, first, last, f"{last} {first}".lower(), "", "person", status, 1, 1, NOW, NOW

    con.executemany(
        "INSERT INTO contacts (id, first_name, last_name, sort_name, phone, type, status, owner_team_id, version,"
        " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", contacts())
    fields = "id, key, label, kind, required, choices, position, archived, created_at, updated_at"
    con.execute(f"INSERT INTO custom_fields ({fields}) VALUES (1,'size','Size','number',0,'[]',1,0,?,?)", (NOW, NOW))
    con.execute(f"INSERT INTO custom_fields ({fields}) VALUES (2,'tier','Tier','choice',0,"
                "'[\"gold\",\"silver\",\"rare\"]',2,0,?,?)", (NOW, NOW))
    con.executemany("INSERT INTO custom_field_values (field_id, contact_id, value_number) VALUES (1,?,?)",
                    ((i, rnd.randrange(100000)) for i in range(1, n + 1) if rnd.random() < 0.7))
    con.executemany("INSERT INTO custom_field_values (field_id, contact_id, value_text) VALUES (2,?,?)",
                    ((i, "rare" if rnd.random() < 0.002 else rnd.choice(["gold", "silver"]))
                     for i in range(1, n + 1) if rnd.random() < 0.5))
    base = datetime(2026, 1, 1)
    con.executemany(
        "INSERT INTO contact_status_changes (contact_id, from_status, to_status, reason, changed_at) VALUES (?,?,?,?,?)",
        ((i, None, "lead", "", (base + timedelta(minutes=rnd.randrange(500000))).isoformat(" ")) for i in range(1, n + 1)))
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()


class _Admin:
    id, role, team_ids, is_authenticated, is_active = 1, "admin", [1], True, True


def measure(repeat: int = 5) -> list[tuple[str, float, int]]:
    from core.services import contacts as service
    from core.services import custom_field_queries as queries
    from core.services import custom_fields
    from core.services.pagination import encode_cursor

    actor = _Admin()
    filters = {f.key: f for f in queries.search_filters()}
    fields = custom_fields.by_key()

    def by(key, value):
        return [lambda s: filters[key].apply(s, value)]

    def cond(key, op, *values):
        return [lambda s: s.where(queries.condition(fields[key], op, *values))]

    first = service.list_contacts(actor, sort="cf_size", limit=200)
    last_valued = service.list_contacts(actor, sort="cf_size", cursor=first.next_cursor)
    cases = {
        "sort cf_size, first page": dict(sort="cf_size"),
        "sort -cf_size, first page": dict(sort="-cf_size"),
        "sort cf_size, next page": dict(sort="cf_size", cursor=last_valued.next_cursor),
        "sort cf_size, the contacts without a size": dict(sort="cf_size", cursor=encode_cursor([2, "", 0])),
        "sort cf_tier, first page": dict(sort="cf_tier"),
        "filter tier=gold (25%), by name": dict(extra_filters=by("cf_tier", "gold")),
        "filter tier=rare (0.1%), by name": dict(extra_filters=by("cf_tier", "rare")),
        "filter tier=rare, sort cf_size": dict(sort="cf_size", extra_filters=by("cf_tier", "rare")),
        "size between 10 and 20, by name": dict(extra_filters=cond("size", "between", "10", "20")),
        "size empty, by name": dict(extra_filters=cond("size", "empty")),
        "status changed in the last day": dict(extra_filters=by("status_changed_days", "1")),
        "status changed in the last 90 days": dict(extra_filters=by("status_changed_days", "90")),
    }
    results = []
    for label, kwargs in cases.items():
        page = service.list_contacts(actor, **kwargs)
        start = time.perf_counter()
        for _ in range(repeat):
            service.list_contacts(actor, **kwargs)
        results.append((label, (time.perf_counter() - start) / repeat * 1000, len(page.items)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--path", default=os.path.join(tempfile.gettempdir(), "cf_bench.db"))
    args = parser.parse_args()
    from core import create_app

    fresh = not os.path.exists(args.path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{args.path}", "SECRET_KEY": "bench",
                      "CACHE_TYPE": "SimpleCache", "TESTING": True}, plugins=[])
    with app.app_context(), app.test_request_context():
        if fresh:
            build(args.path, args.contacts)
        print(f"| {args.contacts:,} contacts (SQLite) | ms per page | rows |\n|---|---:|---:|")
        for label, ms, rows in measure():
            print(f"| {label} | {ms:.2f} | {rows} |")


if __name__ == "__main__":
    main()
