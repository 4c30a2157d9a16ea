"""CPU per contact page, in process: what the Python of ``GET /contacts/<id>`` (with its inline panels) costs,
without HTTP or load.

    python -m bench.contact_cpu --db bench/data/sqlite-1000000-50000-10000000/contacts.db
    python -m bench.contact_cpu --db ... --profile heavy        # + a cProfile of that page (top functions)

The dataset's SQLite file is opened read-only, the member put in the test client's session, as
bench/list_cpu.py does. The pages are the ones bench/run.py times: the light contact (the first of
``light_contacts`` in the dataset's dataset.json: no communications) and the heavy one (the first
of ``heavy_contacts``: thousands), or ``--contact ID`` (repeatable), each with every panel the page
still loads lazily (``hx-trigger="load"``) as bench/run.py asks them, and with
``Cache-Control: no-cache`` so the render path is measured, not the shared page cache. It reports the
median CPU time (``time.process_time``) of ``--repeat`` requests, the lowest of ``--rounds`` such
medians taken round-robin, the SQL statements and the Python function calls of one page (counts
that neighbours on a shared machine do not move), and the page's size.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .list_cpu import MEMBER, _app, member_client, parser_for, print_profile


def _pages(db: str, ids: list[int]) -> list[tuple[str, int]]:
    if ids:
        return [(f"contact {i}", i) for i in ids]
    info = json.loads((Path(db).parent / "dataset.json").read_text())
    return [(label, info[f"{label}_contacts"][0]) for label in ("light", "heavy") if info.get(f"{label}_contacts")]


def main(argv=None) -> int:
    parser = parser_for("python -m bench.contact_cpu", __doc__, "page")
    parser.add_argument("--contact", type=int, action="append", default=[], help="a contact id (default: light and heavy)")
    parser.add_argument("--sql", action="store_true", help="print the SQL statements of each page")
    args = parser.parse_args(argv)

    from sqlalchemy import event, select

    from bench.run import panel_urls

    with tempfile.TemporaryDirectory(prefix="contact-cpu-") as instance:
        app = _app(args.db, instance)
        from core.extensions import db
        from core.models import User

        with app.app_context():
            found = db.session.execute(select(User.id, User.session_token).where(User.email == MEMBER)).first()
            engine = db.engine
        if found is None:
            print(f"no {MEMBER} in {args.db}", file=sys.stderr)
            return 2
        client = member_client(app, "{}:{}".format(*found))
        statements: list[str] = []

        @event.listens_for(engine, "before_cursor_execute")
        def _count(_conn, _cursor, statement, *_a):
            statements.append(statement)

        page_headers = {"Cache-Control": "no-cache"}
        panel_headers = page_headers | {"HX-Request": "true"}

        def visit(requests):
            size = 0
            for path, headers in requests:
                resp = client.get(path, headers=headers)
                assert resp.status_code == 200, (path, resp.status_code)
                size += len(resp.data)
            return size

        chosen = []
        for name, cid in _pages(args.db, args.contact):
            resp = client.get(f"/contacts/{cid}", headers=page_headers)
            if resp.status_code != 200:
                print(f"{name}: GET /contacts/{cid} answered {resp.status_code}", file=sys.stderr)
                return 2
            requests = [(f"/contacts/{cid}", page_headers)] + [(u, panel_headers) for u in panel_urls(resp.text)]
            for _ in range(5):
                visit(requests)
            statements.clear()
            size = visit(requests)
            sql = list(statements)
            calls = cProfile.Profile()
            calls.enable()
            visit(requests)
            calls.disable()
            chosen.append((name, cid, requests, sql, pstats.Stats(calls).total_calls, size))
        medians: dict[str, list[float]] = {name: [] for name, *_ in chosen}
        for _ in range(args.rounds):  # round-robin: every page meets the same neighbours
            for name, _cid, requests, *_ in chosen:
                times = []
                for _ in range(args.repeat):
                    started = time.process_time()
                    visit(requests)
                    times.append(time.process_time() - started)
                medians[name].append(statistics.median(times))
        print(f"| page | ms CPU (median of {args.repeat}, best of {args.rounds}) | SQL statements | Python calls "
              "| HTTP requests | bytes |")
        print("|---|---|---|---|---|---|")
        for name, cid, requests, sql, calls, size in chosen:
            print(f"| {name} ({cid}) | {min(medians[name]) * 1000:.2f} | {len(sql)} | {calls:,} | {len(requests)} "
                  f"| {size:,} |")
        for name, cid, requests, sql, *_ in chosen:
            if args.sql:
                print(f"\n{name} ({cid}):", *(" ".join(s.split())[:300] for s in sql), sep="\n  ", file=sys.stderr)
            if args.profile == name:
                print_profile(lambda requests=requests: visit(requests), args.repeat, top=80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
