"""``contacts serve``: gunicorn and the huey consumer as two child processes, stopped together.

The parent only supervises: on Ctrl-C / SIGTERM it asks each child to stop gracefully (gunicorn:
SIGTERM finishes the requests in flight; the huey consumer: SIGINT finishes the running tasks),
waits for them (killing one that does not stop in time), and exits when either child dies, so a
process manager sees the failure instead of a half-working service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from wsgiref.headers import Headers

from whitenoise import WhiteNoise
from whitenoise.compress import Compressor
from whitenoise.responders import MissingFileError, StaticFile

STOP_TIMEOUT = 20.0
# The signal that stops each kind of child gracefully (default SIGTERM).
STOP_SIGNALS = {"worker": signal.SIGINT}


def compress_static(folders, log=print) -> int:
    """Write .gz (and .br when brotli is installed) beside every compressible static file once.

    Files whose compressed copy is already up to date are skipped; a read-only folder (an
    installed package) is reported and left alone. Returns how many files were compressed.
    """
    compressor = Compressor(quiet=True)
    done = 0
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file() or not compressor.should_compress(path.name):
                continue
            gz = path.with_name(path.name + ".gz")
            if gz.exists() and gz.stat().st_mtime >= path.stat().st_mtime:
                continue
            try:
                if compressor.compress(str(path)):
                    done += 1
            except OSError as exc:
                log(f"cannot compress static files in {root}: {exc}")
                break
    return done


class StaticFiles(WhiteNoise):
    """WhiteNoise serving a compressed copy (.gz, .br) only while it is at least as new as its
    file. ``compress_static`` writes the copies beside the sources (git-ignored); a file edited or
    checked out since, with no ``contacts serve`` after it (tests, a development server), was
    otherwise served from its stale copy to every browser that accepts gzip."""

    def get_static_file(self, path, url, stat_cache=None):
        # WhiteNoise.get_static_file, with only the up-to-date copies as encodings
        if stat_cache is None and not os.path.exists(path):
            raise MissingFileError(path)
        headers = Headers([])
        self.add_mime_headers(headers, path, url)
        self.add_cache_headers(headers, path, url)
        if self.allow_all_origins:
            headers["Access-Control-Allow-Origin"] = "*"
        if self.add_headers_function is not None:
            self.add_headers_function(headers, path, url)
        return StaticFile(path, headers.items(), stat_cache=stat_cache, encodings=fresh_copies(path))


def fresh_copies(path: str) -> dict[str, str]:
    """{encoding: path} of the compressed copies of ``path`` at least as new as it."""
    try:
        newest = os.stat(path).st_mtime
    except OSError:
        return {}
    copies = {}
    for encoding, suffix in (("gzip", ".gz"), ("br", ".br")):
        try:
            if os.stat(path + suffix).st_mtime >= newest:
                copies[encoding] = path + suffix
        except OSError:
            continue
    return copies


def compile_bytecode(folders, log=print) -> bool:
    """Write the bytecode (``__pycache__/*.pyc``) of every module under ``folders`` that lacks an
    up-to-date one, as installing a package does; modules already compiled are only checked.

    An editable install, or an environment with ``PYTHONDONTWRITEBYTECODE``, otherwise compiles
    every module again in every web worker at every start (~0.3 CPU s of ~1 s). ``compileall``
    writes even when that variable is set: the server reads what it finds either way. A folder
    that cannot be written (an installed, read-only package) is reported and left alone. Returns
    whether everything is compiled.
    """
    import compileall

    ok = True
    for folder in folders:
        if not Path(folder).is_dir():
            continue
        if not compileall.compile_dir(str(folder), quiet=2):
            log(f"could not write the bytecode of every module in {folder}")
            ok = False
    return ok


def code_folders(app) -> list[Path]:
    """The folders of the code a web worker of ``app`` imports from this project: the core and
    each enabled plugin's package."""
    folders = [Path(__file__).resolve().parent]
    for info in app.extensions["contacts_plugins"].values():
        module = sys.modules.get(info.module) if info.enabled else None
        if module is not None and getattr(module, "__path__", None) and getattr(module, "__file__", None):
            folders.append(Path(module.__file__).resolve().parent)
    return folders


REQUEST_TIMEOUT = 600  # seconds a worker may go silent (a sync worker: one request) before it is killed
THREADS = 1  # request threads per worker process (see gunicorn_command)
KEEP_ALIVE = 5  # seconds an idle client connection is kept open


def gunicorn_command(host: str, port: int, workers: int) -> list[str]:
    import gunicorn

    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        # Threaded workers that keep a client's connection open between its requests. gunicorn's
        # sync worker closes the connection after every answer, so each request also paid a TCP
        # accept and a new connection (browsers, htmx and API clients keep theirs alive): on 2 cores
        # and 8 keep-alive clients (bench/server_compare.py, a busy shared machine), /healthz took
        # ~1.3-1.6 ms of server CPU a request with sync workers and ~0.65-1.1 ms with these, and
        # served 3-10x the requests/s; a list page served more at the same CPU. One request thread:
        # the work is Python (one core a process at a time); at 1M on SQLite, sustained API creates
        # at 8 clients did 469 and 479 writes/s, p99 59 ms, with one thread against 348 and 349,
        # p99 70-77 ms, with two (a second thread's GIL and write-lock contention), and the list
        # pages measured alike. Keep-alive is what gthread brings here; --threads 2 lets a long
        # export share its worker. Memory is the same (~100 MB a worker), a streamed export is
        # whole, a stop is graceful (in-flight requests finish).
        "--worker-class", "gthread",
        "--threads", str(THREADS),
        "--keep-alive", str(KEEP_ALIVE),
        "--graceful-timeout", "10",
        # A sync worker tells the master it is alive only between requests, so the default 30 s
        # killed a streamed CSV or vCard export of a large list half-way (at 1M contacts it takes
        # minutes on a small machine). A gthread worker's main loop reports while its threads work,
        # but the limit stays generous in case a deployment switches back to sync workers.
        "--timeout", str(REQUEST_TIMEOUT),
        # The app is built once, in the master, and the workers are forked from it ready to answer
        # (core/wsgi.py says what it takes for a fork). Each worker used to import and build its
        # own: ~0.8 CPU s each, all of them at once on a 2-core machine beside the huey consumer's
        # own start. On a busy 2-core machine (bench/startup.py, a small dataset, 2 workers) the
        # first answer came after 0.80 CPU s of the server instead of 1.86, 1.6 s instead of 3.8 s
        # of wall clock. Workers also share the pages the build wrote until they write to them.
        # A code change needs a restart (stop, start): ``kill -HUP`` forks new workers from the
        # master's app as it was.
        "--preload",
    ]
    if gunicorn.version_info >= (27,):
        # gunicorn 27 opens a control socket in ~/.gunicorn by default: one per user, shared by
        # every instance. We don't use it.
        command.append("--no-control-socket")
    return [*command, "core.wsgi:app"]


def worker_command(threads: int) -> list[str]:
    return [sys.executable, "-m", "core.cli", "worker", "--workers", str(threads)]


def _stop(children: dict[str, subprocess.Popen], timeout: float = STOP_TIMEOUT) -> None:
    for name, proc in children.items():
        if proc.poll() is None:
            proc.send_signal(STOP_SIGNALS.get(name, signal.SIGTERM))
    deadline = time.monotonic() + timeout
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def supervise(commands: dict[str, list[str]], log=print, poll: float = 0.2) -> int:
    """Start every command, then wait until a signal arrives or a child exits; stop them all.

    Returns 0 after a signal, otherwise the exit code of the child that died (1 if it was 0).
    """
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    children: dict[str, subprocess.Popen] = {}
    code = 0
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, env=os.environ.copy())  # noqa: S603 - our own argv
            log(f"started {name} (pid {children[name].pid})")
        while stopping["signal"] is None:
            dead = [(name, p.returncode) for name, p in children.items() if p.poll() is not None]
            if dead:
                name, rc = dead[0]
                log(f"{name} exited with code {rc}; stopping the others")
                code = rc or 1
                break
            time.sleep(poll)
        if stopping["signal"] is not None:
            log(f"received {signal.Signals(stopping['signal']).name}; stopping")
    finally:
        _stop(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log("stopped")
    return code
