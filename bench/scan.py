"""Time the duplicate scan (core/services/duplicate_scan.py) over a generated dataset.

    python -m bench.scan --small                               # 10,000 contacts
    python -m bench.scan --contacts 100000 --orgs 5000 --communications 0
    python -m bench.scan                                       # 1,000,000 contacts (the full dataset)

The dataset is the benchmark's own (built or reused by bench.generate). The scan runs in this
process as a real job (huey in immediate mode), as an admin it adds to the dataset; earlier pairs are
removed first so every run does the same work. Prints the time, the pairs by reason and the
job's summary.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from . import generate

SCAN_ADMIN = "scan-admin@bench.example.org"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scan", description=__doc__.split("\n\n")[0])
    generate.add_arguments(parser)
    args = parser.parse_args(argv)
    info = generate.ensure_dataset(generate.params_from_args(args), Path(args.data_dir), args.database_url)
    os.environ.update(info["env"])

    from core import create_app
    from core.extensions import db
    from core.models import DuplicatePair, Job, User
    from core.services import accounts, duplicate_scan

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"HUEY_IMMEDIATE": True, "HUEY_FILENAME": str(Path(tmp) / "huey.db")}, plugins=[])
        with app.test_request_context():
            db.session.execute(db.delete(DuplicatePair))
            db.session.commit()
            admin = db.session.scalar(db.select(User).where(User.email == SCAN_ADMIN))
            if admin is None:  # the dataset has a member only; the scan is started by admins
                admin, _ = accounts.create_user(accounts.SYSTEM, {"email": SCAN_ADMIN, "name": "Bench Admin",
                                                                  "role": "admin", "team_ids": []})
            started, cpu = time.perf_counter(), time.process_time()
            job = duplicate_scan.start(admin)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            job = db.session.get(Job, job.id, populate_existing=True)
            # Counted here: PostgreSQL cannot GROUP BY a json column.
            by_reason = Counter(tuple(r) for r in db.session.scalars(db.select(DuplicatePair.reasons))).items()
    print(f"duplicate scan of {info['params']['contacts']:,} contacts: {job.status} in {seconds:.1f} s ({cpu:.1f} s of CPU)")
    for reasons, count in by_reason:
        print(f"  {'+'.join(reasons)}: {count:,} pairs")
    print(f"  summary: {job.result.get('summary', job.message)}")
    return 0 if job.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
