"""Scenario ``writes``: CPU time and SQL statements per write, in process (no HTTP server).

    python -m bench.write_speed                     # SQLite in a temporary folder, all plugins
    python -m bench.write_speed --writes 500 --profile create    # + a cProfile of that write
    python -m bench.write_speed --database-url postgresql+psycopg://postgres@127.0.0.1:5432/contacts_bench

The three writes of the HTTP benchmark, through the Flask test client on a fresh database (a few
thousand contacts, so the indexes are not empty): ``create`` is ``POST /api/v1/contacts`` with a
bearer token, ``update`` is ``PATCH /api/v1/contacts/<id>`` with the ETag of the previous answer in
``If-Match``, ``form`` is ``POST /contacts/new`` as HTMX from a logged-in session. Each is reported
as the CPU time of this process per write (``time.process_time``: the web worker's share, which is
what caps writes/s on 2 cores; the test client's own cost is included, a few per cent) and the
SQL statements it sent (BEGIN and COMMIT included). The wall clock is not reported: on a shared
machine it measures the neighbours.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path


def _app(database_url: str | None, folder: Path, plugins: list[str]):
    from flask_login import FlaskLoginClient

    from core import create_app
    from core.extensions import db
    from tests.conftest import drop_everything

    # The production configuration (core/setup.py: the file cache shared by the workers on SQLite,
    # CSRF checks, the rate limiter), not the test suite's.
    config = {
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{folder / 'writes.db'}",
        "HUEY_IMMEDIATE": True,
        "HUEY_FILENAME": str(folder / "huey.db"),
        "SERVER_NAME": None,
    }
    app = create_app(config, plugins=plugins)
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        drop_everything()
        db.create_all()
    return app


def _setup(app, contacts: int):
    from sqlalchemy import insert

    from core.extensions import db
    from core.models import Contact, User
    from core.services import accounts, vocabulary
    from tests import factories

    with app.app_context():
        vocabulary.ensure_defaults()
        team = factories.team("Sales")
        user = factories.user("member", [team])
        rows = [
            {
                "first_name": "Seed",
                "last_name": f"N{i:06d}",
                "sort_name": f"n{i:06d} seed",
                "email": f"seed{i}@example.org",
                "email_key": f"seed{i}@example.org",
                "phone": "",
                "type": "person",
                "status": "lead",
                "owner_team_id": team.id,
                "version": 1,
            }
            for i in range(contacts)
        ]
        db.session.execute(insert(Contact), rows)
        db.session.commit()
        _, token = accounts.create_token(db.session.get(User, user.id), "bench")
        db.session.refresh(user)
        _ = user.teams
        db.session.expunge_all()
        return user, token


class Counter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.n = 0
        self.seen: list[str] | None = None
        event.listen(engine, "before_cursor_execute", self._count)
        event.listen(engine, "commit", self._count_commit)  # BEGIN is a statement of its own (core/database.py)

    def _count(self, _conn, _cursor, statement, *_args):
        self.n += 1
        if self.seen is not None:
            self.seen.append(" ".join(statement.split())[:160])

    def _count_commit(self, *_args):
        self.n += 1
        if self.seen is not None:
            self.seen.append("COMMIT")


def measure(app, user, token, writes: int, profile: str | None, dump: str | None = None, rounds: int = 3) -> dict:
    from core.extensions import db

    with app.app_context():
        counter = Counter(db.engine)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    web = app.test_client(user=user)
    from bench.client import find_csrf

    csrf = find_csrf(web.get("/contacts/new", headers={"HX-Request": "true"}).get_data(as_text=True))
    htmx = {"HX-Request": "true", "X-CSRFToken": csrf or ""}
    state = {"serial": 0, "etag": None, "cid": None}

    def create():
        state["serial"] += 1
        n = state["serial"]
        resp = api.post(
            "/api/v1/contacts",
            headers=auth,
            json={"first_name": "Bench", "last_name": f"Writer {n}", "email": f"w{n}@write.example.org"},
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)
        if state["cid"] is None:
            state["cid"], state["etag"] = resp.json["id"], resp.headers["ETag"]

    def update():
        state["serial"] += 1
        body = {"first_name": "Bench" if state["serial"] % 2 else "Benchmark"}
        resp = api.patch(f"/api/v1/contacts/{state['cid']}", headers={**auth, "If-Match": state["etag"]}, json=body)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        state["etag"] = resp.headers["ETag"]

    def form():
        state["serial"] += 1
        n = state["serial"]
        resp = web.post(
            "/contacts/new",
            headers=htmx,
            data={"first_name": "Form", "last_name": f"Writer {n}", "email": f"f{n}@write.example.org"},
        )
        assert resp.status_code == 200 and b"was created" in resp.data, resp.get_data(as_text=True)[:500]

    out = {}
    for name, action in (("create", create), ("update", update), ("form", form)):
        for _ in range(max(20, writes // 10)):  # warm: caches, compiled statements, the JIT-less interpreter's dicts
            action()
        counter.seen = []
        action()
        out[name] = {"statements": counter.seen}
        counter.seen = None
        calls = cProfile.Profile()  # Python function calls per write: a count, unlike CPU time unmoved by neighbours
        calls.enable()
        for _ in range(20):
            action()
        calls.disable()
        out[name]["python_calls_per_write"] = round(pstats.Stats(calls).total_calls / 20)
        prof = cProfile.Profile() if profile == name else None
        best, statements = None, 0
        for _round in range(1 if prof else rounds):  # the least CPU of the rounds: the neighbours only add
            counter.n = 0
            cpu = time.process_time()
            if prof:
                prof.enable()
            for _ in range(writes):
                action()
            if prof:
                prof.disable()
            cpu = time.process_time() - cpu
            best, statements = min(cpu, best or cpu), counter.n
        out[name].update(
            cpu_ms_per_write=round(best * 1000 / writes, 3), statements_per_write=round(statements / writes, 2)
        )
        if prof:
            text = io.StringIO()
            stats = pstats.Stats(prof, stream=text)
            if dump:
                stats.dump_stats(dump)
            stats.sort_stats("cumulative").print_stats(60)
            out[name]["profile"] = text.getvalue()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200, help="writes per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the least CPU per write is reported")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--plugins", default="all", help="'all', 'none' or a comma-separated list")
    parser.add_argument("--database-url")
    parser.add_argument("--profile", choices=("create", "update", "form"))
    parser.add_argument("--dump", help="write the cProfile statistics to this file (with --profile)")
    parser.add_argument("--statements", action="store_true", help="print the statements of one write of each kind")
    args = parser.parse_args(argv)
    plugins = (
        ["communications", "planning", "monitoring", "collaboration"]
        if args.plugins == "all"
        else []
        if args.plugins == "none"
        else args.plugins.split(",")
    )
    with tempfile.TemporaryDirectory(prefix="contacts-writes-") as folder:
        app = _app(args.database_url, Path(folder), plugins)
        user, token = _setup(app, args.contacts)
        figures = measure(app, user, token, args.writes, args.profile, args.dump, args.rounds)
    print("| write | CPU ms per write | statements per write | Python calls per write |")
    print("|---|---:|---:|---:|")
    for name, f in figures.items():
        print(f"| {name} | {f['cpu_ms_per_write']} | {f['statements_per_write']} | {f['python_calls_per_write']} |")
    for name, f in figures.items():
        if args.statements:
            print(f"\n## statements: {name}")
            print("\n".join(f["statements"]))
        if "profile" in f:
            print(f"\n## profile: {name}\n{f['profile']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
