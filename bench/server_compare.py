"""Compare gunicorn worker settings on the same app: req/s at 8 client threads with keep-alive
clients (as bench/run.py's), and the server's CPU per request (its processes' utime + stime from
/proc, which neighbours on a shared machine do not inflate the way they inflate the wall clock).

    python -m bench.server_compare --seconds 5 --rounds 3

A small SQLite dataset (bench/request_cpu.py's) in a temporary folder; each variant is the argv of
``core.serve.gunicorn_command`` with its worker options (class, threads, keep-alive) swapped for the
variant's; variants are run round-robin. After the load: the workers' memory, a streamed CSV export
and the time a graceful stop takes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from .client import Client, find_csrf
from .server import Server, children_of, rss_mb

WORKER_OPTIONS = ("--worker-class", "--threads", "--keep-alive")  # taken out of the argv, then the variant's
VARIANTS = {
    "sync": ["--worker-class", "sync"],
    "gthread-1": ["--worker-class", "gthread", "--threads", "1", "--keep-alive", "5"],
    "gthread-2": ["--worker-class", "gthread", "--threads", "2", "--keep-alive", "5"],
    "gthread-4": ["--worker-class", "gthread", "--threads", "4", "--keep-alive", "5"],
}


def cpu_seconds(pids) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / tick


def load(make_client, path: str, clients: int, seconds: float) -> int:
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(n):
        client = make_client()
        while time.perf_counter() < stop:
            resp = client.get(path)
            assert resp.status == 200, (path, resp.status)
            done[n] += 1
        client.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server_compare")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    from tests.factories import PASSWORD

    from . import request_cpu

    with tempfile.TemporaryDirectory(prefix="server-compare-", dir=os.environ.get("TMPDIR")) as folder:
        app = request_cpu._app(Path(folder), None)
        email, _token, _cid = request_cpu._setup(app, 2000)
        env = {"CONTACTS_INSTANCE_PATH": folder, "CONTACTS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "CONTACTS_SECRET_KEY": "bench", "CONTACTS_SQLITE_CHECKPOINT_SECONDS": "1"}
        results: dict = {}
        servers = {}
        rss: dict = {}
        exports: dict = {}
        stops: dict = {}
        for name in args.variants.split(","):
            server = Server(env, Path(folder) / "logs", with_worker=False)
            extra = VARIANTS[name]
            import bench.server as bs

            original = bs.gunicorn_argv

            def patched(port, app="core.wsgi:app", workers=bs.WORKERS, extra=extra, original=original):
                argv = original(port, app, workers)
                kept = [a for i, a in enumerate(argv) if a not in WORKER_OPTIONS and argv[i - 1] not in WORKER_OPTIONS]
                return [*kept[:-1], *extra, kept[-1]]

            bs.gunicorn_argv = patched
            try:
                server.start()
            finally:
                bs.gunicorn_argv = original
            servers[name] = server
            login = Client(server.port)
            csrf = find_csrf(login.get("/login").text)
            login.request("POST", "/login", form={"email": email, "password": PASSWORD, "csrf_token": csrf})
            assert "session" in login.cookies
            servers[name] = (server, dict(login.cookies))
        try:
            for _ in range(args.rounds):
                for name, (server, cookies) in servers.items():
                    for path in ("/healthz", "/"):
                        load(lambda server=server, cookies=cookies: Client(server.port, cookies), path, 8, 1)  # warm
                        pids = [server.proc.pid, *children_of(server.proc.pid)]
                        cpu = cpu_seconds(pids)
                        started = time.perf_counter()
                        n = load(lambda server=server, cookies=cookies: Client(server.port, cookies), path,
                                 args.clients, args.seconds)
                        wall = time.perf_counter() - started
                        cpu = cpu_seconds(pids) - cpu
                        results.setdefault((name, path), []).append((n / wall, cpu / n * 1e6))
            for name, (server, cookies) in servers.items():  # memory, a streamed export, a graceful stop
                workers = children_of(server.proc.pid)
                rss[name] = [rss_mb(pid) for pid in workers]
                export = Client(server.port, cookies).get("/contacts/export.csv")
                exports[name] = (export.status, export.body.count(b"\n"))
        finally:
            for name, (server, _) in servers.items():
                started = time.perf_counter()
                proc = server.proc
                server.stop()
                stops[name] = (round(time.perf_counter() - started, 2), proc.returncode)
    print(f"| variant | path | req/s (median of {args.rounds}; all) | server CPU µs / request (median) |")
    print("|---|---|---|---|")
    for (name, path), rows in results.items():
        rates = [r for r, _ in rows]
        cpus = [c for _, c in rows]
        print(f"| {name} | {path} | {statistics.median(rates):,.0f} ({', '.join(f'{r:,.0f}' for r in rates)}) "
              f"| {statistics.median(cpus):,.0f} |")
    for name in rss:
        print(f"{name}: workers' RSS {rss[name]} MB; export {exports[name]} (status, lines); "
              f"stop {stops.get(name)} (s, exit code)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
