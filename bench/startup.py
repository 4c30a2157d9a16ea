"""Start-up of the web server, measured apart from the full benchmark: seconds from spawning
``core.serve.gunicorn_command`` to the first answered ``GET /login`` (as bench/run.py's "start-up /
restart"), and the CPU seconds the server's processes (the master and its workers: utime + stime
from /proc, which neighbours on a shared machine do not inflate the way they inflate the wall clock)
had spent by then, then the workers' resident memory and how long the graceful stop took.

    python -m bench.startup --data bench/data/sqlite-1000000-50000-10000000 --rounds 7
    python -m bench.startup --root /tmp/old-checkout ...   # the same for another checkout's code

Without ``--data``: a small SQLite dataset (bench/request_cpu.py's) in a temporary folder.
``--page-cache N`` first fills the instance's page cache with N entries, as a full run leaves it
before its restart (the Zipf mix writes ~20,000). ``--root`` runs the code of another checkout (its
``gunicorn_command``, its modules; compiled to bytecode first, untimed, as bench/server.py does).
Rounds alternate between the checkouts given (``--root`` may be repeated) so both see the same
machine; medians are printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .client import HOST
from .server import children_of, free_port, rss_mb
from .server_compare import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def argv_of(root: Path, port: int) -> list[str]:
    """``gunicorn_command`` of the checkout at ``root`` (asked of its own code)."""
    code = ("import json; from core import serve; "
            f"print(json.dumps(serve.gunicorn_command({HOST!r}, {port}, 2)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(out.stdout)


def compile_root(root: Path) -> None:
    code = ("from pathlib import Path; from core import serve; "
            "serve.compile_bytecode([Path('core'), Path('plugins')])")
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)  # noqa: S603


def fill_page_cache(instance: Path, entries: int) -> None:
    folder = instance / "page-cache"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    body = b"x" * 2000
    for n in range(entries):
        (folder / f"{n:064x}").write_bytes(body)
    (folder / "__wz_cache_count").write_bytes(b"")


def start_once(root: Path, env: dict, log_dir: Path, extra: list[str]) -> dict:
    port = free_port()
    argv = argv_of(root, port)
    argv = [*argv[:-1], *extra, argv[-1]]
    with open(log_dir / f"gunicorn-{port}.log", "ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)  # noqa: S603
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_dir}")
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                conn.request("GET", "/login")
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    break
            except OSError:
                pass
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        workers = children_of(proc.pid)
        master = cpu_seconds([proc.pid])
        each = [cpu_seconds([pid]) for pid in workers]
        cpu = master + sum(each)
        time.sleep(1)  # every worker up
        workers = children_of(proc.pid)
        rss = [rss_mb(pid) for pid in workers]
    finally:
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"seconds": seconds, "cpu": cpu, "master": master, "workers": each, "rss": rss, "stop": time.perf_counter() - stopping}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--data", help="a bench dataset folder (holding contacts.db and instance/)")
    parser.add_argument("--root", action="append", help="checkout(s) whose code is started (default: this one)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--extra", default="", help="gunicorn options added to every argv (space-separated)")
    parser.add_argument("--page-cache", type=int, default=0, help="fill the page cache with this many entries first")
    args = parser.parse_args(argv)
    roots = [Path(r).resolve() for r in (args.root or [str(ROOT)])]
    for root in roots:
        compile_root(root)
    with tempfile.TemporaryDirectory(prefix="startup-", dir=os.environ.get("TMPDIR")) as tmp:
        if args.data:
            data = Path(args.data).resolve()
            from .generate import PLUGINS

            env = {"CONTACTS_INSTANCE_PATH": str(data / "instance"),
                   "CONTACTS_DATABASE_URL": f"sqlite:///{data / 'contacts.db'}",
                   "CONTACTS_PLUGINS": ",".join(PLUGINS)}
        else:
            from . import request_cpu

            app = request_cpu._app(Path(tmp), None)
            request_cpu._setup(app, 200)
            env = {"CONTACTS_INSTANCE_PATH": tmp, "CONTACTS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                   "CONTACTS_SECRET_KEY": "bench"}
        if args.page_cache:
            fill_page_cache(Path(env["CONTACTS_INSTANCE_PATH"]), args.page_cache)
        env = {**os.environ, **env}
        log_dir = Path(tmp) / "logs"
        log_dir.mkdir()
        results: dict[Path, list[dict]] = {root: [] for root in roots}
        for _ in range(args.rounds):
            for root in roots:
                results[root].append(start_once(root, env, log_dir, args.extra.split()))
    print(f"| code | first answer, s (median of {args.rounds}; all) | server CPU s by then (median; all) "
          "| of which master (median) | busiest worker (median) | workers' RSS MB (last) | graceful stop s (median) |")
    print("|---|---|---|---|---|---|---|")
    for root, rows in results.items():
        secs = [r["seconds"] for r in rows]
        cpus = [r["cpu"] for r in rows]
        print(f"| {root} | {statistics.median(secs):.2f} ({', '.join(f'{s:.2f}' for s in secs)}) "
              f"| {statistics.median(cpus):.2f} ({', '.join(f'{c:.2f}' for c in cpus)}) "
              f"| {statistics.median(r['master'] for r in rows):.2f} "
              f"| {statistics.median(max(r['workers'], default=0) for r in rows):.2f} | {rows[-1]['rss']} "
              f"| {statistics.median(r['stop'] for r in rows):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
