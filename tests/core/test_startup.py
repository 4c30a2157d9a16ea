"""What a web worker does at start-up: URL builders compiled on first use, heavy modules left out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask, url_for

from core.routing import LazyRule

ROOT = Path(__file__).resolve().parents[2]
# Imported where they are used (imports, vCards, duplicates, notes, migrations), never by the web
# app's start-up: each costs a web worker's start time and memory.
DEFERRED = ("alembic", "flask_migrate", "vobject", "phonenumbers", "rapidfuzz", "markdown_it", "nh3", "email_validator")


def test_url_builders_are_compiled_on_first_use(app):
    assert app.url_rule_class is LazyRule
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]  # Flask adds that one itself
    assert len(rules) > 200 and all(isinstance(rule, LazyRule) for rule in rules)
    fresh = Flask(__name__)
    fresh.url_rule_class = LazyRule
    fresh.add_url_rule("/contacts/<int:contact_id>", "show", lambda contact_id: "")
    (rule,) = [r for r in fresh.url_map.iter_rules() if r.endpoint == "show"]
    lazy = rule._build_unknown
    with fresh.test_request_context():
        assert url_for("show", contact_id=7, tab="notes x") == "/contacts/7?tab=notes+x"
        assert rule._build_unknown is not lazy  # compiled now, and kept
        compiled = rule._build_unknown
        assert url_for("show", contact_id=8, _external=True) == "http://localhost/contacts/8"
        assert rule._build_unknown is compiled
        assert url_for("static", filename="app.css") == "/static/app.css"


def test_import_of_the_wsgi_app_leaves_the_heavy_modules_out(tmp_path):
    code = f"import json, sys; import core.wsgi; print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))"
    env = {
        **os.environ,
        "CONTACTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "CONTACTS_INSTANCE_PATH": str(tmp_path),
        "CONTACTS_SECRET_KEY": "startup-test",
    }
    env.pop("CONTACTS_REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_production_app_keeps_compiled_templates_for_the_next_start(tmp_path_factory):
    from core import create_app
    from tests.conftest import test_config

    config = test_config(tmp_path_factory, TEMPLATE_BYTECODE_CACHE=True)
    first = create_app(config, plugins=[])
    assert first.test_client().get("/login").status_code == 200
    cache = Path(config["INSTANCE_PATH"]) / "template-cache"
    kept = sorted(cache.glob("__jinja2_*.cache"))
    assert kept  # /login's templates, compiled once
    second = create_app(config, plugins=[])  # the next worker, or the next start: reads them
    bytecode = second.jinja_env.bytecode_cache
    found = []

    def load(bucket, original=bytecode.load_bytecode):
        original(bucket)
        found.append(bucket.code is not None)  # compiled code read from the file

    bytecode.load_bytecode = load
    assert second.test_client().get("/login").status_code == 200
    assert found and all(found)
    assert sorted(cache.glob("__jinja2_*.cache")) == kept


def test_apps_built_for_tests_and_the_cli_compile_templates_in_memory(app):
    assert app.jinja_env.bytecode_cache is None
    assert not (Path(app.instance_path) / "template-cache").exists()


def _run(code: str, tmp_path, **extra_env) -> str:
    env = {**os.environ, "CONTACTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "CONTACTS_INSTANCE_PATH": str(tmp_path),
           "CONTACTS_SECRET_KEY": "startup-test", **extra_env}
    env.pop("CONTACTS_REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_the_default_worker_starts_without_redis_or_psycopg(tmp_path):
    """``contacts worker`` on the default install (SQLite, huey on SQLite): huey's storage module
    would import both drivers as it loads (core/tasks.py imports it with them hidden)."""
    code = (
        "import json, sys\n"
        "from core import create_app\n"
        "from core.tasks import huey_of\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    consumer = huey_of().create_consumer(workers=2, worker_type='thread', periodic=True)\n"
        "print(json.dumps([type(huey_of(app)).__name__, [m for m in ('redis', 'psycopg') if m in sys.modules]]))"
    )
    assert json.loads(_run(code, tmp_path)) == ["SqliteHuey", []]


def test_redis_is_handed_to_huey_when_an_app_asks_for_it(tmp_path):
    """huey was imported without redis; an app with Redis still gets a working RedisHuey (a real
    round trip when the test Redis is configured)."""
    url = os.environ.get("CONTACTS_TEST_REDIS_URL") or ""
    code = (
        "import json, sys\n"
        "from core import tasks\n"
        "from huey import storage\n"
        "assert storage.Redis is None and 'redis' not in sys.modules\n"
        "class App:\n"
        "    config = {'REDIS_URL': " + repr(url or "redis://127.0.0.1:6390/0") + "}\n"
        "huey = tasks.make_huey(App())\n"
        "import redis\n"
        "checks = [type(huey.storage.conn) is redis.Redis, storage.ConnectionError is redis.exceptions.ConnectionError]\n"
        "if " + repr(bool(url)) + ":\n"
        "    key = 'pgpolish-startup-test'\n"
        "    huey.storage.conn.delete(key)\n"
        "    huey.storage.put_data(key, b'x')\n"
        "    checks.append(huey.storage.pop_data(key) == b'x')\n"
        "print(json.dumps(checks))"
    )
    assert all(json.loads(_run(code, tmp_path)))


def test_the_wsgi_app_is_built_without_collections_then_frozen(tmp_path):
    """core/wsgi.py: no garbage collection while the app is built (its objects live as long as the
    process), then they are frozen (later full collections skip them), and the collector is back on."""
    code = (
        "import gc, json, sys\n"
        "collections = []\n"
        "def seen(phase, info):\n"
        "    if phase == 'start' and 'core.checkpoints' in sys.modules:  # the wsgi module's own imports began\n"
        "        collections.append(info['generation'])\n"
        "gc.callbacks.append(seen)\n"
        "import core.wsgi\n"
        "print(json.dumps([collections, gc.isenabled(), gc.get_freeze_count() > 100_000]))"
    )
    assert json.loads(_run(code, tmp_path)) == [[], True, True]
