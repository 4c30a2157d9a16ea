"""CPU per contacts-list page (and per search), in process: what the Python of ``GET /`` costs, without HTTP or load.

    python -m bench.list_cpu --db bench/data/sqlite-1000000-50000-10000000/contacts.db
    python -m bench.list_cpu --db ... --repeat 200 --profile "first page"   # + a cProfile of one scenario
    python -m bench.list_cpu --db ... --only "rare" --callgrind 20          # instructions per page (valgrind; minutes)

The dataset's SQLite file is opened read-only (``mode=ro``): nothing is written into it. The
member (``member@bench.example.org``, as bench/run.py logs in) is put in the Flask test client's
session directly (logging in would write). Each scenario is one of the list URLs bench/run.py
times (full page or HTMX rows, as it asks them, with ``Cache-Control: no-cache`` so the render path is
measured, not the shared page cache); after a few warm-up requests it reports the
median CPU time (``time.process_time``) of ``--repeat`` requests, the lowest of ``--rounds`` such
medians taken round-robin over the scenarios (neighbours on a shared machine only ever add, and
meet each scenario alike), and the SQL statements one request runs. Wall clock is not reported:
on a shared machine it measures the neighbours.

``--callgrind N``: callgrind's instruction count of one page of each chosen scenario, which no neighbour
moves: the process is run under valgrind once with the warm-up alone and once per scenario with N more
requests of it after the same warm-up (``PYTHONHASHSEED`` fixed, no address randomization); the
difference over N is one page.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

MEMBER = "member@bench.example.org"


def scenarios(deep_cursor: str) -> list[tuple[str, str, bool]]:
    """(name, path, as HTMX): the list scenarios of bench/run.py, and the HTMX partial of the first page."""
    return [
        ("first page", "/", False),
        ("first page, HTMX rows", "/", True),
        ("status filter", "/?status=inactive", False),
        ("tag filter (common)", "/?tag=1", False),
        ("tag filter (rare)", "/?tag=3", False),
        ("group filter", "/?group=1", False),
        ("category subtree", "/?category=1", False),
        ("custom-field filter", "/?cf_tier=gold", False),
        (
            "builder filter (OR)",
            "/?" + urlencode({"f": ["status.is.inactive", "or", "type.is.supplier"]}, doseq=True),
            True,
        ),
        ("deep keyset page", "/?" + urlencode({"cursor": deep_cursor}), True),
        ("lazy count", "/contacts/count?f=status.is.inactive", True),
        # The searches of bench/run.py (its terms at 1M; it picks them from the dataset), as active search asks them.
        ("search: a rare prefix", "/?q=aadm", True),
        ("search: a common surname", "/?q=Smith", True),
        ("search: two words", "/?" + urlencode({"q": "James Smith"}), True),
    ]


def _app(db_path: str, instance: str):
    os.environ["CONTACTS_INSTANCE_PATH"] = instance
    os.environ["CONTACTS_DATABASE_URL"] = f"sqlite:///file:{os.path.abspath(db_path)}?mode=ro&uri=true"
    os.environ.setdefault("CONTACTS_SQLITE_CHECKPOINT_SECONDS", "0")
    from core import create_app

    return create_app()


def member_client(app, session_id: str):
    """A test client with the member's session (logging in would write into the read-only dataset)."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    return client


def parser_for(prog: str, doc: str, what: str) -> argparse.ArgumentParser:
    """The options of the in-process page tools (this one, bench/contact_cpu.py)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the dataset's SQLite file (opened read-only)")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5, help="the lowest median of this many rounds is reported")
    parser.add_argument("--profile", default="", help=f"cProfile the {what} of this name; top functions printed")
    return parser


def print_profile(request, repeat: int, top: int = 60) -> None:
    """cProfile ``repeat`` calls of ``request()``; the top functions by cumulative and own time, on stderr."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        request()
    prof.disable()
    stats = pstats.Stats(prof, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(40)


def python_calls(request, repeat: int = 20) -> int:
    """The Python calls one ``request()`` makes (cProfile's count, the mean of ``repeat``): unmoved by
    the neighbours, so a change's effect shows even on a busy machine."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        request()
    prof.disable()
    return round(pstats.Stats(prof).total_calls / repeat)


def save_page(folder: str, name: str, body: bytes) -> None:
    """The page as ``folder/<name>.html``, its CSRF tokens (one per session, random) masked."""
    import re

    os.makedirs(folder, exist_ok=True)
    masked = re.sub(rb"(csrf_token\" value=\"|X-CSRFToken\": \")[^\"]+", rb"\1<csrf>", body)
    with open(os.path.join(folder, name.replace(" ", "_").replace("/", "_") + ".html"), "wb") as out:
        out.write(masked)


def _instructions(args, scenario: str, requests: int, out: str) -> int:
    """Callgrind's total for this tool run with ``--run scenario --run-requests requests``."""
    command = [sys.executable, "-m", "bench.list_cpu", "--db", args.db, "--only", args.only,
               "--run", scenario, "--run-requests", str(requests)]
    # Without address randomization (setarch -R): dicts keyed by object ids and the type attribute cache then
    # collide alike in every run; with it, the same page measured ±1 M instructions apart from run to run.
    fixed = ["setarch", os.uname().machine, "-R"] if shutil.which("setarch") else []
    subprocess.run([*fixed, "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "0"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def callgrind(args, names: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="list-cpu-cg-") as tmp:
        base = _instructions(args, "", 0, os.path.join(tmp, "base"))
        print(f"| scenario | instructions / page (callgrind, {args.callgrind} pages) |")
        print("|---|---|")
        for i, name in enumerate(names):
            total = _instructions(args, name, args.callgrind, os.path.join(tmp, f"s{i}"))
            print(f"| {name} | {(total - base) / args.callgrind / 1e6:.3f} M |", flush=True)


def main(argv=None) -> int:
    parser = parser_for("python -m bench.list_cpu", __doc__, "scenario")
    parser.add_argument("--only", default="", help="scenarios whose name contains this (or one of these, comma-separated)")
    parser.add_argument("--save", default="", help="write each scenario's page into this folder (CSRF tokens masked), to diff two versions")
    parser.add_argument("--callgrind", type=int, default=0, metavar="N", help="instructions per page over N pages (valgrind)")
    parser.add_argument("--run", default=None, help=argparse.SUPPRESS)  # under valgrind: the scenario to request
    parser.add_argument("--run-requests", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from sqlalchemy import event, select

    with tempfile.TemporaryDirectory(prefix="list-cpu-") as instance:
        app = _app(args.db, instance)
        from core.extensions import db
        from core.models import Contact, User
        from core.policy import visible_team_ids
        from core.services.pagination import encode_cursor

        with app.app_context():
            member = db.session.scalar(select(User).where(User.email == MEMBER))
            if member is None:
                print(f"no {MEMBER} in {args.db}", file=sys.stderr)
                return 2
            session_id = f"{member.id}:{member.session_token}"
            teams = visible_team_ids(member)
            visible = select(Contact.sort_name, Contact.id).where(
                Contact.owner_team_id.in_(teams), Contact.deleted_at.is_(None)
            )
            total = db.session.scalar(select(db.func.count()).select_from(visible.subquery()))
            half = db.session.execute(visible.order_by(Contact.sort_name, Contact.id).offset(total // 2).limit(1)).one()
            cursor = encode_cursor([half[0], half[1]])
            engine = db.engine
        statements = [0]

        @event.listens_for(engine, "before_cursor_execute")
        def _count(*_a):
            statements[0] += 1

        client = member_client(app, session_id)
        chosen = []
        for name, path, is_htmx in scenarios(cursor):
            if args.only and not any(part in name for part in args.only.split(",")):
                continue
            # As bench/run.py asks them: the render path, not the shared page cache (core/views/page_cache.py).
            headers = {"Cache-Control": "no-cache"} | ({"HX-Request": "true"} if is_htmx else {})
            for _ in range(5):
                resp = client.get(path, headers=headers)
                if resp.status_code != 200:
                    break
            if resp.status_code != 200:  # e.g. a dataset without the custom fields (bench/contact_data.py)
                print(f"{name}: skipped, GET {path} answered {resp.status_code}", file=sys.stderr)
                continue
            statements[0] = 0
            client.get(path, headers=headers)
            count = statements[0]
            calls = 0 if args.run is not None else python_calls(lambda path=path, headers=headers: client.get(path, headers=headers))
            chosen.append((name, path, headers, count, len(resp.data), calls))
            if args.save:
                save_page(args.save, name, resp.data)
        if args.callgrind:
            callgrind(args, [name for name, *_ in chosen])
            return 0
        if args.run is not None:  # under valgrind (callgrind above): the same warm-up, then the measured pages
            import gc

            gc.collect()
            gc.freeze()  # as core/wsgi.py does after the build: a full collection then walks this run's objects only
            for name, path, headers, *_ in chosen:
                if name == args.run:
                    for _ in range(args.run_requests):
                        client.get(path, headers=headers)
            return 0
        medians: dict[str, list[float]] = {name: [] for name, *_ in chosen}
        for _ in range(args.rounds):  # round-robin: every scenario meets the same neighbours
            for name, path, headers, *_rest in chosen:
                times = []
                for _ in range(args.repeat):
                    started = time.process_time()
                    client.get(path, headers=headers)
                    times.append(time.process_time() - started)
                medians[name].append(statistics.median(times))
        print(f"| scenario | ms CPU / page (median of {args.repeat}, best of {args.rounds}) | Python calls | SQL statements | bytes |")
        print("|---|---|---|---|---|")
        for name, _path, _headers, count, size, calls in chosen:
            print(f"| {name} | {min(medians[name]) * 1000:.2f} | {calls:,} | {count} | {size:,} |")
        for name, path, headers, *_ in chosen:
            if args.profile and args.profile == name:
                print_profile(lambda path=path, headers=headers: client.get(path, headers=headers), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
