"""A real ``contacts worker`` process against a real SMTP server (aiosmtpd on 127.0.0.1).

* A scheduled email goes out when due, through huey's own scheduler.
* The worker is killed with SIGKILL in the middle of a send — before the SMTP end-of-data, and
  after the server accepted the message but before "sent" was recorded — and a new worker is
  started: the message arrives exactly once (the second case transmits the very same message
  again, same Message-ID and bytes, which the receiver drops; see delivery.py).

Each test gets a database of its own (a SQLite file, or a new PostgreSQL schema when
``CONTACTS_TEST_DATABASE_URL`` is set) and huey on SQLite, or on Redis when
``CONTACTS_TEST_REDIS_URL`` is set. Every wait is bounded.
"""

from __future__ import annotations

import email
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from core import create_app
from core.extensions import db
from core.models import utcnow
from core.services import vocabulary
from core.tasks import huey_of
from plugins.communications import delivery
from plugins.communications.models import Communication
from tests import conftest, factories

CONTACTS = str(Path(sys.executable).with_name("contacts"))
CLAIM_TTL = 2
DEADLINE = 20  # seconds, for each wait


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = DEADLINE):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Mailbox:
    """Every transmission the server accepted, and the mailbox a user sees (one per Message-ID)."""

    def __init__(self):
        self.transmissions = []

    async def handle_DATA(self, server, session, envelope):
        self.transmissions.append(envelope.content)
        return "250 2.0.0 Message accepted"

    def messages(self):
        unique = {}
        for raw in self.transmissions:
            message = email.message_from_bytes(raw, policy=policy.default)
            unique.setdefault(message["Message-ID"], message)
        return list(unique.values())


@pytest.fixture
def database_url(tmp_path):
    base = conftest.TEST_DB
    if not base or not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'contacts.db'}"
        return
    schema = f"crash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def redis_url() -> str | None:
    """A Redis database of these tests' own, so no other test's huey queue is touched."""
    base = conftest.TEST_REDIS
    if not base:
        return None
    return base.rsplit("/", 1)[0] + "/14" if base.count("/") > 2 else base.rstrip("/") + "/14"


class World:
    def __init__(self, tmp_path, database_url, tmp_path_factory):
        self.folder = tmp_path / "instance"
        self.folder.mkdir()
        self.smtp = Mailbox()
        self.controller = Controller(self.smtp, hostname="127.0.0.1", port=free_port())
        self.controller.start()
        self.database_url = database_url
        self.redis = redis_url()
        self.huey_file = str(self.folder / "huey.db")
        self.app = create_app(conftest.test_config(
            tmp_path_factory, INSTANCE_PATH=str(self.folder), SQLALCHEMY_DATABASE_URI=database_url,
            HUEY_IMMEDIATE=False, HUEY_FILENAME=self.huey_file, REDIS_URL=self.redis,
            CACHE_TYPE="SimpleCache", COMMUNICATIONS_SMTP_HOST="127.0.0.1",
            COMMUNICATIONS_SMTP_PORT=self.controller.port, COMMUNICATIONS_SMTP_TLS="none",
            COMMUNICATIONS_CLAIM_TTL_SECONDS=CLAIM_TTL,
        ), plugins=["communications"])
        with self.app.app_context():
            huey_of(self.app).flush()
            db.create_all()
            vocabulary.ensure_defaults()
            team = factories.team("Sales")
            self.user = factories.user("member", [team])
            self.contact_id = factories.contact(team, "Grace", "Hopper", email="grace@example.org").id
            db.session.refresh(self.user)
            _ = self.user.teams
            db.session.expunge_all()
        self.workers = []

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
        env.update({
            "CONTACTS_INSTANCE_PATH": str(self.folder),
            "CONTACTS_DATABASE_URL": self.database_url,
            "CONTACTS_HUEY_FILE": self.huey_file,
            "CONTACTS_PLUGINS": "communications",
            "CONTACTS_SECRET_KEY": "test-secret-key-not-for-production",
            "CONTACTS_SMTP_HOST": "127.0.0.1",
            "CONTACTS_SMTP_PORT": str(self.controller.port),
            "CONTACTS_SMTP_TLS": "none",
            "CONTACTS_MAIL_FROM": "crm@example.org",
            "CONTACTS_COMMUNICATIONS_CLAIM_TTL_SECONDS": str(CLAIM_TTL),
        })
        if self.redis:
            env["CONTACTS_REDIS_URL"] = self.redis
        env.update(extra)
        return env

    def start_worker(self, name: str, **extra) -> tuple[subprocess.Popen, Path]:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([CONTACTS, "worker", "-w", "2"], env=self.env(**extra), stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        return proc, log

    def kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=DEADLINE)

    def schedule(self, **data) -> int:
        with self.app.test_request_context():
            return delivery.schedule(self.user, self.contact_id, {"subject": "Hello Grace", "content": "Body", **data}).id

    def row(self, comm_id: int) -> Communication:
        with self.app.app_context():
            comm = db.session.get(Communication, comm_id)
            _ = comm.events
            db.session.expunge_all()
            return comm

    def close(self):
        for proc in self.workers:
            self.kill(proc)
        self.controller.stop()
        with self.app.app_context():
            huey_of(self.app).flush()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def world(tmp_path, database_url, tmp_path_factory):
    w = World(tmp_path, database_url, tmp_path_factory)
    yield w
    w.close()


def test_huey_runs_on_the_configured_backend(world):
    kind = type(huey_of(world.app)).__name__
    assert kind == ("RedisHuey" if conftest.TEST_REDIS else "SqliteHuey")


def test_the_worker_sends_a_scheduled_email_when_it_is_due(world):
    due = utcnow() + timedelta(seconds=3)
    comm_id = world.schedule(when=due.isoformat(timespec="seconds") + "Z", content="See you at 3.")
    assert world.row(comm_id).status == "scheduled"
    proc, log = world.start_worker("worker")
    wait_for(lambda: world.smtp.transmissions, "the email")
    arrived = utcnow()
    comm = wait_for(lambda: (c := world.row(comm_id)).status == "sent" and c, "status sent")
    assert arrived >= comm.scheduled_at  # not before it was due
    (message,) = world.smtp.messages()
    assert message["To"] == "grace@example.org" and message["From"] == "crm@example.org"
    assert message["Subject"] == "Hello Grace" and message["Message-ID"] == f"<{comm.idempotency_key}@example.org>"
    assert message.get_content().strip() == "See you at 3."
    assert [e.new_status for e in comm.events] == ["scheduled", "sending", "sent"]
    assert proc.poll() is None, log.read_text()


@pytest.mark.parametrize("point", ["before_dot", "after_accept"])
def test_a_worker_killed_mid_send_delivers_exactly_once_after_restart(world, point):
    comm_id = world.schedule()
    first, log = world.start_worker("first", CONTACTS_TEST_SMTP_PAUSE=f"{point}:60")
    wait_for(lambda: f"test pause at {point}" in log.read_text(), f"the worker to pause at {point}")
    world.kill(first)  # SIGKILL: no clean-up, no "sent"
    crashed = world.row(comm_id)
    assert crashed.status == "sending" and crashed.sent_at is None
    if point == "before_dot":
        assert crashed.handover_at is None and world.smtp.transmissions == []
    else:
        assert crashed.handover_at is not None and len(world.smtp.transmissions) == 1

    # While the claim is fresh the sweeper leaves the send alone; once the TTL has passed, it takes it.
    with world.app.app_context():
        assert delivery.due_ids(now=crashed.claimed_at + timedelta(seconds=CLAIM_TTL - 1)) == []
        assert delivery.due_ids(now=crashed.claimed_at + timedelta(seconds=CLAIM_TTL + 1)) == [comm_id]
    wait_for(lambda: utcnow() > crashed.claimed_at + timedelta(seconds=CLAIM_TTL + 0.2), "the claim to expire")

    second, log2 = world.start_worker("second")
    comm = wait_for(lambda: (c := world.row(comm_id)).status == "sent" and c, "status sent after the restart")
    time.sleep(1.5)  # a second delivery, if there were one, would show up now
    assert world.row(comm_id).status == "sent"
    assert comm.attempts == 2
    takeover = next(e for e in comm.events if e.old_status == "sending" and e.new_status == "sending")
    assert "taken over from a worker that stopped" in takeover.detail
    messages = world.smtp.messages()
    assert len(messages) == 1, "exactly one message arrives"
    assert messages[0]["Message-ID"] == f"<{comm.idempotency_key}@example.org>"
    if point == "before_dot":
        # the server never completed the first transmission: only one was ever sent
        assert len(world.smtp.transmissions) == 1
        assert "may have arrived" not in takeover.detail
    else:
        # the server had it; the retry is the same message byte for byte, dropped by Message-ID
        assert len(world.smtp.transmissions) == 2
        assert world.smtp.transmissions[0] == world.smtp.transmissions[1]
        assert "same Message-ID" in takeover.detail
    assert second.poll() is None, log2.read_text()
