"""CPU per request of the fixed path every request pays, in process: the production app (as
``core.wsgi`` builds it, WhiteNoise included) called as a WSGI server calls it, no HTTP, no client.

    python -m bench.request_cpu                    # SQLite in a temporary folder, all plugins
    python -m bench.request_cpu --profile list     # + a cProfile of that request (top functions)

Three requests: ``healthz`` (``GET /healthz``, anonymous), ``list`` (``GET /`` as a member with a
signed session cookie, the page cache's hit after the first), ``api`` (``GET /api/v1/contacts/<id>``
with a bearer token). Each WSGI environ is built once by werkzeug and copied per call, so the
figure is the app's own work (what a gunicorn worker spends beyond parsing HTTP). It reports the
least CPU time (``time.process_time``) per request over ``--rounds`` rounds of ``--repeat``
requests (neighbours on a shared machine only ever add), the Python calls per request (a count,
unmoved by neighbours) and the SQL statements. The wall clock is not reported.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path


def _app(folder: Path, database_url: str | None):
    from core import create_app
    from core.extensions import db
    from tests.conftest import drop_everything

    config = {
        "MIGRATIONS": False,  # as core.wsgi
        "TEMPLATE_BYTECODE_CACHE": True,
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{folder / 'requests.db'}",
        "HUEY_IMMEDIATE": True,
        "HUEY_FILENAME": str(folder / "huey.db"),
        "SERVER_NAME": None,
        "SQLITE_CHECKPOINT_SECONDS": 0,
    }
    app = create_app(config)
    with app.app_context():
        drop_everything()
        db.create_all()
    return app


def _setup(app, contacts: int):
    """bench/write_speed.py's member, token and contacts; and the first contact's id."""
    from core.extensions import db
    from core.models import Contact

    from .write_speed import _setup as write_setup

    user, token = write_setup(app, contacts)
    with app.app_context():
        return user.email, token, db.session.scalar(db.select(Contact.id).order_by(Contact.id).limit(1))


def _environs(app, email: str, token: str, contact_id: int) -> dict:
    """The three requests' environs; the member logs in as a browser does (the session carries the
    identifier flask-login checks, so nothing in it changes on the measured requests)."""
    from werkzeug.test import EnvironBuilder

    from bench.client import find_csrf
    from tests.factories import PASSWORD

    agent = {"User-Agent": "bench/request_cpu"}
    client = app.test_client()
    csrf = find_csrf(client.get("/login", headers=agent).get_data(as_text=True))
    resp = client.post("/login", headers=agent, data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    cookie = client.get_cookie("session").value

    def build(path, headers):
        builder = EnvironBuilder(path=path, headers=headers, base_url="http://127.0.0.1:8000",
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
        try:
            return builder.get_environ()
        finally:
            builder.close()

    return {
        "healthz": build("/healthz", {}),
        "list": build("/", {**agent, "Cookie": f"session={cookie}"}),
        "api": build(f"/api/v1/contacts/{contact_id}", {"Authorization": f"Bearer {token}"}),
    }


def call(app, environ: dict, body: bytes = b"") -> tuple[str, list, bytes]:
    """One request as a WSGI server makes it: a fresh environ (``body`` its input), the answer read,
    ``close()`` called."""
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO(body)
    out = {}

    def start_response(status, headers, exc_info=None):
        out["status"], out["headers"] = status, headers

    body = app(env, start_response)
    try:
        data = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return out["status"], out["headers"], data


def measure(app, environs: dict, repeat: int, rounds: int, profile: str | None) -> dict:
    from sqlalchemy import event

    from core.extensions import db

    with app.app_context():
        engine = db.engine
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *_a: statements.__setitem__(0, statements[0] + 1))
    results = {}
    for name, environ in environs.items():
        for _ in range(20):
            status, headers, data = call(app, environ)
        assert status.startswith("200"), (name, status, data[:300])
        statements[0] = 0
        call(app, environ)
        results[name] = {"statements": statements[0], "set_cookie": any(h == "Set-Cookie" for h, _ in headers)}
        calls = cProfile.Profile()
        calls.enable()
        for _ in range(50):
            call(app, environ)
        calls.disable()
        results[name]["python_calls"] = round(pstats.Stats(calls).total_calls / 50)
    best = {name: None for name in environs}
    for _ in range(rounds):  # round-robin: every request meets the same neighbours
        for name, environ in environs.items():
            started = time.process_time()
            for _ in range(repeat):
                call(app, environ)
            cpu = (time.process_time() - started) / repeat
            best[name] = cpu if best[name] is None else min(best[name], cpu)
    for name in environs:
        results[name]["cpu_us"] = round(best[name] * 1e6)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(repeat):
            call(app, environs[profile])
        prof.disable()
        text = io.StringIO()
        stats = pstats.Stats(prof, stream=text)
        stats.sort_stats("cumulative").print_stats(70)
        stats.sort_stats("tottime").print_stats(40)
        results[profile]["profile"] = text.getvalue()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--database-url")
    parser.add_argument("--profile", choices=("healthz", "list", "api"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="request-cpu-") as folder:
        app = _app(Path(folder), args.database_url)
        email, token, contact_id = _setup(app, args.contacts)
        results = measure(app, _environs(app, email, token, contact_id), args.repeat, args.rounds, args.profile)
    print(f"| request | µs CPU / request (best of {args.rounds} × {args.repeat}) | Python calls | SQL | Set-Cookie |")
    print("|---|---|---|---|---|")
    for name, row in results.items():
        print(f"| {name} | {row['cpu_us']} | {row['python_calls']:,} | {row['statements']} | {row['set_cookie']} |")
    if args.profile:
        print(results[args.profile]["profile"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
