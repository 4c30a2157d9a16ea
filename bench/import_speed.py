"""Scenario ``import``: CSV import speed with full validation, in process, on a fresh database.

    python -m bench.import_speed                  # 100,000 rows, 3 runs, SQLite, the core alone
    python -m bench.import_speed --rows 20000 --runs 5 --plugins all
    python -m bench.import_speed --database-url postgresql+psycopg://postgres@127.0.0.1:5432/contacts_bench
    python -m bench.import_speed --existing --database-url sqlite:///bench/data/<copy>/contacts.db --runs 1

``--existing`` imports into a database as it is (a copy of a bench dataset: nothing is dropped; the
rows go to the dataset's member and stay there, their emails tagged per run so each run creates).

Each run starts from an empty database (created here, in a temporary folder for SQLite) and
imports the same generated CSV (names in several scripts, 90 % with an email, 80 % with a phone
written the ways people write them, 70 % with one of ~2 % as many organizations, a few bad rows)
through the real job path (upload, ``import_jobs.start``, the job runner with progress, per-row
errors and checkpoints; huey runs it at once in this process): reading, mapping,
``contacts._clean`` (email-validator, phonenumbers, vocabularies), organization lookup/creation,
batched inserts, audit entries, the appliers (the Job Title column goes to the contact details)
and the after-commit hooks of the enabled plugins (``--plugins all``: the activity feed too). A
second import of the same file (every row matched, nothing to change) is timed too. Besides
wall-clock rows/s (noisy on a shared machine) each run reports the CPU time per row of this
process and of any validation worker process. The median
rows/s of the runs is printed and written to ``bench/results/<time>-import-<db>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Ada", "Grace", "Alan", "Zoë", "José", "Łukasz", "Nguyễn", "美咲", "Ingrid", "Olúwásẹ́un", "Renée", "Søren"]
AREAS = ["212", "303", "415", "617", "801", "312", "206", "512"]
LAST = ["Lovelace", "Hopper", "Turing", "Müller", "García", "Kowalski", "Trần", "佐藤", "O'Brien", "Smith", "Dubois"]


def make_csv(path: Path, rows: int, seed: int = 7, tag: str = "") -> None:
    rng = random.Random(seed)
    orgs = [f"Company {i} {rng.choice(LAST)}" for i in range(max(1, rows // 50))]
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("First Name,Last Name,E-mail Address,Mobile Phone,Company,Job Title\r\n")
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{tag}{i}@example.org" if rng.random() < 0.9 else ""
            if rng.random() < 0.003:
                email = f"broken{tag}{i}.example.org"  # no @: the contact is kept without it, with a warning
            r = rng.random()
            number = f"{rng.choice(AREAS)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            phone = (f"+1 {number[:3]} {number[3:6]} {number[6:]}" if r < 0.3 else
                     f"({number[:3]}) {number[3:6]}-{number[6:]}" if r < 0.6 else number if r < 0.8 else "")
            org = rng.choice(orgs) if rng.random() < 0.7 else ""
            title = rng.choice(["", "Engineer", "Director, Sales", "Owner"])
            out.write(f'{first},{last},{email},{phone},"{org}","{title}"\r\n')


def _app(database_url: str | None, folder: Path, plugins: list[str], existing: bool = False):
    from core import create_app
    from core.extensions import db
    from tests.conftest import drop_everything

    config = {
        "TESTING": True, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{folder / 'import.db'}",
        "HUEY_IMMEDIATE": True, "HUEY_FILENAME": str(folder / "huey.db"), "RATELIMIT_ENABLED": False,
        "CACHE_TYPE": "SimpleCache", "SERVER_NAME": None,
    }
    app = create_app(config, plugins=plugins)
    if not existing:
        with app.app_context():
            drop_everything()
            db.create_all()
    return app


def one_run(database_url, folder: Path, csv_path: Path, plugins: list[str], existing: bool = False) -> dict:
    from core.extensions import db
    from core.models import User
    from core.services import csv_import, vocabulary
    from tests import factories

    app = _app(database_url, folder, plugins, existing)
    with app.test_request_context():
        if existing:  # a bench dataset: its member (the first user) and that user's first team
            user = db.session.scalars(db.select(User).order_by(User.id)).first()
            team = user.teams[0]
        else:
            vocabulary.ensure_defaults()
            team = factories.team("Sales")
            user = factories.user("member", [team])
        layout = csv_import.sniff(str(csv_path))
        mapping = csv_import.auto_mapping(layout.headers, layout.preset)
        figures = {}
        # Floors: reading the file alone, and reading plus contacts._clean (the validation every
        # row must pass) with no database writes.
        from core.services import contacts as contact_service

        started = time.perf_counter()
        parsed = [r for _n, r in csv_import.records(str(csv_path), layout, mapping) if isinstance(r, dict)]
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        for record in parsed:
            data = {k: record[k] for k in ("first_name", "last_name", "email", "phone") if record.get(k)}
            try:
                contact_service._clean(user, {**data, "owner_team_id": team.id}, None)
            except Exception:  # noqa: BLE001, S110 - rejected rows cost the same
                pass
        clean_s = time.perf_counter() - started
        figures["floor_read"] = {"rows": len(parsed), "rows_per_s": round(len(parsed) / read_s)}
        figures["floor_read_validate"] = {"rows": len(parsed), "rows_per_s": round(len(parsed) / (read_s + clean_s))}
        for label in ("create", "reimport"):
            figures[label] = _timed_job(user, csv_path, mapping)
        db.session.remove()
        db.engine.dispose()
    return figures


def _timed_job(user, csv_path: Path, mapping: dict) -> dict:
    """One import through the real job path (upload, ``import_jobs.start``, the job runner with its
    progress, checkpoints and per-row errors; huey runs it at once), timed in wall and CPU seconds
    (CPU: this process, plus any worker process the import used)."""
    import resource

    from core.extensions import db
    from core.services import import_jobs, importer

    with open(csv_path, "rb") as fh:
        token = import_jobs.save_upload(user, fh, csv_path.name)
    wall, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    job = import_jobs.start(user, token, mapping, importer.Options())
    seconds, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    db.session.refresh(job)
    assert job.status == "done", (job.status, job.message)
    counts = {k.lower(): v for k, v in job.result["summary"].items()}
    rows = sum(counts.get(k, 0) for k in ("created", "updated", "unchanged", "rejected"))
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds), "counts": counts,
            "cpu_us_per_row": round(cpu * 1e6 / rows), "worker_cpu_us_per_row": round(workers * 1e6 / rows),
            "errors": job.error_count}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--existing", action="store_true",
                        help="import into --database-url as it is (a copy of a bench dataset), as its first user")
    parser.add_argument("--plugins", default="", help='"all" or a comma-separated list (default: the core alone)')
    parser.add_argument("--results-dir", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    from tests.conftest import ALL_PLUGINS

    plugins = ALL_PLUGINS if args.plugins == "all" else [p for p in args.plugins.split(",") if p]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "people.csv"
        if not args.existing:
            make_csv(csv_path, args.rows)
        for run in range(args.runs):
            folder = Path(tmp) / f"run{run}"
            folder.mkdir()
            if args.existing:  # new emails each run, so each run creates
                make_csv(csv_path, args.rows, tag=f"r{time.time_ns():x}.")
            figures = one_run(args.database_url, folder, csv_path, plugins, args.existing)
            results.append(figures)
            print(f"run {run + 1}: create {figures['create']['rows_per_s']:,} rows/s "
                  f"({figures['create']['counts']}, {figures['create']['cpu_us_per_row']} µs CPU/row here + "
                  f"{figures['create']['worker_cpu_us_per_row']} in workers), "
                  f"re-import {figures['reimport']['rows_per_s']:,} rows/s "
                  f"({figures['reimport']['cpu_us_per_row']} + {figures['reimport']['worker_cpu_us_per_row']} µs CPU/row), "
                  f"floors: read {figures['floor_read']['rows_per_s']:,}/s, "
                  f"read+validate {figures['floor_read_validate']['rows_per_s']:,}/s", flush=True)
    kinds = ("create", "reimport", "floor_read", "floor_read_validate")
    median = {k: statistics.median(r[k]["rows_per_s"] for r in results) for k in kinds}
    cpu = {k: statistics.median(r[k]["cpu_us_per_row"] for r in results) for k in ("create", "reimport")}
    database = "postgresql" if args.database_url else "sqlite"
    print(f"plugins: {', '.join(plugins) or '(the core alone)'}\n"
          f"| scenario | rows | median rows/s | median µs CPU/row (this process) | target |\n|---|---|---|---|---|\n"
          f"| import job (new contacts) | {args.rows:,} | {median['create']:,.0f} | {cpu['create']:,.0f} | >= 10,000 |\n"
          f"| import job (same file again) | {args.rows:,} | {median['reimport']:,.0f} | {cpu['reimport']:,.0f} | |\n"
          f"| floor: read the CSV | {args.rows:,} | {median['floor_read']:,.0f} | | |\n"
          f"| floor: read + validate (contacts._clean), no writes | {args.rows:,} | "
          f"{median['floor_read_validate']:,.0f} | | |")
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}-import-{database}.json").write_text(json.dumps(
        {"scenario": "import", "rows": args.rows, "plugins": plugins, "database": database, "median": median,
         "median_cpu_us_per_row": cpu,
         "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
