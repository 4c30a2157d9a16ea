"""The SMTP adapter against a real SMTP server (aiosmtpd on 127.0.0.1): headers and body as
received, header injection refused, 5xx fails, 4xx and a dead server retry, credentials used."""

from __future__ import annotations

import email
import socket
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.extensions import db
from core.models import utcnow
from core.services import accounts
from plugins.communications import delivery
from plugins.communications.models import Communication
from tests import factories

HX = {"HX-Request": "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Keeps every message it accepts; some recipients are refused or deferred."""

    def __init__(self):
        self.messages = []
        self.deferred = set()
        self.logins = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        if address.startswith("later@") and address not in self.deferred:
            self.deferred.add(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Message accepted for delivery"

    def parsed(self):
        return [email.message_from_bytes(content, policy=policy.default) for _f, _t, content in self.messages]


@pytest.fixture
def smtp_server():
    handler = Recorder()

    def authenticator(server, session, envelope, mechanism, auth_data):
        handler.logins.append((mechanism, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == b"s3cret", handled=False)

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture
def smtp(app, smtp_server, monkeypatch):
    controller, handler = smtp_server
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_PORT", controller.port)
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_TLS", "none")
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_TIMEOUT", 10)
    monkeypatch.setitem(app.config, "COMMUNICATIONS_MAIL_FROM", "Contacts CRM <crm@example.org>")
    return handler


@pytest.fixture
def contact_id(app, team):
    with app.app_context():
        return factories.contact(db.session.merge(team), "Grace", "Hopper", email="grace@example.org").id


def _token(app, user) -> dict:
    with app.app_context():
        _row, raw = accounts.create_token(db.session.merge(user), "test")
    return {"Authorization": f"Bearer {raw}"}


def _get(app, comm_id) -> Communication:
    with app.app_context():
        comm = db.session.get(Communication, comm_id)
        _ = comm.events
        db.session.expunge_all()
        return comm


def _make_due(app, comm_id):
    with app.app_context():
        db.session.execute(db.update(Communication).where(Communication.id == comm_id)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _run_sweeper(app):
    """Run the registered periodic huey task, as the worker does every minute."""
    with app.app_context():
        app.extensions["contacts_tasks"][delivery.SWEEP_TASK]()


def _schedule(app, user, contact_id, **data) -> int:
    with app.test_request_context():
        return delivery.schedule(user, contact_id, {"subject": "Hello", "content": "Body", **data}).id


def test_a_scheduled_email_reaches_the_smtp_server_with_its_headers_and_body(app, client, member, contact_id, smtp):
    response = client.post(f"/api/v1/contacts/{contact_id}/communications/send", headers=_token(app, member), json={
        "subject": "Grüße — our meeting", "content": "Dear Grace,\n.\n.hidden line\nBye",
        "when": (utcnow() + timedelta(hours=1)).isoformat(timespec="seconds") + "Z",
    })
    assert response.status_code == 201 and response.get_json()["status"] == "scheduled"
    comm_id = response.get_json()["id"]
    _run_sweeper(app)
    assert smtp.messages == []  # not due yet
    _make_due(app, comm_id)
    _run_sweeper(app)
    comm = _get(app, comm_id)
    assert comm.status == "sent", comm.last_error
    assert len(smtp.messages) == 1
    mail_from, rcpt_tos, _content = smtp.messages[0]
    assert (mail_from, rcpt_tos) == ("crm@example.org", ["grace@example.org"])
    (message,) = smtp.parsed()
    assert message["From"] == "Contacts CRM <crm@example.org>" and message["To"] == "grace@example.org"
    assert message["Subject"] == "Grüße — our meeting"
    assert message["Message-ID"] == f"<{comm.idempotency_key}@example.org>"
    assert message["X-Contacts-Idempotency-Key"] == comm.idempotency_key
    assert message["Date"]
    assert message.get_content().replace("\r\n", "\n") == "Dear Grace,\n.\n.hidden line\nBye\n"  # dots round-trip
    assert comm.events[-1].detail.startswith("accepted by 127.0.0.1: 250")
    assert comm.sent_at is not None and comm.attempts == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "Hi\r\nBcc: victim@example.org"}, "subject"),
        ({"subject": "Hi\nX-Evil: 1"}, "subject"),
        ({"to": "grace@example.org\r\nBcc: victim@example.org"}, "to"),
        ({"to": "grace@example.org\n"}, "to"),
    ],
)
def test_line_breaks_in_subject_or_recipient_are_refused(app, client, member, contact_id, smtp, payload, field):
    response = client.post(f"/api/v1/contacts/{contact_id}/communications/send", headers=_token(app, member),
                           json={"subject": "Hi", "content": "Body", **payload})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
    assert "line breaks" in response.get_json()["errors"][field][0]
    _run_sweeper(app)
    assert smtp.messages == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Communication)) == 0


def test_a_refused_recipient_fails_at_once_with_the_error_shown(app, member, member_client, contact_id, smtp):
    comm_id = _schedule(app, member, contact_id, to="nobody@example.org")
    comm = _get(app, comm_id)
    assert comm.status == "failed" and comm.attempts == 1
    assert comm.last_error.startswith("SMTP RCPT TO refused: 550") and "No such user" in comm.last_error
    html = member_client.get(f"/communications/{comm_id}/entry", headers=HX).get_data(as_text=True)
    assert "Error: SMTP RCPT TO refused: 550" in html
    assert smtp.messages == []


def test_a_deferred_recipient_is_retried_then_sent(app, member, contact_id, smtp):
    comm_id = _schedule(app, member, contact_id, to="later@example.org")
    comm = _get(app, comm_id)
    assert comm.status == "scheduled" and comm.attempts == 1 and "451" in comm.last_error
    assert comm.next_attempt_at > utcnow()
    _make_due(app, comm_id)
    _run_sweeper(app)
    comm = _get(app, comm_id)
    assert comm.status == "sent" and comm.attempts == 2 and comm.last_error is None
    assert len(smtp.messages) == 1


def test_a_dead_server_is_retried_with_backoff_then_failed(app, member, contact_id, monkeypatch):
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_PORT", free_port())  # nobody listens
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_TLS", "none")
    monkeypatch.setitem(app.config, "COMMUNICATIONS_MAX_ATTEMPTS", 2)
    comm_id = _schedule(app, member, contact_id)
    comm = _get(app, comm_id)
    assert comm.status == "scheduled" and "ConnectionRefusedError" in comm.last_error
    _make_due(app, comm_id)
    _run_sweeper(app)
    comm = _get(app, comm_id)
    assert comm.status == "failed" and "ConnectionRefusedError" in comm.last_error
    assert comm.events[-1].detail.startswith("Gave up after 2 attempts")


def test_credentials_come_from_the_environment(app, member, contact_id, smtp_server, monkeypatch):
    controller, handler = smtp_server
    monkeypatch.setenv("CONTACTS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CONTACTS_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("CONTACTS_SMTP_TLS", "none")
    monkeypatch.setenv("CONTACTS_SMTP_USER", "mailer")
    monkeypatch.setenv("CONTACTS_SMTP_PASSWORD", "s3cret")
    comm_id = _schedule(app, member, contact_id)
    assert _get(app, comm_id).status == "sent"
    assert [(login, password) for _m, login, password in handler.logins] == [(b"mailer", b"s3cret")]
    monkeypatch.setenv("CONTACTS_SMTP_PASSWORD", "wrong")
    comm_id = _schedule(app, member, contact_id)
    comm = _get(app, comm_id)
    assert comm.status == "failed" and comm.last_error.startswith("SMTP login refused: 535")
    assert len(handler.messages) == 1


def test_the_compose_panel_names_the_smtp_server(app, member_client, contact_id, smtp):
    html = member_client.get(f"/communications/contacts/{contact_id}/compose", headers=HX).get_data(as_text=True)
    assert "sent through 127.0.0.1:" in html and "No SMTP server is configured" not in html


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("starttls", 587)),
        ({"COMMUNICATIONS_SMTP_PORT": 465}, ("ssl", 465)),
        ({"COMMUNICATIONS_SMTP_PORT": 1025}, ("none", 1025)),
        ({"COMMUNICATIONS_SMTP_TLS": "ssl"}, ("ssl", 465)),
        ({"COMMUNICATIONS_SMTP_TLS": "none"}, ("none", 25)),
    ],
)
def test_tls_and_port_defaults(app, monkeypatch, env, expected):
    from plugins.communications import settings

    for key in ("CONTACTS_SMTP_PORT", "CONTACTS_SMTP_TLS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_HOST", "mail.example.org")
    for key, value in env.items():
        monkeypatch.setitem(app.config, key, value)
    with app.app_context():
        smtp = settings.smtp()
        assert (smtp.tls, smtp.port) == expected
        monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_TLS", "maybe")
        with pytest.raises(ValueError, match="CONTACTS_SMTP_TLS"):
            settings.smtp()


def test_misconfigured_smtp_fails_sends_with_the_reason(app, member, member_client, contact_id, monkeypatch):
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_HOST", "mail.example.org")
    monkeypatch.setitem(app.config, "COMMUNICATIONS_SMTP_TLS", "maybe")
    html = member_client.get(f"/communications/contacts/{contact_id}/compose", headers=HX).get_data(as_text=True)
    assert "Email is misconfigured (CONTACTS_SMTP_TLS must be one of" in html
    comm = _get(app, _schedule(app, member, contact_id))
    assert comm.status == "failed" and comm.last_error.startswith("email is misconfigured: CONTACTS_SMTP_TLS")
