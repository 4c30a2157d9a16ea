"""Delivery: schedule / send now / cancel / reschedule, the outbox claim, the sweeper, retries
with backoff, consent blocks, the file outbox, plugin channels and hooks, the API and the HTMX
fragments. The SMTP adapter has its own file; killing a real worker is in ..._crash.py."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from email import policy
from pathlib import Path

import pytest

from core import hookimpl
from core.errors import PermissionDenied
from core.extensions import db
from core.models import AuditEntry, utcnow
from core.services import accounts
from plugins.communications import channels, consent, delivery, settings
from plugins.communications.adapters.base import (
    DeliveryResult,
    OutgoingMessage,
    PermanentError,
    TemporaryError,
    build_email,
)
from plugins.communications.models import Communication, CommunicationEvent
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def contact_id(app, team):
    with app.app_context():
        return factories.contact(db.session.merge(team), "Grace", "Hopper", email="grace@example.org",
                                 phone="+15551234567").id


@pytest.fixture
def outbox(app):
    folder = Path(app.config["INSTANCE_PATH"]) / "outbox"
    for f in folder.glob("*"):
        f.unlink()
    return folder


class Plugin:
    """A test plugin: adds channels, records the plugin's own events."""

    def __init__(self, channel_list=()):
        self.channel_list = list(channel_list)
        self.changes, self.sent, self.failed = [], [], []

    @hookimpl
    def communications_channels(self):
        return self.channel_list

    @hookimpl
    def communications_status_changed(self, communication, old, new):
        self.changes.append((communication.id, old, new))

    @hookimpl
    def communications_sent(self, communication):
        self.sent.append((communication.id, communication.status))

    @hookimpl
    def communications_failed(self, communication, error):
        self.failed.append((communication.id, error))


@pytest.fixture
def plugin(app):
    pm = app.extensions["contacts_pm"]
    p = Plugin()
    pm.register(p, name="test-comm-plugin")
    yield p
    pm.unregister(p)


class Flaky:
    """An adapter that fails ``failures`` times (temporary, or permanent), then sends."""

    def __init__(self, failures: int, permanent: bool = False):
        self.failures, self.permanent, self.calls = failures, permanent, []

    def send(self, message: OutgoingMessage):
        self.calls.append(message)
        if len(self.calls) <= self.failures:
            raise (PermanentError if self.permanent else TemporaryError)(f"boom {len(self.calls)}")
        assert message.handover()
        return DeliveryResult("sent", "ok")


def _schedule(app, user, contact_id, **data):
    with app.test_request_context():
        comm = delivery.schedule(user, contact_id, {"subject": "Hello", "content": "Dear Grace,\nhi.", **data})
        return comm.id


def _get(app, comm_id) -> Communication:
    with app.app_context():
        comm = db.session.get(Communication, comm_id)
        _ = comm.events
        db.session.expunge_all()
        return comm


def _make_due(app, comm_id, ago=timedelta(seconds=1)):
    """Let time pass: the send's due time is now in the past."""
    with app.app_context():
        when = utcnow() - ago
        db.session.execute(db.update(Communication).where(Communication.id == comm_id)
                           .values(next_attempt_at=when))
        db.session.commit()


def _sweep(app) -> int:
    with app.app_context():
        return delivery.sweep()


def _statuses(comm) -> list:
    return [(e.old_status, e.new_status) for e in comm.events]


# --- sending now, the file outbox ---------------------------------------------------------------


def test_send_now_goes_to_the_file_outbox_exactly_once(app, member, contact_id, outbox, plugin):
    comm_id = _schedule(app, member, contact_id)
    comm = _get(app, comm_id)
    assert comm.status == "sent" and comm.attempts == 1 and comm.sent_at is not None
    assert comm.to_address == "grace@example.org" and comm.channel == "email" and comm.type == "email"
    assert _statuses(comm) == [(None, "scheduled"), ("scheduled", "sending"), ("sending", "sent")]
    assert comm.events[0].actor_id == member.id and comm.events[2].actor_id is None
    files = list(outbox.glob("*.eml"))
    assert [f.name for f in files] == [f"{comm.idempotency_key}.eml"]
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "grace@example.org" and message["Subject"] == "Hello"
    assert message["Message-ID"] == f"<{comm.idempotency_key}@localhost>"
    assert message["X-Contacts-Idempotency-Key"] == comm.idempotency_key
    assert message.get_content() == "Dear Grace,\nhi.\n"
    assert plugin.changes == [(comm_id, None, "scheduled"), (comm_id, "scheduled", "sending"), (comm_id, "sending", "sent")]
    assert plugin.sent == [(comm_id, "sent")]
    # running the task again (a duplicate wake-up) changes nothing
    with app.app_context():
        assert delivery.deliver(comm_id) == "not claimed"
    assert len(list(outbox.glob("*.eml"))) == 1
    with app.app_context():
        audit = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "communication")).all()
        assert [(a.action, a.entity_id, a.actor_id) for a in audit] == [("scheduled", comm_id, member.id)]


def test_the_outbox_file_is_written_once_even_if_the_worker_died_after_writing_it(app, member, contact_id, outbox):
    """A crash after the file appeared but before "sent" was recorded: the retry finds the file."""
    comm_id = _schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat())
    with app.app_context():
        comm = db.session.get(Communication, comm_id)
        adapter = channels.registry()["email"].adapter
        adapter.send(OutgoingMessage(comm.id, comm.idempotency_key, "email", comm.to_address, "Hello", "first"))
        long_ago = utcnow() - timedelta(hours=2)
        db.session.execute(db.update(Communication).where(Communication.id == comm_id).values(
            status="sending", claim_token="deadworker", claimed_at=long_ago, handover_at=long_ago, attempts=1))
        db.session.commit()
    assert _sweep(app) == 1
    comm = _get(app, comm_id)
    assert comm.status == "sent" and comm.attempts == 2
    assert "already in the outbox" in comm.events[-1].detail
    assert "taken over from a worker that stopped" in comm.events[-2].detail
    assert "same Message-ID" in comm.events[-2].detail
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1 and b"first" in files[0].read_bytes()


# --- scheduling, the sweeper --------------------------------------------------------------------


def test_a_scheduled_send_waits_until_due_then_the_sweeper_sends_it(app, member, contact_id, outbox):
    when = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    comm_id = _schedule(app, member, contact_id, when=when.isoformat())
    comm = _get(app, comm_id)
    assert (comm.status, comm.scheduled_at, comm.next_attempt_at, comm.attempts) == ("scheduled", when, when, 0)
    assert _sweep(app) == 0  # not due yet (immediate huey never runs a task queued for later)
    with app.app_context():
        assert delivery.deliver(comm_id) == "not claimed"  # an early wake-up does not send
    assert _get(app, comm_id).status == "scheduled" and not list(outbox.glob("*.eml"))
    _make_due(app, comm_id)
    assert _sweep(app) == 1
    assert _get(app, comm_id).status == "sent"
    assert len(list(outbox.glob("*.eml"))) == 1
    assert _sweep(app) == 0


def test_the_time_is_read_in_the_chosen_zone_and_stored_in_utc(app, member, contact_id):
    comm_id = _schedule(app, member, contact_id, when="2030-01-15T10:00", timezone="Europe/Paris")
    comm = _get(app, comm_id)
    assert comm.scheduled_at == datetime(2030, 1, 15, 9, 0) and comm.timezone == "Europe/Paris"
    assert comm.scheduled_local.strftime("%H:%M") == "10:00"
    summer = _schedule(app, member, contact_id, when="2030-07-15T10:00", timezone="America/New_York")
    assert _get(app, summer).scheduled_at == datetime(2030, 7, 15, 14, 0)
    offset = _schedule(app, member, contact_id, when="2030-07-15T10:00+02:00", timezone="America/New_York")
    assert _get(app, offset).scheduled_at == datetime(2030, 7, 15, 8, 0)  # an explicit offset wins


def test_claims_are_atomic(app, member, contact_id):
    comm_id = _schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat())
    _make_due(app, comm_id)
    with app.app_context():
        first = delivery._claim(comm_id, utcnow())
        second = delivery._claim(comm_id, utcnow())
        assert first is not None and second is None
        # the loser of a race can neither hand over nor record an outcome
        assert delivery._handover(comm_id, "not-the-token")() is False
        assert delivery._finish(comm_id, "not-the-token", "sent", "x") is False
        assert delivery._handover(comm_id, first[1])() is True
        assert delivery._finish(comm_id, first[1], "sent", "done") is True
    assert _get(app, comm_id).status == "sent"


def test_a_stuck_send_is_taken_over_only_after_the_claim_ttl(app, member, contact_id, outbox, monkeypatch):
    comm_id = _schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat())
    _make_due(app, comm_id)
    with app.app_context():
        assert delivery._claim(comm_id, utcnow()) is not None  # a worker claims it, then dies
    assert _sweep(app) == 0  # the claim is fresh: the worker may still be alive
    monkeypatch.setitem(app.config, "COMMUNICATIONS_CLAIM_TTL_SECONDS", 1)
    with app.app_context():
        db.session.execute(db.update(Communication).where(Communication.id == comm_id)
                           .values(claimed_at=utcnow() - timedelta(seconds=5)))
        db.session.commit()
    assert _sweep(app) == 1
    comm = _get(app, comm_id)
    assert comm.status == "sent" and comm.attempts == 2
    assert "may have arrived" not in comm.events[-2].detail  # nothing was handed over before the crash
    assert len(list(outbox.glob("*.eml"))) == 1


# --- cancel, reschedule, send now ---------------------------------------------------------------


def test_cancel_then_it_is_never_sent(app, member, contact_id, outbox):
    comm_id = _schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat())
    with app.test_request_context():
        delivery.cancel(member, comm_id)
        with pytest.raises(delivery.Conflict, match="already cancelled"):
            delivery.cancel(member, comm_id)
    _make_due(app, comm_id)
    assert _sweep(app) == 0
    comm = _get(app, comm_id)
    assert comm.status == "cancelled" and _statuses(comm)[-1] == ("scheduled", "cancelled")
    assert comm.events[-1].actor_id == member.id and not list(outbox.glob("*.eml"))


def test_reschedule_and_send_now(app, member, contact_id, outbox):
    comm_id = _schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat())
    with app.test_request_context():
        delivery.reschedule(member, comm_id, {"when": "2031-05-01T08:30", "timezone": "Asia/Tokyo"})
    comm = _get(app, comm_id)
    assert comm.status == "scheduled" and comm.next_attempt_at == datetime(2031, 4, 30, 23, 30)
    assert comm.timezone == "Asia/Tokyo" and "Rescheduled for 2031-04-30 23:30 UTC" in comm.events[-1].detail
    with app.test_request_context():
        delivery.send_now(member, comm_id)
    comm = _get(app, comm_id)
    assert comm.status == "sent" and len(list(outbox.glob("*.eml"))) == 1
    with app.test_request_context():
        with pytest.raises(delivery.Conflict, match="already sent"):
            delivery.reschedule(member, comm_id, {"when": "2031-05-01T08:30"})
        with pytest.raises(delivery.Conflict, match="already sent"):
            delivery.cancel(member, comm_id)


def test_a_sending_send_cannot_be_cancelled(app, member, contact_id):
    comm_id = _schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat())
    _make_due(app, comm_id)
    with app.app_context():
        delivery._claim(comm_id, utcnow())
    with app.test_request_context(), pytest.raises(delivery.Conflict, match="being sent right now"):
        delivery.cancel(member, comm_id)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"subject": "Hi\r\nBcc: everyone@example.org"}, "subject", "line breaks"),
        ({"subject": "Hi\n"}, "subject", "line breaks"),
        ({"to": "a@example.org\r\nBcc: b@example.org"}, "to", "line breaks"),
        ({"to": "not an address"}, "to", "Not a valid email address"),
        ({"subject": ""}, "subject", "needs a subject"),
        ({"content": ""}, "content", "Write the message"),
        ({"when": "tomorrow"}, "when", "Not a date and time"),
        ({"when": "2001-01-01T00:00"}, "when", "in the past"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Not a known time zone"),
        ({"channel": "pigeon"}, "channel", "Choose one of"),
        ({"status": "sent"}, "status", "Unknown field"),
        ({"idempotency_key": "short"}, "idempotency_key", "16 to 64"),
        ({"subject": 5}, "subject", "Must be a string"),
    ],
)
def test_bad_input_is_refused_naming_the_field(app, member, contact_id, data, field, message):
    with app.test_request_context(), pytest.raises(delivery.ValidationError) as caught:
        delivery.schedule(member, contact_id, {"subject": "Hello", "content": "Body", **data})
    assert field in caught.value.errors and message in " ".join(caught.value.errors[field])
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Communication)) == 0


def test_a_contact_without_email_needs_an_address(app, member, team):
    with app.app_context():
        cid = factories.contact(db.session.merge(team), "No", "Mail").id
    with app.test_request_context(), pytest.raises(delivery.ValidationError) as caught:
        delivery.schedule(member, cid, {"subject": "Hello", "content": "Body"})
    assert "no email address" in caught.value.errors["to"][0]


def test_permissions(app, viewer, outsider, contact_id):
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            delivery.schedule(viewer, contact_id, {"subject": "Hello", "content": "Body"})
        with pytest.raises(delivery.NotFound):
            delivery.schedule(outsider, contact_id, {"subject": "Hello", "content": "Body"})


# --- retries and failures -----------------------------------------------------------------------


def test_failed_sends_retry_with_backoff_then_end_failed_with_the_error(app, member, contact_id, plugin, monkeypatch):
    flaky = Flaky(failures=99)
    plugin.channel_list = [channels.Channel("email", "Email", "email", flaky)]
    monkeypatch.setitem(app.config, "COMMUNICATIONS_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "COMMUNICATIONS_RETRY_BASE_SECONDS", 60)
    comm_id = _schedule(app, member, contact_id)  # send now: the first attempt runs at once
    delays = []
    for attempt in (1, 2):
        comm = _get(app, comm_id)
        assert comm.status == "scheduled" and comm.attempts == attempt and comm.last_error == f"boom {attempt}"
        delays.append(round((comm.next_attempt_at - comm.events[-1].at).total_seconds()))
        assert f"Attempt {attempt} of 3 failed: boom {attempt}; next try at" in comm.events[-1].detail
        assert _sweep(app) == 0  # not before the backoff has passed
        _make_due(app, comm_id)
        assert _sweep(app) == 1
    assert delays == [60, 120]  # exponential backoff
    comm = _get(app, comm_id)
    assert comm.status == "failed" and comm.attempts == 3 and comm.last_error == "boom 3"
    assert comm.events[-1].detail == "Gave up after 3 attempts: boom 3"
    assert len(flaky.calls) == 3 and len({m.idempotency_key for m in flaky.calls}) == 1
    assert plugin.failed == [(comm_id, "boom 3")]
    assert _sweep(app) == 0
    with app.app_context():
        assert settings.retry_delay_seconds(20) == 3600  # capped


def test_a_permanent_error_fails_at_once_and_the_user_can_retry(app, member, member_client, contact_id, plugin):
    flaky = Flaky(failures=1, permanent=True)
    plugin.channel_list = [channels.Channel("email", "Email", "email", flaky)]
    comm_id = _schedule(app, member, contact_id)
    comm = _get(app, comm_id)
    assert comm.status == "failed" and comm.attempts == 1 and comm.last_error == "boom 1"
    html = member_client.get(f"/communications/{comm_id}/entry", headers=HX).get_data(as_text=True)
    assert "Error: boom 1" in html and ">failed<" in html and "Retry now" in html
    response = member_client.post(f"/communications/{comm_id}/send-now", headers=HX)
    assert response.status_code == 200 and ">sent<" in response.get_data(as_text=True)
    assert _get(app, comm_id).status == "sent"


# --- consent ------------------------------------------------------------------------------------


def test_a_blocked_send_is_recorded_with_the_reason(app, member, member_client, contact_id, outbox, plugin, monkeypatch):
    seen = []

    def blocked(contact, channel, at):
        seen.append((contact.id, channel))
        return "opted out of email"

    monkeypatch.setattr(consent, "blocked_reason", blocked)
    response = member_client.post(f"/communications/contacts/{contact_id}/compose",
                                  data={"subject": "Hello", "content": "Body", "action": "now"}, headers=HX)
    assert response.status_code == 200
    assert "Not sent — opted out of email" in response.get_data(as_text=True)
    with app.app_context():
        comm = db.session.scalars(db.select(Communication)).one()
        assert (comm.status, comm.last_error, comm.next_attempt_at) == ("blocked", "opted out of email", None)
        assert [(e.new_status, e.detail) for e in comm.events] == [("blocked", "Not sent: opted out of email")]
        comm_id = comm.id
    assert seen == [(contact_id, "email")]
    assert plugin.failed == [(comm_id, "opted out of email")]
    assert _sweep(app) == 0 and not list(outbox.glob("*.eml"))
    timeline = member_client.get(f"/communications/contacts/{contact_id}/timeline", headers=HX).get_data(as_text=True)
    assert "Blocked: opted out of email" in timeline


def test_consent_is_checked_again_when_the_send_is_due(app, member, contact_id, outbox, monkeypatch):
    comm_id = _schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat())
    monkeypatch.setattr(consent, "blocked_reason", lambda contact, channel, at: "quiet hours until 08:00 Europe/Paris")
    _make_due(app, comm_id)
    assert _sweep(app) == 1
    comm = _get(app, comm_id)
    assert comm.status == "blocked" and comm.last_error == "quiet hours until 08:00 Europe/Paris"
    assert not list(outbox.glob("*.eml"))


# --- channels -----------------------------------------------------------------------------------


def test_a_plugin_channel_delivers_through_its_adapter(app, member, contact_id, plugin):
    sent = []
    plugin.channel_list = [{"key": "sms", "label": "SMS", "address": "phone",
                            "send": lambda message: sent.append(message) or DeliveryResult("delivered", "gateway ok")}]
    with app.test_request_context():
        assert channels.registry()["sms"].deliverable
        assert app.extensions["contacts_pm"].hook.communications_channels() == [plugin.channel_list]
    comm_id = _schedule(app, member, contact_id, channel="sms", subject="", content="Your table is ready")
    comm = _get(app, comm_id)
    assert (comm.status, comm.to_address, comm.type) == ("delivered", "+15551234567", "sms")
    assert [(m.to_address, m.body) for m in sent] == [("+15551234567", "Your table is ready")]


def test_a_channel_without_an_adapter_is_recorded_not_sent(app, member, contact_id):
    comm_id = _schedule(app, member, contact_id, channel="letter", content="A letter")
    comm = _get(app, comm_id)
    assert comm.status == "logged"
    assert "Recorded, not sent: the Letter channel has no delivery adapter" in comm.events[-1].detail


def test_hooks_status_changed_and_sent_are_plugin_hooks(app, member, contact_id, plugin):
    with app.test_request_context():
        comm = delivery.schedule(member, contact_id, {"subject": "Hello", "content": "x"})
        relay = app.extensions["contacts_pm"].hook
        relay.communications_status_changed(communication=comm, old="sent", new="delivered")
        relay.communications_sent(communication=comm)
        relay.communications_failed(communication=comm, error="x")
    assert plugin.changes[-1] == (comm.id, "sent", "delivered")
    assert plugin.sent == [(comm.id, "sent"), (comm.id, "sent")]
    assert plugin.failed == [(comm.id, "x")]


def test_delivery_reports(app, member, contact_id):
    comm_id = _schedule(app, member, contact_id)
    with app.test_request_context():
        key = db.session.get(Communication, comm_id).idempotency_key
        delivery.report(key, "bounced", "550 mailbox unavailable")
        with pytest.raises(delivery.ValidationError):
            delivery.report(key, "read")
    comm = _get(app, comm_id)
    assert comm.status == "bounced" and comm.last_error == "550 mailbox unavailable"
    assert _statuses(comm)[-1] == ("sent", "bounced")


def test_build_email_refuses_header_injection():
    good = OutgoingMessage(1, "k" * 32, "email", "a@example.org", "Hi", "Body")
    assert build_email(good, "Contacts <noreply@example.org>")["Message-ID"] == f"<{'k' * 32}@example.org>"
    for bad in (dict(subject="Hi\r\nBcc: x@example.org"), dict(to_address="a@example.org\nBcc: x@example.org")):
        with pytest.raises(PermanentError):
            build_email(OutgoingMessage(**{**good.__dict__, **bad}), "noreply@example.org")


# --- the API ------------------------------------------------------------------------------------


def _token(app, user) -> dict:
    with app.app_context():
        _token_row, raw = accounts.create_token(db.session.merge(user), "test")
    return {"Authorization": f"Bearer {raw}"}


class Api:
    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def get(self, url, **kw):
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)


@pytest.fixture
def api(app, client, member):
    return Api(client, _token(app, member))


def test_api_schedule_show_reschedule_cancel(app, api, contact_id):
    url = f"/api/v1/contacts/{contact_id}/communications/send"
    response = api.post(url, json={"subject": "Hello", "content": "Body", "when": "2035-06-01T09:00:00Z"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "scheduled" and body["scheduled_at"] == "2035-06-01T09:00:00"
    assert [e["to"] for e in body["events"]] == ["scheduled"]
    comm_id = body["id"]
    response = api.post(f"/api/v1/communications/{comm_id}/reschedule", json={"when": "soon"})
    assert response.status_code == 422 and "when" in response.get_json()["errors"]
    response = api.post(f"/api/v1/communications/{comm_id}/reschedule",
                                  json={"when": "2035-06-02T09:00", "timezone": "UTC"})
    assert response.status_code == 200 and response.get_json()["scheduled_at"] == "2035-06-02T09:00:00"
    response = api.post(f"/api/v1/communications/{comm_id}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    response = api.post(f"/api/v1/communications/{comm_id}/send-now")
    assert response.status_code == 409 and "already cancelled" in response.get_json()["message"]
    shown = api.get(f"/api/v1/communications/{comm_id}").get_json()
    assert [(e["from"], e["to"]) for e in shown["events"]] == [
        (None, "scheduled"), ("scheduled", "scheduled"), ("scheduled", "cancelled")]


def test_api_send_now_with_an_idempotency_key_sends_once(app, api, contact_id, outbox):
    url = f"/api/v1/contacts/{contact_id}/communications/send"
    headers = {"Idempotency-Key": "client0key0000000001"}
    first = api.post(url, json={"subject": "Hello", "content": "Body"}, headers=headers)
    again = api.post(url, json={"subject": "Hello", "content": "Body"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"] and again.get_json()["status"] == "sent"
    assert [f.name for f in outbox.glob("*.eml")] == ["client0key0000000001.eml"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "Hi\r\nBcc: x@example.org", "content": "x"}, "subject"),
        ({"subject": "Hi", "content": "x", "to": "a@example.org\r\nBcc: x@example.org"}, "to"),
        ({"subject": "Hi", "content": ["x"]}, "content"),
        ({"subject": "Hi", "content": "x", "channel": "fax"}, "channel"),
    ],
)
def test_api_refuses_bad_input_with_422_naming_the_field(app, api, contact_id, payload, field):
    response = api.post(f"/api/v1/contacts/{contact_id}/communications/send", json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_api_permissions_and_bad_json(app, client, api, viewer, outsider, contact_id):
    url = f"/api/v1/contacts/{contact_id}/communications/send"
    as_viewer, as_outsider = Api(client, _token(app, viewer)), Api(client, _token(app, outsider))
    assert as_viewer.post(url, json={"subject": "Hi", "content": "x"}).status_code == 403
    assert as_outsider.post(url, json={"subject": "Hi", "content": "x"}).status_code == 404
    response = api.post(url, data="nope", content_type="application/json")
    assert response.status_code == 422 and "json" in response.get_json()["errors"]
    assert api.get("/api/v1/communications/999999").status_code == 404


def test_api_needs_a_token(app, contact_id):
    response = app.test_client().post(f"/api/v1/contacts/{contact_id}/communications/send", json={"subject": "Hi"})
    assert response.status_code == 401 and response.get_json()["code"] == 401


# --- the HTMX fragments -------------------------------------------------------------------------


def test_compose_panel_says_mail_goes_to_the_outbox(app, member_client, contact_id):
    html = member_client.get(f"/communications/contacts/{contact_id}/compose", headers=HX).get_data(as_text=True)
    assert 'id="communications-compose"' in html and "No SMTP server is configured" in html
    assert 'name="timezone"' in html and 'list="communications-timezones"' in html  # its options come on focus


def test_compose_schedules_and_refreshes_the_timeline(app, member_client, contact_id):
    response = member_client.post(f"/communications/contacts/{contact_id}/compose", headers=HX, data={
        "subject": "Meeting", "content": "See you", "when": "2035-01-10T15:00", "timezone": "Europe/Paris",
        "action": "schedule"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Scheduled for 2035-01-10 14:00 UTC" in html and 'hx-swap-oob="outerHTML"' in html
    timeline = member_client.get(f"/communications/contacts/{contact_id}/timeline", headers=HX).get_data(as_text=True)
    assert ">scheduled<" in timeline and "(2035-01-10 15:00 Europe/Paris)" in timeline and "every 30s" in timeline
    assert "Cancel" in timeline and "Reschedule" in timeline
    with app.app_context():
        comm_id = db.session.scalar(db.select(Communication.id))
    response = member_client.post(f"/communications/{comm_id}/cancel", headers=HX)
    assert response.status_code == 200 and ">cancelled<" in response.get_data(as_text=True)
    response = member_client.post(f"/communications/{comm_id}/cancel", headers=HX)
    assert response.status_code == 409 and "already cancelled" in response.get_data(as_text=True)


def test_compose_errors_are_422_naming_the_field(app, member_client, contact_id):
    response = member_client.post(f"/communications/contacts/{contact_id}/compose", headers=HX,
                                  data={"subject": "Hi\r\nBcc: x@example.org", "content": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Must not contain line breaks." in html and "Write the message." in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CommunicationEvent)) == 0


def test_statuses_and_history_show_on_the_timeline(app, member, member_client, contact_id):
    comm_id = _schedule(app, member, contact_id)
    html = member_client.get(f"/communications/contacts/{contact_id}/timeline", headers=HX).get_data(as_text=True)
    assert ">sent<" in html and "Status history (3)" in html
    assert "scheduled → <strong>sending</strong>" in html and "sending → <strong>sent</strong>" in html
    assert f'hx-get="/communications/{comm_id}/entry"' not in html  # final: no more polling


def test_a_draft_waits_until_the_user_sends_it(app, member, member_client, contact_id, outbox):
    response = member_client.post(f"/communications/contacts/{contact_id}/compose", headers=HX,
                                  data={"subject": "Draft", "content": "Later", "action": "draft"})
    assert response.status_code == 200 and "Saved as a draft" in response.get_data(as_text=True)
    with app.app_context():
        comm_id = db.session.scalar(db.select(Communication.id))
    comm = _get(app, comm_id)
    assert (comm.status, comm.next_attempt_at) == ("draft", None)
    assert _sweep(app) == 0 and not list(outbox.glob("*.eml"))
    html = member_client.get(f"/communications/{comm_id}/entry", headers=HX).get_data(as_text=True)
    assert ">draft<" in html and "<summary>Schedule</summary>" in html
    response = member_client.post(f"/communications/{comm_id}/send-now", headers=HX)
    assert response.status_code == 200 and ">sent<" in response.get_data(as_text=True)
    assert _statuses(_get(app, comm_id)) == [
        (None, "draft"), ("draft", "scheduled"), ("scheduled", "sending"), ("sending", "sent")]
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEntry.action).where(AuditEntry.entity_type == "communication")
                                     .order_by(AuditEntry.id)).all()
        assert actions == ["draft", "send_now"]


def test_the_sweeper_reads_a_backlog_in_batches(app, member, contact_id, monkeypatch):
    ids = [_schedule(app, member, contact_id, when=(utcnow() + timedelta(hours=1)).isoformat()) for _ in range(7)]
    for comm_id in ids:
        _make_due(app, comm_id)
    monkeypatch.setattr(delivery, "SWEEP_BATCH", 3)
    with app.app_context():
        assert sorted(delivery.due_ids()) == sorted(ids)
        assert len(delivery.due_ids(limit=5)) == 5
    assert _sweep(app) == 7
    assert {_get(app, i).status for i in ids} == {"sent"}


def test_a_failing_listener_does_not_stop_delivery(app, member, contact_id, outbox):
    class Broken:
        @hookimpl
        def communications_status_changed(self, communication, old, new):
            raise RuntimeError("listener bug")

    pm = app.extensions["contacts_pm"]
    broken = Broken()
    pm.register(broken, name="broken-listener")
    try:
        comm_id = _schedule(app, member, contact_id)
    finally:
        pm.unregister(broken)
    assert _get(app, comm_id).status == "sent" and len(list(outbox.glob("*.eml"))) == 1


def test_an_unexpected_error_before_sending_is_retried_not_stuck(app, member, contact_id, outbox, monkeypatch):
    calls = []

    def broken(contact, channel, at):
        calls.append(at)
        if len(calls) == 2:  # the check at schedule time passes, the one at send time breaks
            raise RuntimeError("consent lookup broke")
        return None

    monkeypatch.setattr(consent, "blocked_reason", broken)
    comm_id = _schedule(app, member, contact_id)
    comm = _get(app, comm_id)
    assert comm.status == "scheduled" and comm.last_error == "consent lookup broke" and comm.attempts == 1
    _make_due(app, comm_id)
    assert _sweep(app) == 1
    assert _get(app, comm_id).status == "sent" and len(list(outbox.glob("*.eml"))) == 1


def test_a_broken_channel_plugin_leaves_the_built_in_channels(app, plugin):
    plugin.channel_list = [{"label": "no key"}]
    with app.test_request_context():
        assert "email" in channels.registry() and "no key" not in channels.registry()
