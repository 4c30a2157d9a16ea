"""The ``contacts`` command: users, tokens, the audit check, plugins, migrations, the worker
and ``serve`` (a real gunicorn and huey consumer in child processes)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import click
import pytest
from sqlalchemy import select, text

from core import hookimpl
from core.cli import cli
from core.extensions import db
from core.models import ApiToken, AuditEntry, User
from core.services import accounts
from tests import factories
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures
from tests.outside_plugin import support
from tests.outside_plugin.support import outside_plugin  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input)

    return invoke


def test_help_lists_the_core_commands(run):
    result = run("--help")
    assert result.exit_code == 0
    for name in ("serve", "worker", "plugins", "user", "token", "audit", "db"):
        assert re.search(rf"^\s+{name}\s", result.output, re.M), name


def test_plugin_commands_from_the_contacts_cli_hook_show_up(tmp_path_factory, make_app):  # noqa: F811
    fake = types.ModuleType("hello_plugin")

    @hookimpl
    def contacts_cli(group):
        @group.command("hello")
        def hello():
            """Say hello from a plugin."""
            click.echo("hello from a plugin")

    fake.contacts_cli = contacts_cli
    app = make_app([fake])
    runner = app.test_cli_runner()
    listing = runner.invoke(cli, ["--help"])
    assert re.search(r"^\s+hello\s+Say hello", listing.output, re.M)
    result = runner.invoke(cli, ["hello"])
    assert result.exit_code == 0, result.output
    assert "hello from a plugin" in result.output


def test_plugins_lists_versions_state_and_errors(make_app):  # noqa: F811
    app = make_app(["communications", "planning", "no_such_plugin_module"])
    result = app.test_cli_runner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert re.match(r"communications\s+0\.\d+\.\d+\s+enabled", lines["communications"])
    assert "enabled" in lines["planning"]
    assert re.search(r"\sdisabled\s", lines["monitoring"])  # installed, not chosen
    assert "error: ModuleNotFoundError" in lines["no_such_plugin_module"]


def test_user_create_prints_a_one_time_password(app, run, team):
    result = run("user", "create", "New.Person@Example.org", "--role", "manager", "--team", "sales")
    assert result.exit_code == 0, result.output
    password = re.search(r"one-time password: (\S+)", result.output).group(1)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.person@example.org"))
        assert user.role == "manager" and [t.name for t in user.teams] == ["Sales"] and user.must_change_password
        assert accounts.authenticate("new.person@example.org", password).id == user.id


def test_user_create_reads_the_password_from_stdin(app, run):
    result = run("user", "create", "quiet@example.org", "--role", "viewer", "--password-stdin",
                 input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "one-time password" not in result.output
    with app.app_context():
        assert accounts.authenticate("quiet@example.org", "a long enough password") is not None
        assert not db.session.scalar(select(User.must_change_password).where(User.email == "quiet@example.org"))


def test_user_create_can_create_the_team(app, run):
    result = run("user", "create", "t@example.org", "--team", "Research", "--create-team")
    assert result.exit_code == 0, result.output
    assert "created team Research" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "t@example.org"))
        assert [t.name for t in user.teams] == ["Research"]


@pytest.mark.parametrize(
    ("args", "stdin", "field"),
    [
        (("not-an-email",), None, "email"),
        (("x@example.org", "--team", "Nowhere"), None, "team"),
        (("x@example.org", "--password-stdin"), "short\n", "password"),
    ],
)
def test_user_create_names_the_bad_field(app, run, team, args, stdin, field):
    result = run("user", "create", *args, input=stdin)
    assert result.exit_code == 2
    assert f"error: {field}:" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_user_create_refuses_a_duplicate_email(run, member):
    result = run("user", "create", member.email.upper())
    assert result.exit_code == 2
    assert "error: email: A user with this email already exists." in result.output


def test_token_create_prints_the_token_once(app, run, member):
    result = run("token", "create", member.email, "laptop")
    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    assert raw.startswith("ctk_")
    with app.test_request_context():
        assert accounts.user_for_token(raw).id == member.id
        stored = db.session.scalar(select(ApiToken).where(ApiToken.user_id == member.id))
        assert stored.name == "laptop" and raw not in (stored.token_hash, stored.prefix)


def test_token_create_for_an_unknown_user_fails(run):
    result = run("token", "create", "nobody@example.org", "laptop")
    assert result.exit_code == 2
    assert "error: email:" in result.output


def test_token_create_needs_a_name(run, member):
    result = run("token", "create", member.email, "  ")
    assert result.exit_code == 2
    assert "error: name:" in result.output


def test_audit_verify_reports_ok_then_the_first_edited_entry(app, run):
    with app.app_context():
        for i in range(3):
            accounts.create_team(accounts.SYSTEM, f"Team {i}")
        ids = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
    ok = run("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == f"ok {len(ids)} entries"

    with app.app_context():
        db.session.execute(text("UPDATE audit_entries SET action = 'deleted' WHERE id = :id"), {"id": ids[1]})
        db.session.commit()
    bad = run("audit", "verify")
    assert bad.exit_code == 1
    assert f"audit entry {ids[1]} is bad" in bad.output
    assert "edited" in bad.output


def test_audit_verify_notices_a_deleted_entry(app, run):
    with app.app_context():
        for i in range(3):
            accounts.create_team(accounts.SYSTEM, f"Team {i}")
        ids = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
        db.session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": ids[1]})
        db.session.commit()
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert f"audit entry {ids[2]} is bad" in result.output


def test_db_commands_upgrade_heads_and_downgrade_a_plugin(make_app):  # noqa: F811
    from sqlalchemy import inspect

    app = make_app(["communications", "planning"])
    runner = app.test_cli_runner()
    heads = runner.invoke(cli, ["db", "heads"])
    assert heads.exit_code == 0, heads.output
    labels = re.findall(r"^\w+ \((\w+)\) \((?:effective )?head\)$", heads.output, re.M)
    assert sorted(labels) == ["communications", "core", "planning"]  # one head per branch

    upgrade = runner.invoke(cli, ["db", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {"contacts", "communications", "planning_legacy_lists"} <= tables
    current = runner.invoke(cli, ["db", "current"])
    assert current.exit_code == 0

    down = runner.invoke(cli, ["db", "downgrade", "planning@base"])
    assert down.exit_code == 0, down.output
    with app.app_context():
        after = set(inspect(db.engine).get_table_names())
    assert {t for t in tables - after} == {t for t in tables if t.startswith("planning_")}
    assert "communications" in after


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"  # a zombie has exited


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
    env.update(
        CONTACTS_INSTANCE_PATH=str(tmp_path / "instance"),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(support.FOLDER), env.get("PYTHONPATH", "")]),
    )
    env.update(extra)
    return env


def _wait_for(predicate, timeout: float, proc=None, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process exited ({proc.returncode}) before {what}")
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def test_serve_runs_gunicorn_and_the_worker_and_stops_both_on_ctrl_c(tmp_path):
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", "--port", str(port), "--workers", "1", "--worker-threads", "1"],
            cwd=tmp_path, env=_env(tmp_path), stdout=out, stderr=subprocess.STDOUT,
        )
    try:

        def answers():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:  # noqa: S310
                    return response.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        _wait_for(answers, 90, proc, "the login page")
        _wait_for(lambda: "started worker" in log.read_text(), 10, proc, "the worker")
        output = log.read_text()
        assert re.search(r"admin@example\.org with the one-time password: \S{12,}", output)
        pids = [int(p) for p in re.findall(r"started \w+ \(pid (\d+)\)", output)]
        assert len(pids) == 2
        grandchildren = [c for pid in pids for c in _children(pid)]
        assert all(_alive(pid) for pid in pids)

        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()
    assert not [pid for pid in pids + grandchildren if _alive(pid)]
    assert "stopped" in log.read_text()


def test_serve_stops_when_a_child_dies(tmp_path):
    """The parent exits (non-zero) when the web server cannot start, and takes the worker with it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "core.cli", "serve", "--port", str(port), "--workers", "1", "--worker-threads", "1"],
            cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode != 0
    assert "web exited with code" in proc.stdout
    worker_pid = int(re.search(r"started worker \(pid (\d+)\)", proc.stdout).group(1))
    assert not _alive(worker_pid)


def test_worker_runs_queued_tasks(tmp_path, outside_plugin):  # noqa: F811
    """A task queued by the app (here the outside plugin's) is run by ``contacts worker``."""
    from datetime import date

    from contacts_birthdays.models import Birthday

    from core import create_app
    from core.tasks import enqueue

    db_url = f"sqlite:///{tmp_path / 'worker.db'}"
    huey_file = tmp_path / "huey.db"
    config_env = _env(
        tmp_path, CONTACTS_DATABASE_URL=db_url, CONTACTS_HUEY_FILE=str(huey_file), CONTACTS_PLUGINS=support.NAME
    )
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": db_url, "HUEY_FILENAME": str(huey_file), "HUEY_IMMEDIATE": False,
         "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "x" * 32},
        plugins=[support.NAME],
    )
    with app.app_context():
        db.create_all()
        team = factories.team("Sales")
        today = date.today()
        for i in range(2):
            contact = factories.contact(team)
            db.session.add(Birthday(contact_id=contact.id, day=today.replace(year=1992 + 4 * i)))
        db.session.commit()
        result = enqueue("birthdays.count_today")
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "worker", "--workers", "1", "--no-periodic"],
        cwd=tmp_path, env=config_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        value = result.get(blocking=True, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert value == 2


# --- the supervisor and static compression, in process -------------------------------------------


def _sleeper(seconds: float, code: int = 0) -> list[str]:
    return [sys.executable, "-c", f"import sys, time; time.sleep({seconds}); sys.exit({code})"]


def test_supervise_stops_every_child_on_a_signal():
    import threading

    from core.serve import supervise

    started = []
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        code = supervise({"one": _sleeper(60), "two": _sleeper(60)}, log=started.append, poll=0.05)
    finally:
        timer.cancel()
    assert code == 0
    pids = [int(p) for line in started for p in re.findall(r"pid (\d+)", line)]
    assert len(pids) == 2 and not any(_alive(pid) for pid in pids)
    assert "received SIGTERM; stopping" in started


def test_supervise_exits_with_the_dead_childs_code_and_stops_the_other():
    from core.serve import supervise

    lines = []
    code = supervise({"short": _sleeper(0.2, code=3), "long": _sleeper(60)}, log=lines.append, poll=0.05)
    assert code == 3
    assert "short exited with code 3; stopping the others" in lines
    pids = [int(p) for line in lines for p in re.findall(r"pid (\d+)", line)]
    assert not any(_alive(pid) for pid in pids)


def test_supervise_kills_a_child_that_ignores_sigterm(monkeypatch):
    import core.serve as serve_module

    stubborn = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"]
    proc = subprocess.Popen(stubborn, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    serve_module._stop({"stubborn": proc}, timeout=0.5)
    assert proc.returncode == -signal.SIGKILL


def test_compress_static_writes_gzip_once(tmp_path):
    from core.serve import compress_static

    (tmp_path / "css").mkdir()
    css = tmp_path / "css" / "site.css"
    css.write_text("body { color: black; }\n" * 200)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG" + b"\x00" * 2000)
    assert compress_static([tmp_path, tmp_path / "missing"]) == 1
    assert (tmp_path / "css" / "site.css.gz").exists()
    assert not (tmp_path / "logo.png.gz").exists()  # already compressed formats are skipped
    assert compress_static([tmp_path]) == 0  # up to date: nothing to do
    css.write_text("body { color: red; }\n" * 200)
    os.utime(css, (time.time() + 5, time.time() + 5))
    assert compress_static([tmp_path]) == 1


def test_a_compressed_copy_older_than_its_file_is_not_served(tmp_path):
    """``contacts serve`` leaves .gz copies beside the static files (git-ignored); a file edited
    since (a checkout, a test run without serve) was served from its stale copy to every browser
    that accepts gzip. Only a copy at least as new as its file is served."""
    import gzip

    from werkzeug.test import Client

    from core.serve import StaticFiles

    js = tmp_path / "app.js"
    js.write_text("let fresh = 1;\n" * 100)
    (tmp_path / "app.js.gz").write_bytes(gzip.compress(b"let stale = 1;\n" * 100))
    os.utime(tmp_path / "app.js.gz", (time.time() - 60, time.time() - 60))

    def served():
        app = StaticFiles(lambda environ, start: [], root=str(tmp_path), prefix="static/")
        response = Client(app).get("/static/app.js", headers={"Accept-Encoding": "gzip"})
        body = response.get_data()
        return response.headers.get("Content-Encoding"), gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body

    assert served() == (None, js.read_bytes())
    (tmp_path / "app.js.gz").write_bytes(gzip.compress(js.read_bytes()))  # written now: up to date
    assert served() == ("gzip", js.read_bytes())


def test_compile_bytecode_writes_each_module_once_even_when_python_is_told_not_to(tmp_path, monkeypatch):
    import importlib.util

    from core.serve import compile_bytecode

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("X = 1\n")
    (package / "sub" / "mod.py").write_text("Y = 2\n")
    assert compile_bytecode([package, tmp_path / "missing"]) is True
    modules = (package / "__init__.py", package / "sub" / "mod.py")
    caches = [Path(importlib.util.cache_from_source(str(p))) for p in modules]
    assert all(c.exists() for c in caches)
    written = [c.stat().st_mtime_ns for c in caches]
    os.utime(caches[0], ns=(written[0] - 10**9, written[0] - 10**9))  # so a rewrite would show
    assert compile_bytecode([package]) is True
    assert caches[0].stat().st_mtime_ns == written[0] - 10**9  # up to date: not written again


def test_compile_bytecode_reports_a_folder_it_cannot_write(tmp_path):
    from core.serve import compile_bytecode

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text("Y = 2\n")
    (package / "broken.py").write_text("def (:\n")  # a module that cannot compile stands for any failure
    said = []
    assert compile_bytecode([package], log=said.append) is False
    assert said == [f"could not write the bytecode of every module in {package}"]


def test_gunicorn_command_serves_the_wsgi_app():
    from core.serve import gunicorn_command, worker_command

    command = gunicorn_command("127.0.0.1", 8123, 3)
    assert command[:3] == [sys.executable, "-m", "gunicorn"]
    assert command[-1] == "core.wsgi:app"
    assert command[command.index("--bind") + 1] == "127.0.0.1:8123"
    assert command[command.index("--workers") + 1] == "3"
    assert int(command[command.index("--timeout") + 1]) >= 600  # a streamed export of 1M contacts is not cut off
    # threaded workers keep clients' connections alive (a sync worker closes each after one answer)
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert int(command[command.index("--threads") + 1]) >= 1 and int(command[command.index("--keep-alive") + 1]) > 0
    assert worker_command(2)[1:] == ["-m", "core.cli", "worker", "--workers", "2"]


GADGETS_INIT = '''
from pathlib import Path

from core import hookimpl

FOLDER = Path(__file__).parent / "migrations"


@hookimpl
def contacts_migration_dirs():
    from . import models  # noqa: F401

    return [str(FOLDER)]
'''

GADGETS_MODELS = '''
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class Gadget(db.Model):
    __tablename__ = "gadgets_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(40), unique=True)
'''


@pytest.fixture
def gadgets(tmp_path, monkeypatch):
    """A throw-away plugin with a model and an empty migrations folder."""
    package = tmp_path / "pkgs" / "gadgets"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text(GADGETS_INIT)
    (package / "models.py").write_text(GADGETS_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    yield package
    table = db.metadata.tables.get("gadgets_items")
    if table is not None:
        db.metadata.remove(table)  # the session's test database never had it
    for name in [m for m in sys.modules if m == "gadgets" or m.startswith("gadgets.")]:
        del sys.modules[name]


def test_db_revision_starts_and_extends_a_plugin_branch(make_app, gadgets):  # noqa: F811
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    app = make_app(["gadgets"])
    runner = app.test_cli_runner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0

    made = runner.invoke(cli, ["db", "revision", "--plugin", "gadgets", "--initial", "-m", "gadgets: items"])
    assert made.exit_code == 0, made.output
    (script,) = (gadgets / "migrations").glob("gadgets_0001_*.py")
    source = script.read_text()
    assert "revision = 'gadgets_0001'" in source and "down_revision = None" in source
    assert "branch_labels = ('gadgets',)" in source and "depends_on = 'core_0001'" in source
    assert source.count("op.create_table(") == 1 and "op.create_table('gadgets_items'" in source  # only its tables

    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    with app.app_context():
        assert "gadgets_items" in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": lambda o, n, t, r, c: (
                (o if t == "table" else getattr(o, "table", o)).name == "gadgets_items")})
            assert compare_metadata(context, db.metadata) == []

    again = runner.invoke(cli, ["db", "revision", "--plugin", "gadgets", "-m", "nothing changed"])
    assert again.exit_code == 0, again.output
    assert len(list((gadgets / "migrations").glob("*.py"))) == 1  # no empty revision written

    unknown = runner.invoke(cli, ["db", "revision", "--plugin", "nope", "--initial", "-m", "x"])
    assert unknown.exit_code != 0 and "not an enabled plugin" in unknown.output


def test_serve_prepares_the_database_before_starting_the_children(make_app, monkeypatch):  # noqa: F811
    """In process: migrate, seed the vocabularies, create the admin once, then hand over."""
    import core.serve as serve_module
    from core.models import ContactType

    started, compiled = [], []
    monkeypatch.setattr(serve_module, "supervise", lambda commands, log: started.append(commands) or 0)
    monkeypatch.setattr(serve_module, "compile_bytecode", lambda folders, log: compiled.append(folders))
    app = make_app(["planning"])
    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["serve", "--port", "5999", "--workers", "3", "--worker-threads", "4"])
    assert first.exit_code == 0, first.output
    assert re.search(r"admin@example\.org with the one-time password: \S+", first.output)
    assert "serving on http://127.0.0.1:5999" in first.output
    (commands,) = started
    assert commands["web"][-1] == "core.wsgi:app" and "127.0.0.1:5999" in commands["web"]
    assert commands["worker"][-3:] == ["worker", "--workers", "4"]
    import core
    import plugins.planning

    code = [Path(core.__file__).resolve().parent, Path(plugins.planning.__file__).resolve().parent]
    assert compiled == [code]  # the code the web workers import, compiled before they start
    with app.app_context():
        from sqlalchemy import func, inspect

        assert "planning_legacy_lists" in inspect(db.engine).get_table_names()
        assert db.session.scalar(select(func.count()).select_from(ContactType)) > 0
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        db.session.remove()

    second = runner.invoke(cli, ["serve", "--port", "5999", "--admin-email", "other@example.org"])
    assert second.exit_code == 0, second.output
    assert "one-time password" not in second.output  # an admin exists: nothing printed


def test_serve_refuses_a_bad_admin_email(make_app, monkeypatch):  # noqa: F811
    import core.serve as serve_module

    monkeypatch.setattr(serve_module, "supervise", lambda commands, log: pytest.fail("must not start"))
    app = make_app([])
    result = app.test_cli_runner().invoke(cli, ["serve", "--admin-email", "not an email"])
    assert result.exit_code == 2
    assert "error: email:" in result.output


def test_upgrade_after_disabling_a_migrated_plugin(make_app):  # noqa: F811
    """A plugin migrated, then disabled: its revisions stay readable, its tables untouched, and
    ``downgrade <plugin>@base`` still removes them."""
    from sqlalchemy import inspect

    with_planning = make_app(["planning"])
    assert with_planning.test_cli_runner().invoke(cli, ["db", "upgrade"]).exit_code == 0

    without = make_app(["monitoring"])  # the same database
    runner = without.test_cli_runner()
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    with without.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert "monitoring_activity" in tables and any(t.startswith("planning_") for t in tables)

    down = runner.invoke(cli, ["db", "downgrade", "planning@base"])
    assert down.exit_code == 0, down.output
    with without.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert "monitoring_activity" in tables and not any(t.startswith("planning_") for t in tables)
