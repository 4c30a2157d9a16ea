"""The SQLite floor of an import's writes: what the writer thread's statements cost SQLite alone.

    python -m bench.import_floor capture --db <copy A>/contacts.db --trace /tmp/import.trace [--rows 100000]
    python -m bench.import_floor replay --db <copy B>/contacts.db --trace /tmp/import.trace

``capture`` runs one import (new contacts, like ``bench.import_speed --existing``: the dataset's
member, a generated file whose emails are new) through the real job path on ``--db`` and records
every statement the writer thread (import_pipeline.py) sends, with its parameters as the driver
got them (BEGIN, COMMIT and the job's progress included). It prints the CPU time of the writer
thread and of the whole process per row (``time.thread_time``), and writes the trace.

``replay`` sends the same statements, in the same transactions, through the ``sqlite3`` module in
one thread (the connection set up as core/database.py does) on ``--db``, which must be another copy
of the dataset as it was before the capture (the trace inserts rows with fixed ids). It prints
the CPU time per imported row, in all and per kind of statement: the floor under the writer's
Python. Both write into ``--db``: never point them at ``bench/data``.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pickle
import pstats
import re
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path


def capture(args) -> int:
    from sqlalchemy import event

    from core.extensions import db
    from core.models import User
    from core.services import csv_import, import_pipeline

    from .import_speed import _app, _timed_job, make_csv

    trace: list = []
    cpu: dict = {}
    loop = import_pipeline.Writer._loop

    writer_profile = cProfile.Profile() if args.profile else None

    def timed_loop(self):  # the writer thread's CPU time, read as it ends
        started = time.thread_time()
        if writer_profile is not None:
            writer_profile.enable()
        try:
            loop(self)
        finally:
            if writer_profile is not None:
                writer_profile.disable()
            cpu["writer"] = cpu.get("writer", 0.0) + time.thread_time() - started

    import_pipeline.Writer._loop = timed_loop
    if args.batch:  # the jobs' default batch size, for this run
        from core.services import importer

        defaults = list(importer.Options.__init__.__defaults__)
        defaults[-1] = args.batch
        importer.Options.__init__.__defaults__ = tuple(defaults)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = folder / "people.csv"
        make_csv(csv_path, args.rows, tag=args.tag or f"f{time.time_ns():x}.")
        app = _app(f"sqlite:///{Path(args.db).resolve()}", folder, [], existing=True)

        def before(conn, cursor, statement, parameters, context, executemany):
            if threading.current_thread().name == "import-writer":
                trace.append((statement, parameters, executemany))

        def on_commit(conn):
            if threading.current_thread().name == "import-writer":
                trace.append(("COMMIT", (), False))

        def on_rollback(conn):
            if threading.current_thread().name == "import-writer":
                trace.append(("ROLLBACK", (), False))

        with app.test_request_context():
            timeline = None
            if args.threads:
                from .import_threads import Timeline

                timeline = Timeline()
                timeline.install(db.engine)
            if args.switch:  # the import's own (import_pipeline._switching), for this run
                import_pipeline.SWITCH_INTERVAL = args.switch
            event.listen(db.engine, "before_cursor_execute", before)
            event.listen(db.engine, "commit", on_commit)
            event.listen(db.engine, "rollback", on_rollback)
            user = db.session.scalars(db.select(User).order_by(User.id)).first()
            before = {t: db.session.execute(db.text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar()
                      for t in ("contacts", "audit_entries", "organizations", "contact_external_ids", *MADE_OUTSIDE)}
            layout = csv_import.sniff(str(csv_path))
            mapping = csv_import.auto_mapping(layout.headers, layout.preset)
            main_profile = cProfile.Profile() if args.profile else None
            started = time.process_time()
            if main_profile is not None:
                main_profile.enable()
            if timeline is not None:
                timeline.job_started()
            figures = _timed_job(user, csv_path, mapping)
            if timeline is not None:
                timeline.job_ended()
            if main_profile is not None:
                main_profile.disable()
            process = time.process_time() - started
            setup = made_outside(db.session.connection().exec_driver_sql, before)
            db.session.remove()
            db.engine.dispose()
    rows = figures["rows"]
    if args.profile:
        for name, prof in (("writer thread", writer_profile), ("job thread", main_profile)):
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out)
            stats.sort_stats("tottime").print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats(args.profile)
            print(f"===== {name} =====", file=sys.stderr)
            print(out.getvalue(), file=sys.stderr)
    with open(args.trace, "wb") as out:
        pickle.dump({"rows": rows, "trace": trace, "before": before, "setup": setup}, out, protocol=pickle.HIGHEST_PROTOCOL)
    print(f"{rows:,} rows {figures['counts']}: process {process * 1e6 / rows:.0f} µs CPU/row "
          f"(writer thread {cpu.get('writer', 0) * 1e6 / rows:.0f}, the rest {(process - cpu.get('writer', 0)) * 1e6 / rows:.0f}), "
          f"validation worker {figures['worker_cpu_us_per_row']}; {len(trace):,} statements traced; "
          f"wall {figures.get('seconds', 0):.2f} s, load average {os.getloadavg()[0]:.1f}")
    if timeline is not None:
        print(timeline.report(rows))
    return 0


# Rows the import's writer refers to that the job's own thread made (the job: its problems and
# progress point at it), written into the replay's copy before the clock starts.
MADE_OUTSIDE = ("jobs",)


def made_outside(execute, before: dict) -> list:
    """``(INSERT statement, rows)`` of the ``MADE_OUTSIDE`` rows the capture added (ids past
    ``before``), as they are at its end (the writer's updates set what it reads of them)."""
    out = []
    for table in MADE_OUTSIDE:
        result = execute(f"SELECT * FROM {table} WHERE id > ? ORDER BY id", (before[table],))
        columns = list(result.keys())
        rows = [tuple(row) for row in result]
        if rows:
            out.append((f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows))
    return out


_KIND = re.compile(r"^\s*(\w+(?:\s+\w+)?(?:\s+INTO)?\s+[\w\"]+)", re.IGNORECASE)


def kind_of(statement: str) -> str:
    match = _KIND.match(statement)
    return (match.group(1) if match else statement[:40]).replace('"', "")


def variant(trace: list, args) -> list:
    """The trace as ``args`` change it: ``--merge N`` batches in one transaction, ``--sort-contacts
    COLUMN``: each batch's contacts inserted in that column's order (their ids unchanged)."""
    out = []
    commits = 0
    skip_begin = False
    for statement, parameters, many in trace:
        if statement == "COMMIT":
            commits += 1
            if args.merge > 1 and commits % args.merge:
                skip_begin = True
                continue
        elif statement.startswith("BEGIN") and skip_begin:
            skip_begin = False
            continue
        if many and args.sort_contacts and statement.startswith("INSERT INTO contacts ("):
            columns = [c.strip().strip('"') for c in statement.split("(", 1)[1].split(")", 1)[0].split(",")]
            keys = [columns.index(c) for c in args.sort_contacts.split(",")]
            parameters = sorted(parameters, key=lambda p: tuple("" if p[k] is None else str(p[k]) for k in keys))
        out.append((statement, parameters, many))
    return out


def replay(args) -> int:
    with open(args.trace, "rb") as fh:
        data = pickle.load(fh)  # noqa: S301 - a trace this tool wrote
    conn = sqlite3.connect(args.db, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000", "foreign_keys=ON",
                   f"cache_size=-{args.cache_kib}", f"wal_autocheckpoint={args.autocheckpoint}"):
        conn.execute(f"PRAGMA {pragma}")
    for sql, rows in data.get("setup", ()):  # what the writer's rows refer to (made_outside)
        conn.executemany(sql, rows)
    for sql in args.first:  # e.g. an index dropped: a variant of the schema, before the clock starts
        conn.execute(sql)
    spent: dict = collections.defaultdict(float)
    count: dict = collections.Counter()
    trace = variant(data["trace"], args)
    started = time.process_time()
    for statement, parameters, many in trace:
        before = time.process_time()
        if statement in ("COMMIT", "ROLLBACK"):
            conn.execute(statement)
            if args.shrink_after_commit:  # the cache given back between transactions
                conn.execute("PRAGMA cache_size=-2000")
                conn.execute(f"PRAGMA cache_size=-{args.cache_kib}")
        elif many:
            conn.executemany(statement, parameters)
        else:
            conn.execute(statement, parameters or ()).fetchall()
        kind = kind_of(statement)
        spent[kind] += time.process_time() - before
        count[kind] += len(parameters) if many else 1
    total = time.process_time() - started
    rows = data["rows"]
    wal = Path(args.db + "-wal")
    if args.autocheckpoint == 0 and wal.exists():  # every frame the commits wrote is still in the log
        print(f"WAL: {wal.stat().st_size / 4120 / rows:.1f} pages written per row")
    print(f"replayed {len(data['trace']):,} statements for {rows:,} rows: {total * 1e6 / rows:.1f} µs CPU/row")
    for kind, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {seconds * 1e6 / rows:7.1f} µs/row  {count[kind]:>9,}x  {kind}")
    return 0


def dump(args) -> int:
    """The import's results in ``--db`` (what the capture wrote: rows past its "before" ids), as
    text to compare between two versions of the code (timestamps and hashes left out; the audit
    chain of the new entries is checked here)."""
    import json
    import types
    from datetime import datetime

    from core.services.audit import _digest

    with open(args.trace, "rb") as fh:
        before = pickle.load(fh)["before"]  # noqa: S301 - a trace this tool wrote
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    out = open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    skip = {"created_at", "updated_at"}
    for row in conn.execute("SELECT * FROM contacts WHERE id > ? ORDER BY id", (before["contacts"],)):
        print("contact", json.dumps({k: row[k] for k in row.keys() if k not in skip}, ensure_ascii=False), file=out)
    for row in conn.execute("SELECT * FROM organizations WHERE id > ? ORDER BY id", (before["organizations"],)):
        print("org", json.dumps({k: row[k] for k in row.keys() if k not in skip}, ensure_ascii=False), file=out)
    for row in conn.execute("SELECT * FROM contact_details WHERE contact_id > ? ORDER BY contact_id", (before["contacts"],)):
        print("details", json.dumps(dict(row), ensure_ascii=False), file=out)
    for table in ("contact_values", "contact_addresses"):
        try:
            rows = conn.execute(f"SELECT * FROM {table} WHERE contact_id > ? ORDER BY contact_id, id", (before["contacts"],))
            for row in rows:
                print(table, json.dumps(dict(row), ensure_ascii=False), file=out)
        except sqlite3.OperationalError:
            pass
    for row in conn.execute("SELECT * FROM contact_external_ids WHERE id > ? ORDER BY contact_id, external_id",
                            (before["contact_external_ids"],)):
        print("ext", json.dumps({k: row[k] for k in row.keys() if k != "id"}, ensure_ascii=False), file=out)
    first = conn.execute("SELECT hash FROM audit_entries WHERE id <= ? ORDER BY id DESC LIMIT 1",
                         (before["audit_entries"],)).fetchone()
    prev = first[0] if first else "0" * 64
    broken = 0
    entries = conn.execute("SELECT * FROM audit_entries WHERE id > ? ORDER BY id", (before["audit_entries"],)).fetchall()
    for row in entries:
        entry = types.SimpleNamespace(created_at=datetime.fromisoformat(row["created_at"]), actor_id=row["actor_id"],
                                      action=row["action"], entity_type=row["entity_type"], entity_id=row["entity_id"],
                                      changes=json.loads(row["changes"]))
        if row["prev_hash"] != prev or _digest(prev, entry) != row["hash"]:
            broken += 1
        prev = row["hash"]
    for row in sorted(entries, key=lambda r: (r["entity_type"], r["entity_id"], r["action"], r["changes"])):
        print("audit", row["action"], row["entity_type"], row["entity_id"], row["changes"], file=out)
    if "jobs" in before:  # the job's outcome and its problem report (rejected rows, warnings)
        for row in conn.execute("SELECT id, result, checkpoint FROM jobs WHERE id > ? ORDER BY id", (before["jobs"],)):
            print("job", row["result"], row["checkpoint"], file=out)
        for row in conn.execute("SELECT ref, item, message, cells FROM job_problems WHERE job_id > ? ORDER BY job_id, ref, id",
                                (before["jobs"],)):
            print("problem", json.dumps(tuple(row), ensure_ascii=False), file=out)
    conn.execute("CREATE VIRTUAL TABLE temp.v_contacts USING fts5vocab(main, contacts_fts, instance)")
    conn.execute("CREATE VIRTUAL TABLE temp.v_phones USING fts5vocab(main, contacts_phone_fts, instance)")
    for table in ("v_contacts", "v_phones"):
        for row in conn.execute(f"SELECT doc, col, offset, term FROM temp.{table} WHERE doc > ? ORDER BY doc, col, offset, term",
                                (before["contacts"],)):
            print("fts", table, *tuple(row), file=out)
    out.close()
    print(f"{len(entries):,} audit entries, chain {'intact' if not broken else f'BROKEN at {broken} entries'}")
    return 0 if not broken else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("--db", required=True)
    cap.add_argument("--trace", required=True)
    cap.add_argument("--rows", type=int, default=100_000)
    cap.add_argument("--tag", default="", help="the emails' tag (default: a new one), to import the same file again")
    cap.add_argument("--batch", type=int, default=0, help="rows per batch (default: the importer's)")
    cap.add_argument("--threads", action="store_true", help="print where the writer and job threads spent their time")
    cap.add_argument("--switch", type=float, default=0.0, help="the import's GIL switch interval (seconds; import_pipeline.SWITCH_INTERVAL)")
    cap.add_argument("--profile", type=int, default=0, help="print a cProfile of each thread, this many lines")
    rep = sub.add_parser("replay")
    rep.add_argument("--db", required=True)
    rep.add_argument("--trace", required=True)
    rep.add_argument("--cache-kib", type=int, default=8000)
    rep.add_argument("--autocheckpoint", type=int, default=1000, help="pages (0: none; the worker checkpoints in a thread)")
    rep.add_argument("--top", type=int, default=20)
    rep.add_argument("--shrink-after-commit", action="store_true")
    rep.add_argument("--merge", type=int, default=1, help="this many batches per transaction")
    rep.add_argument("--sort-contacts", default="", help="insert each batch's contacts in this column's order")
    rep.add_argument("--first", action="append", default=[], help="SQL run before the replay (a schema variant)")
    dmp = sub.add_parser("dump")
    dmp.add_argument("--db", required=True)
    dmp.add_argument("--trace", required=True, help="the capture's trace (the ids before it)")
    dmp.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    return {"capture": capture, "replay": replay, "dump": dump}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
