"""Build (or reuse) the benchmark dataset inside the app's own schema.

    python -m bench.generate                 # 1,000,000 contacts, 50,000 orgs, 10,000,000 communications
    python -m bench.generate --small         # 10,000 contacts, 100,000 communications
    python -m bench.generate --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The schema comes from ``core.create_app(plugins=[all four])`` and ``db.create_all()``; the few
rows that need the product's rules (vocabularies, teams, the member user, the API token) are
written through the services; the bulk rows are written with SQLAlchemy's ``exec_driver_sql``
executemany in batches of 20,000 (SQLite) or COPY (PostgreSQL), with the secondary indexes
dropped during the load and rebuilt after it, then ANALYZE (PostgreSQL: VACUUM (ANALYZE) at the end and
on every reuse, as autovacuum would). The columns the services maintain are
filled the same way: ``sort_name`` = "last first" lower-cased, ``email_key`` = lower(email),
``name_key`` = lower(name), ``version`` = 1.

A dataset is reused while its parameters match: they are kept in ``<data dir>/<key>/dataset.json``
and in a ``bench_dataset`` table inside the database (both must agree, so a database emptied by
someone else is rebuilt).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import shutil
import sys
import time
import unicodedata
from bisect import bisect_right
from datetime import datetime, timedelta
from pathlib import Path

from . import contact_data, names, taxonomy

GENERATOR_VERSION = 3  # 3: contacts.reports_to_id (reporting lines)
SEED = 20261123
PLUGINS = ["communications", "planning", "monitoring", "collaboration"]
MEMBER_EMAIL = "member@bench.example.org"
MEMBER_PASSWORD = "bench-member-password"  # noqa: S105 - a bench-only user in bench data
TEAMS = [  # (name, share of the records); the member belongs to the first two
    ("Sales", 0.30), ("Support", 0.15), ("Marketing", 0.10), ("Partners", 0.10),
    ("Berlin", 0.10), ("Paris", 0.10), ("Madrid", 0.08), ("Tokyo", 0.07),
]
MEMBER_TEAMS = ("Sales", "Support")
TYPES = [("person", 50), ("customer", 30), ("supplier", 10), ("partner", 10)]
STATUSES = [("active", 60), ("lead", 25), ("inactive", 15)]
COMM_TYPES = [("email", 45), ("call", 25), ("meeting", 12), ("sms", 8), ("chat", 7), ("letter", 3)]
COMM_PAST_STATUSES = [("logged", 50), ("sent", 25), ("delivered", 20), ("failed", 3), ("bounced", 2)]
NOW = datetime(2026, 11, 1, 12, 0, 0)  # fixed, so the same seed gives the same rows on any day
SPAN = timedelta(days=3 * 365)
BATCH = 20_000
LOAD_CACHE_KB = 1_000_000  # SQLite page cache while loading and indexing (the machine has 24 GB)
HEAVY_CONTACTS = 5

DEFAULT = {"contacts": 1_000_000, "orgs": 50_000, "communications": 10_000_000}
SMALL = {"contacts": 10_000, "orgs": 500, "communications": 100_000}
BENCH_ROOT = Path(__file__).resolve().parent


def params_for(contacts: int, orgs: int, communications: int, seed: int = SEED) -> dict:
    return {"generator": GENERATOR_VERSION, "seed": seed, "contacts": contacts, "orgs": orgs,
            "communications": communications}


def dataset_key(database_url: str | None, params: dict) -> str:
    if not database_url or database_url.startswith("sqlite"):
        if database_url:
            digest = hashlib.sha256(database_url.encode()).hexdigest()[:8]
            return f"sqlite-{digest}"
        return f"sqlite-{params['contacts']}-{params['orgs']}-{params['communications']}"
    return "pg-" + hashlib.sha256(database_url.encode()).hexdigest()[:10]


def environment(data_dir: Path, database_url: str | None, params: dict) -> dict:
    """The CONTACTS_* variables that point the app (and the server) at this dataset."""
    folder = (data_dir / dataset_key(database_url, params)).resolve()
    url = database_url or f"sqlite:///{folder / 'contacts.db'}"
    return {
        "CONTACTS_INSTANCE_PATH": str(folder / "instance"),
        "CONTACTS_DATABASE_URL": url,
        "CONTACTS_PLUGINS": ",".join(PLUGINS),
        "CONTACTS_LOGIN_RATE_LIMIT": "1000 per minute",
    }


# --- random helpers --------------------------------------------------------------------------


def _cum(weights) -> list[float]:
    return list(itertools.accumulate(weights))


def _picker(rng: random.Random, items, cum: list[float]):
    """A fast weighted choice: ``items[bisect(cum, random() * total)]`` (what random.choices does, minus
    its per-call overhead)."""
    items, total, rand = list(items), cum[-1], rng.random
    last = len(items) - 1

    def pick():
        return items[min(bisect_right(cum, rand() * total), last)]

    return pick


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return _cum(1.0 / (rank + 1) ** s for rank in range(n))


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _typo(rng: random.Random, word: str) -> str:
    """A near-duplicate spelling: a swapped, dropped or doubled letter, or a case slip."""
    if len(word) < 3:
        return word.upper() if rng.random() < 0.5 else word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word.lower()


def _ts(dt: datetime, sqlite: bool):
    # SQLAlchemy's SQLite DateTime storage format, so the app reads back exactly what it writes.
    return dt.isoformat(" ", "microseconds") if sqlite else dt


# --- the rows --------------------------------------------------------------------------------


class Rows:
    """Generates every bulk row from one seeded RNG, in a fixed order."""

    def __init__(self, params: dict, team_ids: dict, member_id: int, sqlite: bool):
        self.p = params
        self.rng = random.Random(params["seed"])
        self.team_ids = [team_ids[name] for name, _ in TEAMS]
        self.team_cum = _cum(share for _, share in TEAMS)
        self.member_teams = {team_ids[name] for name in MEMBER_TEAMS}
        self.member_id = member_id
        self.sqlite = sqlite
        self.locales = [
            (code, cc, domains, names.split(first), names.split(last))
            for code, _, cc, domains, first, last in names.LOCALES
        ]
        self.locale_cum = _cum(share for _, share, *_ in names.LOCALES)
        self.first_cum = [_zipf(len(loc[3]), 0.8) for loc in self.locales]
        self.last_cum = [_zipf(len(loc[4]), 1.0) for loc in self.locales]
        self.visible: list[int] = []  # live contacts the member may see
        self.contact_team: bytearray | None = None

    def organizations(self):
        rng, n = self.rng, self.p["orgs"]
        for org_id in range(1, n + 1):
            code, cc, _domains, _first, last = self.locales[rng.choices(range(len(self.locales)), self.locale_cum)[0]]
            if rng.random() < 0.6:
                base = rng.choice(last)
            else:
                base = f"{rng.choice(names.ORG_WORDS)} {rng.choice(names.ORG_WORDS)}"
            name = f"{base} {rng.choice(names.ORG_SUFFIXES[code])}"
            created = NOW - SPAN + SPAN * (org_id / (n + 1))
            slug = _ascii(base) or f"org{org_id}"
            team = self.team_ids[rng.choices(range(len(self.team_ids)), cum_weights=self.team_cum)[0]]
            phone = f"+{cc}{rng.randrange(10**8, 10**9)}" if rng.random() < 0.7 else ""
            yield (org_id, name, name.lower(), f"https://{slug}.example.com" if rng.random() < 0.6 else "", phone,
                   "", team, 1, None, None, _ts(created, self.sqlite), _ts(created, self.sqlite))

    def contacts(self):
        rng, n, sqlite = self.rng, self.p["contacts"], self.sqlite
        rand = rng.random
        pick_org = _picker(rng, range(1, self.p["orgs"] + 1), _zipf(self.p["orgs"], 0.9)) if self.p["orgs"] else None
        firsts: list[str] = []
        lasts: list[str] = []
        seen: dict[str, int] = {}
        self.contact_team = bytearray(n + 1)
        pick_locale = _picker(rng, range(len(self.locales)), self.locale_cum)
        pick_first = [_picker(rng, loc[3], cum) for loc, cum in zip(self.locales, self.first_cum, strict=True)]
        pick_last = [_picker(rng, loc[4], cum) for loc, cum in zip(self.locales, self.last_cum, strict=True)]
        pick_type = _picker(rng, [k for k, _ in TYPES], _cum(w for _, w in TYPES))
        pick_status = _picker(rng, [k for k, _ in STATUSES], _cum(w for _, w in STATUSES))
        pick_team = _picker(rng, self.team_ids, self.team_cum)
        boss_of = _reporting_lines(random.Random(self.p["seed"] + 2))  # its own stream: the rest stays as it was
        for cid in range(1, n + 1):
            li = pick_locale()
            _code, cc, domains, _first_names, _last_names = self.locales[li]
            if cid > 100 and rand() < 0.02:  # a near-duplicate of an earlier contact
                j = rng.randrange(len(firsts))
                first, last = firsts[j], lasts[j]
                if rand() < 0.5:
                    first = _typo(rng, first)
                else:
                    last = _typo(rng, last)
            else:
                first = pick_first[li]()
                last = pick_last[li]()
            firsts.append(first)
            lasts.append(last)
            email = None
            if rand() < 0.88:
                base = f"{_ascii(first)}.{_ascii(last)}".strip(".") or "contact"
                count = seen.get(base, 0) + 1
                seen[base] = count
                local = base if count == 1 else f"{base}{count}"
                email = f"{local}@{domains[int(rand() * len(domains))]}"
            phone = ""
            if rand() < 0.8:
                digits = 10 if cc == "1" else 9
                phone = f"+{cc}{rng.randrange(10 ** (digits - 1) * 2, 10**digits)}"
            org = pick_org() if pick_org and rand() < 0.7 else None
            team = pick_team()
            created = NOW - SPAN + SPAN * (cid / (n + 1))
            updated = created + (NOW - created) * (rand() ** 3)
            deleted = updated if rand() < 0.01 else None
            if deleted is None and team in self.member_teams:
                self.visible.append(cid)
                self.contact_team[cid] = 1
            yield (
                cid, first, last, f"{last} {first}".strip().lower(), email, email.lower() if email else None, phone,
                org, pick_type(), pick_status(), team, 1, _ts(deleted, sqlite) if deleted else None,
                self.member_id if deleted else None, _ts(created, sqlite), _ts(updated, sqlite), boss_of(cid, org),
            )

    def pick_heavy(self) -> list[int]:
        rng = random.Random(self.p["seed"] + 1)
        pool = self.visible[len(self.visible) // 10:] or self.visible
        return sorted(rng.sample(pool, min(HEAVY_CONTACTS, len(pool))))

    def communications(self, heavy: list[int], has_comm: bytearray):
        rng, n, sqlite, total = self.rng, self.p["contacts"], self.sqlite, self.p["communications"]
        heavy_each = min(5000, max(20, total // 50)) if heavy else 0
        heavy_total = min(total, heavy_each * len(heavy))
        perm = list(range(1, n + 1))
        rng.shuffle(perm)  # popularity independent of id order
        pick_type = _picker(rng, [k for k, _ in COMM_TYPES], _cum(w for _, w in COMM_TYPES))
        pick_status = _picker(rng, [k for k, _ in COMM_PAST_STATUSES], _cum(w for _, w in COMM_PAST_STATUSES))
        span_s = SPAN.total_seconds()
        subjects, contents = names.SUBJECTS, names.CONTENT
        rand = rng.random
        for comm_id in range(1, total + 1):
            if comm_id <= heavy_total:
                contact = heavy[(comm_id - 1) // heavy_each]
            else:
                contact = perm[int(n * rand() ** 1.5)]
            has_comm[contact] = 1
            if rand() < 0.02:
                when = NOW + timedelta(seconds=rand() * 30 * 86400)
                status = "scheduled"
            else:
                when = NOW - timedelta(seconds=rand() * span_s)
                status = pick_status()
            kind = pick_type()
            ts = _ts(when, sqlite)
            yield (comm_id, contact, kind, "inbound" if rand() < 0.35 else "outbound", subjects[int(rand() * 20)],
                   contents[int(rand() * 8)], status, ts, self.member_id, ts, ts)


def _reporting_lines(rng: random.Random):
    """``boss_of(contact id, org)``: 85 % of an organization's contacts report to an earlier one of the
    same organization, most to its first few (a bushy top, some long chains), so org charts have
    levels of every size. Earlier ids only: no cycle."""
    members: dict[int, list[int]] = {}

    def boss_of(cid: int, org):
        if org is None:
            return None
        seen = members.setdefault(org, [])
        boss = seen[int(len(seen) * rng.random() ** 3)] if seen and rng.random() < 0.85 else None
        seen.append(cid)
        return boss

    return boss_of


CONTACT_COLS = ("id", "first_name", "last_name", "sort_name", "email", "email_key", "phone", "organization_id", "type",
                "status", "owner_team_id", "version", "deleted_at", "deleted_by_id", "created_at", "updated_at",
                "reports_to_id")
ORG_COLS = ("id", "name", "name_key", "website", "phone", "notes", "owner_team_id", "version", "deleted_at",
            "deleted_by_id", "created_at", "updated_at")
COMM_COLS = ("id", "contact_id", "type", "direction", "subject", "content", "status", "scheduled_at",
             "created_by_id", "created_at", "updated_at")


# --- loading ---------------------------------------------------------------------------------


def _batches(rows, size=BATCH):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fillers(table, cols) -> dict:
    """Values for the columns the generator does not know (plugins add columns over time): the
    column's Python-side default, or a zero value for a NOT NULL column without any default."""
    from sqlalchemy import Boolean, DateTime, Integer, Numeric

    out = {}
    for column in table.columns:
        if column.name in cols or column.server_default is not None:
            continue
        default = column.default
        if default is not None and default.is_scalar:
            out[column.name] = default.arg
        elif default is not None and default.is_callable:
            try:
                out[column.name] = default.arg(None)
            except TypeError:
                out[column.name] = default.arg()
        elif not column.nullable:
            kind = column.type
            out[column.name] = (False if isinstance(kind, Boolean) else 0 if isinstance(kind, Integer | Numeric)
                                else NOW if isinstance(kind, DateTime) else "")
    return out


def _load(engine, table: str, cols, rows, log) -> int:
    from core.extensions import db

    started, count = time.perf_counter(), 0
    fillers = _fillers(db.metadata.tables[table], cols)
    if fillers:
        sqlite = engine.dialect.name == "sqlite"
        extra = tuple(_ts(v, sqlite) if isinstance(v, datetime) else v for v in fillers.values())
        cols = (*cols, *fillers)
        rows = (row + extra for row in rows)
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            raw.driver_connection.commit()
        finally:
            raw.close()
    else:
        # The driver's executemany on the pooled connection: twice SQLAlchemy Core's insert() rate here.
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
        raw = engine.raw_connection()
        try:
            conn = raw.driver_connection
            conn.execute("PRAGMA synchronous=OFF")  # a crash mid-load only means "rebuild"
            # The unique email index takes random inserts: with the app's 32 MB page cache the
            # load slows to ~12k rows/s at a million contacts; 1 GB keeps it in memory.
            conn.execute(f"PRAGMA cache_size=-{LOAD_CACHE_KB}")
            conn.execute("BEGIN")
            for batch in _batches(rows):
                conn.executemany(sql, batch)
                count += len(batch)
            conn.execute("COMMIT")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-32000")
        finally:
            raw.close()
    secs = time.perf_counter() - started
    log(f"  {table}: {count:,} rows in {secs:.1f} s ({count / max(secs, 1e-9):,.0f} rows/s)")
    return count


def _make_app(env: dict):
    os.environ.update(env)
    from core import create_app

    return create_app(plugins=PLUGINS)


def _marker_matches(engine, params: dict) -> bool:
    from sqlalchemy import inspect, text

    try:
        if "bench_dataset" not in inspect(engine).get_table_names():
            return False
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT value FROM bench_dataset WHERE name = 'params'")).scalar()
            top = conn.execute(text("SELECT max(id) FROM contacts")).scalar() or 0
        return stored is not None and json.loads(stored) == params and top >= params["contacts"]
    except Exception:  # noqa: BLE001 - any unreadable state means "rebuild"
        return False


def _search_module():
    """The core's full-text search helpers, when this version of the core has them."""
    try:
        from core.services import search
    except ImportError:
        return None
    needed = ("install", "suspend_search_index", "rebuild_search_index", "FTS_TABLE")
    return search if all(hasattr(search, name) for name in needed) else None


def _ensure_search_index(engine, inspector, log) -> None:
    """Install and fill the full-text index on a dataset built before the core had one."""
    search = _search_module()
    if search is None:
        return
    stale = False
    if engine.dialect.name == "sqlite":
        names = set(inspector.get_table_names())
        present = all(t in names for t in (search.FTS_TABLE, getattr(search, "ORG_FTS_TABLE", search.FTS_TABLE)))
        changed = _sqlite_search_ddl_changed(engine, search) if present else set()
        if changed == {"TRIGGER"} and hasattr(search, "SQLITE_TRIGGER_NAMES"):
            _replace_triggers(engine, search, log)
            changed = set()
        stale = bool(changed)
    else:
        present = any(col["name"] == "search_vector" for col in inspector.get_columns("contacts"))
    if present and not stale:
        if engine.dialect.name == "sqlite" and hasattr(search, "sqlite_settings"):
            with engine.begin() as conn:  # e.g. the merge setting (core_0026): as a migration sets it
                for sql in search.sqlite_settings():
                    conn.exec_driver_sql(sql)
        return
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if stale:  # built by an older core (as a migration would, rebuild it)
            search.uninstall(conn)
        search.install(conn)
        search.rebuild_search_index(conn)
    log(f"installed and filled the full-text index in {time.perf_counter() - t0:.1f} s")


def _sqlite_search_ddl_changed(engine, search) -> set[str]:
    """The kinds (VIEW, VIRTUAL TABLE, TRIGGER) of the dataset's search objects that differ from what
    this core creates."""
    import re

    from sqlalchemy import text

    if not hasattr(search, "sqlite_ddl"):
        return set()
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT name, sql FROM sqlite_master")).all())
    changed = set()
    for sql in search.sqlite_ddl():
        found = re.match(r"CREATE (VIEW|VIRTUAL TABLE|TRIGGER) IF NOT EXISTS (\w+)", sql)
        if found and stored.get(found.group(2)) != sql.replace(" IF NOT EXISTS", "", 1):
            changed.add(found.group(1))
    return changed


def _replace_triggers(engine, search, log) -> None:
    """Only the triggers changed (what they keep in step with the tables, not what is indexed:
    core_0029's contacts without a phone): put this core's in their place, as the migration does,
    without rebuilding the index."""
    with engine.begin() as conn:
        for name in search.SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        for sql in search.sqlite_triggers():
            conn.exec_driver_sql(sql)
    log("replaced the search index's triggers (the index itself unchanged)")


def _update_indexes(inspector, existing: set, log) -> None:
    """Rebuild the indexes whose columns the models changed since the dataset was built (a migration
    such as core_0021 widening one), as an upgrade would; indexes on expressions are left alone."""
    from core.extensions import db

    for name, table in db.metadata.tables.items():
        if name not in existing:
            continue
        have = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes(name)}
        for index in table.indexes:
            columns = [c.name for c in index.columns]
            if not columns or index.name not in have or have[index.name] == columns:
                continue
            t0 = time.perf_counter()
            with db.engine.begin() as conn:
                index.drop(conn)
                index.create(conn)
                sqlite = conn.dialect.name == "sqlite"  # the planner's statistics of it, as after the load
                conn.exec_driver_sql(f"ANALYZE {index.name if sqlite else name}")
            log(f"rebuilt index {index.name} ({', '.join(columns)}) in {time.perf_counter() - t0:.1f} s")


def _update_schema(env: dict, log) -> bool:
    """Create the tables added since the dataset was built (plugins land over time); False when an
    existing table lacks a column the models now have, so the dataset must be rebuilt."""
    from sqlalchemy import inspect

    from core.extensions import db

    app = _make_app(env)
    with app.app_context():
        inspector = inspect(db.engine)
        existing = set(inspector.get_table_names())
        for name, table in db.metadata.tables.items():
            if name in existing:
                have = {col["name"] for col in inspector.get_columns(name)}
                missing = [col.name for col in table.columns if col.name not in have]
                if missing:
                    log(f"table {name} lacks {missing}: rebuilding the dataset")
                    db.engine.dispose()
                    return False
        _update_indexes(inspector, existing, log)
        added = [name for name in db.metadata.tables if name not in existing]
        if added:
            db.create_all()
            log(f"created the tables added since the dataset was built: {', '.join(sorted(added))}")
        _ensure_search_index(db.engine, inspect(db.engine), log)
        db.engine.dispose()
    return True


def _reset(folder: Path, env: dict, sqlite: bool) -> None:
    if sqlite:
        if folder.exists():
            shutil.rmtree(folder)
        return
    shutil.rmtree(folder / "instance", ignore_errors=True)
    from sqlalchemy import text

    from core.extensions import db

    app = _make_app(env)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_dataset"))
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _ensure_pg_database(url: str, log) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist yet."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
            log(f"created the database {target.database}")


def ensure_dataset(params: dict, data_dir: Path, database_url: str | None = None, log=print) -> dict:
    """Return the dataset description, building the data first if it is missing or stale."""
    if database_url and database_url == os.environ.get("CONTACTS_TEST_DATABASE_URL"):
        raise SystemExit("refusing to build the bench dataset in the test database; give the bench its own database")
    if database_url and database_url.startswith("postgresql"):
        _ensure_pg_database(database_url, log)
    env = environment(data_dir, database_url, params)
    folder = Path(env["CONTACTS_INSTANCE_PATH"]).parent
    marker = folder / "dataset.json"
    sqlite = env["CONTACTS_DATABASE_URL"].startswith("sqlite")
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("params") == params:
            from sqlalchemy import create_engine

            engine = create_engine(env["CONTACTS_DATABASE_URL"])
            try:
                fresh = _marker_matches(engine, params)
            finally:
                engine.dispose()
            if fresh and _update_schema(env, log):
                _extend(env, info, marker, log)
                _vacuum(env, log)
                info["reused"] = True
                info["env"] = env
                return info
    log(f"generating dataset {params} into {folder}")
    started = time.perf_counter()
    _reset(folder, env, sqlite)
    folder.mkdir(parents=True, exist_ok=True)
    info = _build(params, env, log)
    info["generate_seconds"] = round(time.perf_counter() - started, 2)
    marker.write_text(json.dumps(info, indent=2, default=str))
    _extend(env, info, marker, log)
    _vacuum(env, log)
    log(f"dataset ready in {round(time.perf_counter() - started, 2)} s")
    info["reused"] = False
    info["env"] = env
    return info


def _vacuum(env: dict, log) -> None:
    """PostgreSQL: VACUUM (ANALYZE) after the load and its later steps, and on every reuse (where
    the runs' writes, deleted at their end, leave dead rows), as autovacuum would on a production
    server; this machine's has it off. Without it the taxonomy step's update of 80 % of the contacts
    left as many dead row versions and no visibility map: the index-only scans became heap reads and
    the list count for a common custom value (cf Tier = gold) went 30 -> 119 ms at 200,000 contacts
    (on the same data, vacuumed: 11,665 -> 148 buffers)."""
    if not env["CONTACTS_DATABASE_URL"].startswith("postgresql"):
        return
    from sqlalchemy import create_engine

    t0 = time.perf_counter()
    engine = create_engine(env["CONTACTS_DATABASE_URL"])
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()
    log(f"  VACUUM (ANALYZE) in {time.perf_counter() - t0:.1f} s")


def _extend(env: dict, info: dict, marker: Path, log) -> None:
    """Add what bench/contact_data.py adds (custom-field values, relationships, the admin, the
    communications rollup) when this dataset lacks it: once, also on a reused dataset."""
    from core.extensions import db

    app = _make_app(env)
    with app.test_request_context():
        changed = contact_data.extend(db.engine, _load, info["params"], info, log)
        db.engine.dispose()
    if changed:
        marker.write_text(json.dumps(info, indent=2, default=str))


def _build(params: dict, env: dict, log) -> dict:
    from sqlalchemy import text

    from core.extensions import db
    from core.services import accounts, vocabulary

    app = _make_app(env)
    with app.test_request_context():
        db.create_all()
        engine = db.engine
        sqlite = engine.dialect.name == "sqlite"
        vocabulary.ensure_defaults()
        team_ids = {name: accounts.create_team(accounts.SYSTEM, name).id for name, _ in TEAMS}
        member, _ = accounts.create_user(
            accounts.SYSTEM,
            {"email": MEMBER_EMAIL, "name": "Bench Member", "role": "member",
             "team_ids": [team_ids[name] for name in MEMBER_TEAMS]},
            password=MEMBER_PASSWORD,
        )
        _token, raw_token = accounts.create_token(member, "bench")
        member_id = member.id
        db.session.commit()
        db.session.remove()

        tables = {name: db.metadata.tables[name] for name in ("organizations", "contacts", "communications")}
        search = _search_module()
        if search is not None:  # stop maintaining the full-text index during the load; rebuilt below
            with engine.begin() as conn:
                search.suspend_search_index(conn)
        with engine.begin() as conn:
            for table in tables.values():
                for index in table.indexes:
                    index.drop(conn)
        rows = Rows(params, team_ids, member_id, sqlite)
        counts = {"organizations": _load(engine, "organizations", ORG_COLS, rows.organizations(), log)}
        counts["contacts"] = _load(engine, "contacts", CONTACT_COLS, rows.contacts(), log)
        taxonomy_counts = taxonomy.load(engine, _load, params, [team_ids[n] for n in MEMBER_TEAMS], log)  # tags, groups
        heavy = rows.pick_heavy()
        has_comm = bytearray(params["contacts"] + 1)
        counts["communications"] = _load(engine, "communications", COMM_COLS, rows.communications(heavy, has_comm), log)
        light = list(itertools.islice((cid for cid in rows.visible if not has_comm[cid]), 20))
        t0 = time.perf_counter()
        with engine.begin() as conn:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KB}")
            for table in tables.values():
                for index in table.indexes:
                    index.create(conn)
            if sqlite:
                conn.exec_driver_sql("PRAGMA cache_size=-32000")
        log(f"  indexes rebuilt in {time.perf_counter() - t0:.1f} s")
        if search is not None:
            t0 = time.perf_counter()
            with engine.begin() as conn:
                search.rebuild_search_index(conn)
            log(f"  full-text index rebuilt in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        with engine.begin() as conn:
            if not sqlite:
                for name in tables:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                      f"(SELECT coalesce(max(id), 1) FROM {name}))"))
        if sqlite:
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        log(f"  ANALYZE in {time.perf_counter() - t0:.1f} s")
        info = {
            "params": params,
            "database": engine.dialect.name,
            "counts": counts,
            "taxonomy_counts": taxonomy_counts,
            "visible_contacts": len(rows.visible),
            "member": {"email": MEMBER_EMAIL, "password": MEMBER_PASSWORD, "id": member_id,
                       "team_ids": sorted(team_ids[n] for n in MEMBER_TEAMS)},
            "api_token": raw_token,
            "heavy_contacts": heavy,
            "light_contacts": light,
            "created_at": datetime.utcnow().isoformat(timespec="seconds"),
        }
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_dataset (name VARCHAR(40) PRIMARY KEY, value TEXT)"))
            conn.execute(text("DELETE FROM bench_dataset"))
            conn.execute(text("INSERT INTO bench_dataset (name, value) VALUES ('params', :v)"),
                         {"v": json.dumps(params)})
        engine.dispose()
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    info = ensure_dataset(params_from_args(args), Path(args.data_dir), args.database_url)
    print(json.dumps({k: v for k, v in info.items() if k not in ("api_token", "env")}, indent=2, default=str))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--small", action="store_true", help="10,000 contacts, 500 orgs, 100,000 communications")
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--orgs", type=int)
    parser.add_argument("--communications", type=int)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or None,
                        help="postgresql+psycopg://...; default: SQLite under the data dir")
    parser.add_argument("--data-dir", default=str(BENCH_ROOT / "data"))


def params_from_args(args) -> dict:
    base = SMALL if args.small else DEFAULT
    values = {k: getattr(args, k) if getattr(args, k) is not None else base[k] for k in DEFAULT}
    for key, value in values.items():
        if value < (1 if key == "contacts" else 0):
            raise SystemExit(f"--{key} must be positive")
    return params_for(values["contacts"], values["orgs"], values["communications"], args.seed)


if __name__ == "__main__":
    sys.exit(main())
