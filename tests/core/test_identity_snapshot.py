"""The session user's rows kept in the process under the shared version (core/services/identity_snapshot.py):
a versioned page (the list, a contact page) loads its user without a statement, and a change to the
user, their teams or their role counts from the next request in every process, never stale."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import textwrap

import pytest

from core.extensions import db
from core.models import User
from core.services import accounts
from tests import factories
from tests.statements import captured

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Another worker: an app of its own on the same database, logged in as one user through the session
# cookie; it answers "GET <path>" lines with the status code, until "quit".
WORKER = textwrap.dedent("""
    import json, sys
    from flask_login import FlaskLoginClient
    from core import create_app
    config, plugins, user_id = json.loads(sys.argv[1])
    app = create_app(config, plugins=plugins)
    client = app.test_client()
    with app.app_context():
        from core.extensions import db
        from core.models import User
        user = db.session.get(User, user_id)
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        db.session.remove()
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, path = line.strip().partition(" ")
        if command != "GET":
            break
        print(client.get(path).status_code, flush=True)
""")

KEYS = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "HUEY_IMMEDIATE", "HUEY_FILENAME",
        "RATELIMIT_ENABLED", "REDIS_URL", "CACHE_TYPE", "SERVER_NAME")


class Worker:
    def __init__(self, app, user, tmp_path):
        config = {k: app.config.get(k) for k in KEYS} | {"INSTANCE_PATH": str(tmp_path)}
        plugins = sorted(n for n, info in app.extensions["contacts_plugins"].items() if info.enabled)
        env = {**os.environ, "PYTHONPATH": ROOT}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps([config, plugins, user.id])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        assert self._line() == "ready"

    def _line(self) -> str:
        if not self.selector.select(timeout=120):
            self.proc.kill()
            raise AssertionError("the other worker did not answer in 120 s")
        return self.proc.stdout.readline().strip()

    def get(self, path: str) -> int:
        self.proc.stdin.write(f"GET {path}\n")
        self.proc.stdin.flush()
        return int(self._line())

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def worker(app, member, tmp_path):
    found = Worker(app, member, tmp_path)
    yield found
    found.close()


def _admin_does(app, admin, action, *args):
    with app.test_request_context():
        return action(db.session.get(User, admin.id), *args)


def test_a_list_page_loads_its_user_without_a_statement(app, member_client):
    assert member_client.get("/").status_code == 200  # the process's copy is made
    with captured(app) as seen:
        assert member_client.get("/").status_code == 200
    assert seen and not [s for s in seen if "FROM users" in s]
    with captured(app) as seen:  # a page that reads no stamps reads its user
        assert member_client.get("/dashboard").status_code == 200
    assert [s for s in seen if "FROM users" in s]


def test_changes_count_on_the_next_request_in_another_process(app, admin, member, other_team, worker):
    with app.app_context():
        foreign = factories.contact(db.session.merge(other_team)).id
    assert worker.get("/") == 200
    assert worker.get(f"/contacts/{foreign}") == 404
    assert worker.get(f"/contacts/{foreign}") == 404  # now from the other process's copy
    _admin_does(app, admin, accounts.set_team_membership, other_team.id, member.id, True)
    assert worker.get(f"/contacts/{foreign}") == 200
    assert worker.get("/") == 200
    _admin_does(app, admin, accounts.set_team_membership, other_team.id, member.id, False)
    assert worker.get(f"/contacts/{foreign}") == 404
    _admin_does(app, admin, accounts.update_user, member.id, {"role": "viewer"})
    assert worker.get("/") == 302  # a new role logs the browser sessions out


def test_deactivation_counts_in_another_process(app, admin, member, worker):
    assert worker.get("/") == 200
    assert worker.get("/") == 200
    _admin_does(app, admin, accounts.update_user, member.id, {"active": False})
    assert worker.get("/") == 302
