"""Start and stop the production server for the benchmark, and read its workers' memory.

The web server is the exact argv ``contacts serve`` runs (``core.serve.gunicorn_command``:
gunicorn with ``core.wsgi:app``), bound to 127.0.0.1 on a free port, with the CONTACTS_*
variables pointing at the bench dataset. The huey consumer runs beside it as in production.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .client import HOST

WORKERS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_argv(port: int, app: str = "core.wsgi:app", workers: int = WORKERS) -> list[str]:
    from core import serve

    argv = serve.gunicorn_command(HOST, port, workers)
    if app != "core.wsgi:app":
        argv = [app if part == "core.wsgi:app" else part for part in argv]
    return argv


def compile_bytecode() -> None:
    """Compile the project's modules once, as installing it (or ``contacts serve``) does, before
    the timed start: this sandbox sets PYTHONDONTWRITEBYTECODE, so without it every start of every
    worker would compile the code again, which no production install does."""
    try:
        from core import serve
    except ImportError:
        return
    if hasattr(serve, "compile_bytecode"):
        root = Path(__file__).resolve().parent.parent
        serve.compile_bytecode([root / "core", root / "plugins"], log=lambda msg: print(msg, file=sys.stderr))


def worker_argv() -> list[str] | None:
    try:
        from core import serve
    except ImportError:
        return None
    return serve.worker_command(1) if hasattr(serve, "worker_command") else None


class Server:
    def __init__(self, env: dict, log_dir: Path, app: str = "core.wsgi:app", with_worker: bool = True,
                 probe_path: str = "/login"):
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.app = app
        self.with_worker = with_worker
        self.probe_path = probe_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.argv: list[str] = []

    def start(self, timeout: float = 60) -> float:
        """Start; return seconds from spawning to the first answered request."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.argv = gunicorn_argv(self.port, self.app)
        compile_bytecode()  # not timed: an install step
        log = open(self.log_dir / f"gunicorn-{self.port}.log", "ab")  # noqa: SIM115 - lives with the process
        started = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                     cwd=str(Path(__file__).resolve().parent.parent))
        if self.with_worker and self.worker is None and (argv := worker_argv()):
            wlog = open(self.log_dir / "worker.log", "ab")  # noqa: SIM115
            self.worker = subprocess.Popen(argv, env=self.env, stdout=wlog, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_dir}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", self.probe_path)
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"the server did not answer within {timeout} s; see {self.log_dir}")

    def stop(self, worker_too: bool = True) -> None:
        procs = [self.proc] + ([self.worker] if worker_too else [])
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            if proc is None:
                continue
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.proc = None
        if worker_too:
            self.worker = None

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        return children_of(self.proc.pid)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    """Resident memory from /proc/<pid>/status (VmRSS), in MB."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


if __name__ == "__main__":  # pragma: no cover - manual check
    print(gunicorn_argv(free_port()), file=sys.stderr)
