"""Where the slow single-client writes come from: N sequential API creates against the production
server (gunicorn as ``contacts serve`` runs it, and the huey consumer), every process traced.

    python -m bench.write_tail                                   # fresh SQLite db, 5,000 contacts
    python -m bench.write_tail --requests 2000 --db /path/copy-of-1M.db   # a copy: it is written to

Each process of the server (loaded through ``bench/write_tail_site/sitecustomize.py``) appends
JSON lines to ``<trace dir>/<pid>.jsonl``: every request (wall and thread-CPU time, involuntary
context switches, the time spent waiting for the writers' turn, in ``BEGIN IMMEDIATE``, in SQL and
in the commit, and in garbage collection), every write transaction of any process (the huey
consumer's too), every WAL checkpoint call and every garbage collection. The report lists the slow
requests (over ``--slow`` times the median) with what they waited on and what overlapped them in
other processes, and counts the slow requests that overlapped each kind of event: evidence that
does not depend on the machine being idle (a neighbour's load shows as context switches and wall
time not spent on CPU, with no wait of ours to explain it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import struct
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

_local = threading.local()
_files: dict = {}


def _emit(trace_dir: str, record: dict) -> None:
    pid = os.getpid()
    f = _files.get(pid)
    if f is None:
        f = _files[pid] = open(os.path.join(trace_dir, f"{pid}.jsonl"), "a", buffering=1)  # noqa: SIM115
    record["pid"] = pid
    f.write(json.dumps(record) + "\n")


def _req():
    return getattr(_local, "req", None)


def _add(key: str, seconds: float) -> None:
    req = _req()
    if req is not None:
        req[key] = req.get(key, 0.0) + seconds


def install(trace_dir: str) -> None:  # noqa: C901 - one place for every probe
    """Patch this process: requests, write transactions, the writers' turn, BEGIN and COMMIT, every
    statement, WAL checkpoints and the garbage collector."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from core import checkpoints, database, write_queue

    gc_start = {}

    def on_gc(phase, info):
        if phase == "start":
            gc_start[threading.get_ident()] = time.monotonic()
            return
        t0 = gc_start.pop(threading.get_ident(), None)
        if t0 is None:
            return
        took = time.monotonic() - t0
        _add("gc", took)
        if took > 0.002 or info["generation"] == 2:
            _emit(trace_dir, {"kind": "gc", "t0": t0, "t1": t0 + took, "gen": info["generation"],
                              "collected": info["collected"], "thread": threading.current_thread().name})

    gc.callbacks.append(on_gc)

    plain_checkpoint = checkpoints.checkpoint

    def traced_checkpoint(conn, mode="PASSIVE"):
        t0 = time.monotonic()
        cpu = time.thread_time()
        out = plain_checkpoint(conn, mode) if mode != "PASSIVE" else plain_checkpoint(conn)
        t1 = time.monotonic()
        if out[1] > 0 or t1 - t0 > 0.001:
            _emit(trace_dir, {"kind": "ckpt", "tid": threading.get_native_id(), "t0": t0, "t1": t1, "cpu": time.thread_time() - cpu, "result": list(out), "mode": mode})
        return out

    checkpoints.checkpoint = traced_checkpoint
    if os.environ.get("CONTACTS_TRACE_BASELINE"):  # the checkpoint thread as it was (8e05109): PASSIVE in every process
        def baseline_run(path, seconds, busy_ms):
            import sqlite3

            conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False)
            while True:
                time.sleep(seconds)
                checkpoints.checkpoint(conn)

        checkpoints._run = baseline_run

    plain_turn = write_queue.turn

    @contextmanager
    def traced_turn(path, timeout):
        t0 = time.monotonic()
        with plain_turn(path, timeout):
            _add("turn", time.monotonic() - t0)
            yield

    write_queue.turn = traced_turn

    plain_transaction = database.transaction

    @contextmanager
    def traced_transaction():
        nested = database.in_write()
        t0 = time.monotonic()
        try:
            with plain_transaction() as session:
                yield session
        finally:
            if not nested:
                t1 = time.monotonic()
                req = _req()
                _emit(trace_dir, {"kind": "tx", "t0": t0, "t1": t1, "in_request": req is not None})

    database.transaction = traced_transaction

    plain_commit = database._commit_keeping_state

    def traced_commit(session):
        t0 = time.monotonic()
        try:
            return plain_commit(session)
        finally:
            _add("commit", time.monotonic() - t0)

    database._commit_keeping_state = traced_commit

    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    plain_do_commit = SQLiteDialect.do_commit

    shm: dict = {}

    def wal_frames() -> int:
        """mxFrame of the WAL-index header: frames in the log (falls when a writer restarts it)."""
        fd = shm.get(os.getpid())
        if fd is None:
            fd = shm[os.getpid()] = os.open(database.db.engine.url.database + "-shm", os.O_RDONLY)
        return struct.unpack("=I", os.pread(fd, 4, 16))[0]

    def traced_do_commit(self, dbapi_connection):
        before = wal_frames()
        t0 = time.monotonic()
        try:
            return plain_do_commit(self, dbapi_connection)
        finally:
            _add("COMMIT", time.monotonic() - t0)
            after = wal_frames()
            req = _req()
            if req is not None:
                req["wal_before"] = before
                req["frames"] = req.get("frames", 0) + (after - before if after >= before else after)
                if after < before:
                    req["restart"] = True

    SQLiteDialect.do_commit = traced_do_commit

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):
        conn.info["trace_t0"] = time.monotonic()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):
        took = time.monotonic() - conn.info.pop("trace_t0", time.monotonic())
        _add("sql", took)
        if statement.startswith("BEGIN IMMEDIATE"):
            _add("begin_immediate", took)
        req = _req()
        if req is not None and took > req.get("max_stmt", 0):
            req["max_stmt"], req["max_stmt_sql"] = took, statement[:80]

    import flask

    plain_wsgi = flask.Flask.wsgi_app

    def traced_wsgi(self, environ, start_response):
        _local.req = req = {}
        usage = resource.getrusage(resource.RUSAGE_THREAD)
        t0, cpu = time.monotonic(), time.thread_time()
        try:
            return plain_wsgi(self, environ, start_response)
        finally:
            after = resource.getrusage(resource.RUSAGE_THREAD)
            req.update(kind="req", t0=t0, t1=time.monotonic(), cpu=time.thread_time() - cpu,
                       path=environ.get("PATH_INFO"), method=environ.get("REQUEST_METHOD"),
                       nivcsw=after.ru_nivcsw - usage.ru_nivcsw, nvcsw=after.ru_nvcsw - usage.ru_nvcsw,
                       minflt=after.ru_minflt - usage.ru_minflt, majflt=after.ru_majflt - usage.ru_majflt,
                       utime=after.ru_utime - usage.ru_utime, stime=after.ru_stime - usage.ru_stime,
                       oublock=after.ru_oublock - usage.ru_oublock)
            _local.req = None
            _emit(trace_dir, req)

    flask.Flask.wsgi_app = traced_wsgi


# --- the harness ------------------------------------------------------------------------------


def _fresh_db(folder: Path, contacts: int) -> str:
    from bench.write_speed import _app, _setup

    app = _app(None, folder, ["communications", "planning", "monitoring", "collaboration"])
    _setup(app, contacts)
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _token(url: str, instance: str) -> str:
    from core import create_app
    from core.extensions import db
    from core.models import User
    from core.services import accounts

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "MIGRATIONS": False,
                      "HUEY_FILENAME": os.path.join(instance, "token-huey.db")})
    with app.app_context():
        user = db.session.query(User).filter(User.role == "member").order_by(User.id).first()
        return accounts.create_token(user, "write-tail")[1]


def load(trace_dir: Path) -> list[dict]:
    records = []
    for path in trace_dir.glob("*.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


MERGE_FRAMES = 200  # a create writes ~40 pages; one that wrote this many merged search index segments
FALLBACK_FRAMES = 16384  # SQLITE_WAL_LIMIT_BYTES / 4096: the commit crossing it checkpoints itself


def _crossed_fallback(r: dict) -> bool:
    before = r.get("wal_before", 0)
    return before < FALLBACK_FRAMES <= before + r.get("frames", 0)


def _cause(r: dict) -> str:
    """What a slow request waited on, by its own measurements."""
    if r.get("frames", 0) > MERGE_FRAMES:
        return "search index merge in the write"
    if _crossed_fallback(r):
        return "checkpoint in the commit (WAL at its limit)"
    if r.get("turn", 0) > 0.003:
        return "waited for the writers' turn"
    if r.get("restart"):
        return "started the WAL over (header sync)"
    if r.get("COMMIT", 0) > 0.003:
        return "slow COMMIT (I/O)"
    if r.get("sql", 0) > 0.003:
        return "slow statement (I/O)"
    if r.get("gc", 0) > 0.003:
        return "garbage collection"
    return "none of ours (CPU taken by others, preempted)"


def report(records: list[dict], slow_factor: float) -> dict:
    reqs = sorted((r for r in records if r["kind"] == "req" and r["method"] == "POST"), key=lambda r: r["t0"])
    others = [r for r in records if r["kind"] in ("ckpt", "gc", "tx")]
    walls = [r["t1"] - r["t0"] for r in reqs]
    median = statistics.median(walls)
    slow = [r for r in reqs if r["t1"] - r["t0"] > slow_factor * median]
    counts = {"requests": len(reqs), "median_ms": round(median * 1000, 2), "slow": len(slow),
              "p99_ms": round(sorted(walls)[int(0.99 * len(walls))] * 1000, 2)}
    by_cause: dict = {}
    ms = lambda s: round(s * 1000, 1)  # noqa: E731
    print(f"{len(reqs)} creates, median {median * 1000:.2f} ms; {len(slow)} over {slow_factor}x the median")
    for r in slow:
        overlap = [o for o in others if o["t0"] < r["t1"] and o["t1"] > r["t0"] and not (o["kind"] == "tx" and o["pid"] == r["pid"])]
        kinds = sorted({f"{o['kind']}@{'same' if o['pid'] == r['pid'] else 'other'}" for o in overlap})
        for k in kinds:
            by_cause[k] = by_cause.get(k, 0) + 1
        print(f"  {ms(r['t1'] - r['t0'])} ms: cpu {ms(r['cpu'])} turn {ms(r.get('turn', 0))} begin {ms(r.get('begin_immediate', 0))}"
              f" sql {ms(r.get('sql', 0))} commit {ms(r.get('commit', 0))} (COMMIT {ms(r.get('COMMIT', 0))})"
              f" frames {r.get('wal_before')}+{r.get('frames')}{' WAL RESTART' if r.get('restart') else ''}"
              f" gc {ms(r.get('gc', 0))} ivcsw {r['nivcsw']}"
              f" max stmt {ms(r.get('max_stmt', 0))} {r.get('max_stmt_sql', '')[:40]!r}")
        for o in overlap:
            extra = (o.get("mode", ""), o.get("result", o.get("gen", "")))
            print(f"      {o['kind']} pid {o['pid']} {ms(o['t1'] - o['t0'])} ms {extra}")
    counts["slow_overlapping"] = by_cause
    counts["slow_by_cause"] = dict(Counter(_cause(r) for r in slow))
    counts["fts_merge_in_request"] = sum(1 for r in reqs if r.get("frames", 0) > MERGE_FRAMES)
    counts["checkpoint_in_commit"] = sum(1 for r in reqs if _crossed_fallback(r))
    restarts = [r for r in reqs if r.get("restart")]
    commit_ms = sorted(r.get("COMMIT", 0) * 1000 for r in reqs)
    counts["wal_restarts"] = len(restarts)
    counts["slow_with_restart"] = sum(1 for r in slow if r.get("restart"))
    counts["COMMIT_ms_restart"] = sorted(round(r.get("COMMIT", 0) * 1000, 1) for r in restarts)
    counts["COMMIT_ms_p50_p99"] = [round(commit_ms[len(commit_ms) // 2], 2), round(commit_ms[int(0.99 * len(commit_ms))], 2)]
    counts["frames_per_create_median"] = statistics.median(r.get("frames", 0) for r in reqs)
    ck = [r for r in records if r["kind"] == "ckpt"]
    if ck:
        d = sorted(r["t1"] - r["t0"] for r in ck)
        counts["checkpoints"] = {"n": len(ck), "median_ms": ms(d[len(d) // 2]), "max_ms": ms(d[-1]),
                                 "pids": len({r["pid"] for r in ck})}
    print(json.dumps(counts))
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1, help="clients sending at once (each its share)")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--db", help="an existing SQLite file (written to: use a copy)")
    parser.add_argument("--slow", type=float, default=3.0, help="slow = over this many times the median")
    parser.add_argument("--baseline", action="store_true", help="the checkpoint thread as it was before (8e05109)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args(argv)
    from bench.client import Client
    from bench.server import Server

    folder = Path(tempfile.mkdtemp(prefix="contacts-write-tail-"))
    root = Path(__file__).resolve().parent.parent
    instance = folder / "instance"
    instance.mkdir()
    url = f"sqlite:///{args.db}" if args.db else _fresh_db(folder, args.contacts)
    token = _token(url, str(instance))
    trace = folder / "trace"
    trace.mkdir()
    env = {"CONTACTS_INSTANCE_PATH": str(instance), "CONTACTS_DATABASE_URL": url,
           "CONTACTS_PLUGINS": "communications,planning,monitoring,collaboration",
           "CONTACTS_TRACE_DIR": str(trace),
           "PYTHONPATH": os.pathsep.join([str(root / "bench" / "write_tail_site"), str(root)])}
    env.update(dict(item.split("=", 1) for item in args.env))
    if args.baseline:
        env["CONTACTS_TRACE_BASELINE"] = "1"
    server = Server(env, folder / "logs")
    server.start()
    try:
        tag = int(time.time())

        def send(n: int) -> None:
            client = Client(server.port, headers={"Authorization": f"Bearer {token}"})
            for i in range(n, args.requests, args.clients):
                client.expect("POST", "/api/v1/contacts", (201,), json_body={
                    "first_name": "Tail", "last_name": f"W{i}", "email": f"t{tag}-{i}@write.bench.example.org"})

        threads = [threading.Thread(target=send, args=(n,)) for n in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"{args.requests / (time.monotonic() - started):.0f} creates/s with {args.clients} client(s)")
        time.sleep(1.5)
    finally:
        server.stop()
    report(load(trace), args.slow)
    print(f"traces and logs: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
