"""bench.import_floor runs: capture an import into one copy of a tiny generated dataset, replay its
statements into another copy taken before it, and dump what it wrote (SQLite files of its own in
a temporary folder: the test database is not touched)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTS_", "BENCH_"))}
    done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=300)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    return done


def test_capture_replay_and_dump(tmp_path):
    _run("bench.generate", "--contacts", "200", "--orgs", "20", "--communications", "100", "--data-dir", str(tmp_path))
    (built,) = tmp_path.glob("sqlite-*/contacts.db")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(built, tmp_path / name / "contacts.db")
    trace = tmp_path / "import.trace"
    _run("bench.import_floor", "capture", "--db", str(tmp_path / "a" / "contacts.db"), "--trace", str(trace),
         "--rows", "500")
    data = pickle.loads(trace.read_bytes())  # noqa: S301 - written just now by the tool
    # The rows' warnings (a broken email kept without it) are the job's problems: they refer to the
    # job the capture's own thread made, which the writer's statements do not create.
    assert any(s.startswith("INSERT INTO job_problems") for s, _p, _m in data["trace"])

    replayed = _run("bench.import_floor", "replay", "--db", str(tmp_path / "b" / "contacts.db"), "--trace", str(trace))
    assert "for 500 rows" in replayed.stdout

    dumps = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.txt"
        _run("bench.import_floor", "dump", "--db", str(tmp_path / name / "contacts.db"), "--trace", str(trace),
             "--out", str(out))
        dumps.append(out.read_text())
    # The replay wrote what the import did; but for the problems' original cells, which the job's own
    # thread attaches after the writer (the replay has the problems the writer wrote).
    problems = [[json.loads(line[len("problem "):])[:3] for line in d.splitlines() if line.startswith("problem ")]
                for d in dumps]
    assert problems[0] == problems[1] and problems[0]
    rest = ["".join(line for line in d.splitlines(keepends=True) if not line.startswith("problem ")) for d in dumps]
    assert rest[0] == rest[1] and rest[0].count("\ncontact ") > 400
