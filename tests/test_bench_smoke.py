"""The benchmark runs end to end (CI checks that it runs, not how fast).

A tiny dataset (500 contacts, 2,000 communications), 20 requests per scenario and 2 s of writes,
through the real production server in a subprocess. Deselect with ``-m "not bench"``. With
``CONTACTS_TEST_DATABASE_URL`` set it runs against PostgreSQL, in its own database beside the
test database (never the test database itself, whose tables the suite empties).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.bench

CORE_SCENARIOS = {
    "list: first page", "list: status filter", "list: deep keyset page", "search: a rare prefix",
    "search: a common surname", "search: two words", "contact page: light", "contact page: heavy",
    "create: API", "create: HTMX form", "update: API with If-Match", "mixed reads (Zipf)",
    "list: builder filter (OR)", "list: lazy count", "list: custom-field filter",
}
PLUGIN_SCENARIOS = {  # measured, or "skipped: route missing" without the plugin's routes
    "communications timeline panel", "communications: global list, type filter", "schedule a send: API", "dashboard",
    "dashboard: communications aggregate",
}


def _database_url(suffix: str = "bench_smoke") -> str | None:
    """A database of the bench's own beside the test database, named after it (test ->
    test_bench_smoke), so suites run side by side on other test databases do not share it."""
    url = os.environ.get("CONTACTS_TEST_DATABASE_URL")
    if not url:
        return None
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{suffix}").render_as_string(hide_password=False)


def test_small_benchmark_runs_and_writes_a_report(tmp_path):
    command = [
        sys.executable, "-m", "bench", "--small", "--contacts", "500", "--orgs", "50", "--communications", "2000",
        "--requests", "20", "--concurrent-seconds", "0.5", "--sequential-seconds", "5", "--write-seconds", "2",
        "--zipf-warmup", "150", "--zipf-measure", "60", "--zipf-warmup-seconds", "10",
        "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "results"),
    ]
    url = _database_url()
    if url:
        command += ["--database-url", url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    files = list((tmp_path / "results").glob("*.json"))
    assert len(files) == 1, done.stderr[-2000:]
    report = json.loads(files[0].read_text())

    assert report["dataset"]["contacts"] == 500
    assert report["dataset"]["counts"] == {"organizations": 50, "contacts": 500, "communications": 2000}
    assert report["database"]["dialect"] == ("postgresql" if url else "sqlite")
    assert report["cpu_count"] >= 1 and report["versions"]["python"]
    by_name = {row["scenario"]: row for row in report["scenarios"]}
    assert CORE_SCENARIOS | PLUGIN_SCENARIOS <= set(by_name), sorted(by_name)
    for name, row in by_name.items():
        assert row["status"] in {"ok", "skipped"}, (name, row.get("reason"))
        if row["status"] == "skipped":
            assert row["reason"].startswith("route missing"), (name, row["reason"])
            continue
        assert row["latency_ms"]["n"] > 0 and row["latency_ms"]["p50"] > 0, name
        assert row["concurrent"]["requests"] > 0, name
        assert row["errors"] == 0, (name, row.get("error_kinds"))
    assert by_name["list: first page"]["status"] == "ok"
    # the plugins are on: the timeline is measured even though it renders inline with the contact page
    assert by_name["communications timeline panel"]["status"] == "ok", by_name["communications timeline panel"]
    assert by_name["list: first page"]["sql_floor_ms"]["p50"] > 0
    assert by_name["list: first page"]["ratios"]["p50_vs_sql"] > 0
    assert report["bare"]["latency_ms"]["p50"] > 0
    assert report["sustained_writes"]["status"] in {"ok", "skipped"}
    if report["sustained_writes"]["status"] == "ok":
        assert report["sustained_writes"]["writes"] > 0
    assert report["restart_seconds"] > 0
    assert report["memory_mb"]["workers"] and all(m and m > 0 for m in report["memory_mb"]["workers"])
    assert report["pending"] == []
    extras = report["dataset"]["contact_data_counts"]
    assert extras["custom_field_values"] > 500 and extras["relationships"] > 0
    assert "unverified" not in " ".join(by_name["list: custom-field filter"]["notes"])
    assert "a direct count agrees" in " ".join(by_name["dashboard: communications aggregate"]["notes"])
    exported, imported = report["transfers"]["CSV export"], report["transfers"]["CSV import"]
    assert exported["status"] == "ok" and exported["rows"] == exported["expected_rows"] > 0
    assert exported["worker_rss_mb"]["peak"] > 0
    assert imported["status"] == "ok" and imported["rows_per_s"] > 0
    assert imported["contacts_created"] + imported["job_errors"] == imported["rows"]
    assert report["cleaned_rows"] >= imported["contacts_created"]
    assert by_name["search: a common surname"]["sql_floor_ms"]["p50"] > 0  # the FTS floor runs
    zipf = by_name["mixed reads (Zipf)"]
    assert zipf["zipf"]["steady"]["actions"] > 0 and zipf["zipf"]["warmup_actions"] >= 100
    assert zipf["cache_hit_rate"] > 0.5  # 500 contacts: the shared cache holds most pages after the warm-up
    assert zipf["zipf"]["steady"]["hits"] <= zipf["zipf"]["steady"]["shared_ceiling"] + zipf["zipf"]["steady"]["marked"]
    assert "from the shared page cache" in " ".join(by_name["list: first page"]["notes"])
    assert "| target |" in done.stdout
    assert "| list: first page |" in done.stdout


def test_duplicate_scan_benchmark_runs(tmp_path):
    command = [sys.executable, "-m", "bench.scan", "--contacts", "500", "--orgs", "20", "--communications", "0",
               "--data-dir", str(tmp_path / "data")]
    url = _database_url()
    if url:
        command += ["--database-url", url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    assert "duplicate scan of 500 contacts: done in" in done.stdout, done.stdout[-2000:]


def test_the_import_scenario_runs_through_the_job_path(tmp_path, capsys):
    from bench import import_speed

    assert import_speed.main(["--rows", "300", "--runs", "1", "--plugins", "monitoring",
                              "--results-dir", str(tmp_path)]) == 0
    (result,) = tmp_path.glob("*-import-sqlite.json")
    run = json.loads(result.read_text())["runs"][0]
    assert run["create"]["counts"]["created"] + run["create"]["counts"]["rejected"] == 300
    assert run["reimport"]["counts"]["unchanged"] == run["create"]["counts"]["created"]
    assert run["create"]["cpu_us_per_row"] > 0 and "import job (new contacts)" in capsys.readouterr().out


def test_a_postgresql_dataset_is_vacuumed_as_autovacuum_would(tmp_path):
    """bench/generate.py: the load's updates leave no dead row versions and the visibility map is
    set (index-only scans read no heap), whether or not the server runs autovacuum."""
    test_url = os.environ.get("CONTACTS_TEST_DATABASE_URL")
    if not test_url:
        pytest.skip("PostgreSQL only (CONTACTS_TEST_DATABASE_URL)")
    from sqlalchemy import create_engine, text

    url = _database_url("bench_vacuum")
    command = [sys.executable, "-m", "bench.generate", "--contacts", "400", "--orgs", "20", "--communications", "500",
               "--database-url", url, "--data-dir", str(tmp_path / "data")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT c.relname, c.relpages, c.relallvisible, s.n_dead_tup FROM pg_class c "
                "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname IN ('contacts', 'custom_field_values')"
            )).all()
    finally:
        engine.dispose()
    assert len(rows) == 2
    for name, pages, all_visible, dead in rows:
        assert dead == 0 and pages > 0 and all_visible == pages, (name, pages, all_visible, dead)


def test_the_write_tail_tracer_runs(tmp_path):
    """bench/write_tail.py: the production server traced in every process, a few sequential creates."""
    if os.environ.get("CONTACTS_TEST_DATABASE_URL"):
        pytest.skip("SQLite only: it traces the WAL and its checkpoints")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "bench.write_tail", "--requests", "30", "--contacts", "200"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))
    assert summary["requests"] == 30 and summary["checkpoint_in_commit"] == 0
    assert summary["frames_per_create_median"] > 0  # the commits were traced


def _generate(tmp_path):
    """A small dataset made (or reused) by bench/generate.py: the run's output, and the database file."""
    command = [sys.executable, "-m", "bench.generate", "--contacts", "300", "--orgs", "20", "--communications", "200",
               "--data-dir", str(tmp_path / "data")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # noqa: S603
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = (tmp_path / "data").glob("*/contacts.db")
    return done.stdout, path


def test_a_reused_dataset_gets_the_models_indexes(tmp_path):
    """bench/generate.py on reuse rebuilds an index whose columns the models changed since the dataset
    was built (here ix_contacts_live_name as it was before core_0028), as the migration would."""
    import sqlite3

    _out, path = _generate(tmp_path)

    def columns() -> list[str]:
        with sqlite3.connect(path) as conn:
            return [row[2] for row in conn.execute("PRAGMA index_info(ix_contacts_live_name)")]

    assert columns() == ["deleted_at", "sort_name", "id", "owner_team_id", "category_id"]
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX ix_contacts_live_name")
        conn.execute("CREATE INDEX ix_contacts_live_name ON contacts (deleted_at, sort_name, id)")
    out, _path = _generate(tmp_path)
    assert "rebuilt index ix_contacts_live_name" in out and '"reused": true' in out, out[-2000:]
    assert columns() == ["deleted_at", "sort_name", "id", "owner_team_id", "category_id"]


def test_a_reused_dataset_gets_the_search_triggers_without_a_rebuild(tmp_path):
    """bench/generate.py on reuse puts this core's search triggers in place of an older core's (here
    core_0020's phone trigger) without rebuilding the index, as core_0029 does."""
    import sqlite3

    from core.services import search

    _out, path = _generate(tmp_path)
    old = ("CREATE TRIGGER contacts_phone_search_au AFTER UPDATE OF id, phone ON contacts WHEN OLD.phone IS NOT "
           "NEW.phone OR OLD.id IS NOT NEW.id BEGIN INSERT INTO contacts_phone_fts(contacts_phone_fts, rowid, phone) "
           "VALUES ('delete', OLD.id, OLD.phone); INSERT INTO contacts_phone_fts(rowid, phone) VALUES (NEW.id, "
           "NEW.phone); END")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER contacts_phone_search_au")
        conn.execute(old)
    out, _path = _generate(tmp_path)
    assert "replaced the search index's triggers" in out and "filled the full-text index" not in out
    with sqlite3.connect(path) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'contacts_phone_search_au'").fetchone()[0]
    assert sql == next(t for t in search.sqlite_triggers() if "contacts_phone_search_au" in t).replace(" IF NOT EXISTS", "")
