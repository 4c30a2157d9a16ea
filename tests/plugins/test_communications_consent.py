"""Consent and preferences: history kept, opt-out blocks sends and scheduling, quiet hours in the
contact's own time zone, validation naming the field, permissions, the panel, the API, merges."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, utcnow
from core.services import accounts
from plugins.communications import consent, delivery, preferences
from plugins.communications.models import Communication
from plugins.communications.models_prefs import Consent, ConsentChange, Preferences
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def contact_id(app, team):
    with app.app_context():
        return factories.contact(db.session.merge(team), "Grace", "Hopper", email="grace@example.org").id


@pytest.fixture
def other_contact_id(app, other_team):
    with app.app_context():
        return factories.contact(db.session.merge(other_team), "Alan", "Turing", email="alan@example.org").id


def _consent(app, user, contact_id, channel, status, source="web form", note=""):
    with app.test_request_context():
        return preferences.set_consent(user, contact_id, {"channel": channel, "status": status, "source": source,
                                                          "note": note}).id


def _prefs(app, user, contact_id, **data):
    with app.test_request_context():
        return preferences.set_preferences(user, contact_id, data).version


# --- history -----------------------------------------------------------------------------------------


def test_every_change_is_a_history_row_with_who_and_when(app, member, manager, contact_id):
    before = utcnow()
    _consent(app, member, contact_id, "email", "opted_in", "signup form")
    _consent(app, manager, contact_id, "email", "opted_out", "unsubscribe link", note="clicked in newsletter")
    _consent(app, member, contact_id, "sms", "opted_in", "phone call")
    _consent(app, member, contact_id, "email", "opted_out", "phone call")  # a re-confirmation is recorded too
    with app.test_request_context():
        rows = preferences.consent_history(member, contact_id).items
        assert [(r.channel, r.previous_status, r.status, r.source, r.changed_by_id) for r in rows] == [
            ("email", "opted_out", "opted_out", "phone call", member.id),
            ("sms", "unknown", "opted_in", "phone call", member.id),
            ("email", "opted_in", "opted_out", "unsubscribe link", manager.id),
            ("email", "unknown", "opted_in", "signup form", member.id),
        ]
        assert all(r.changed_at >= before for r in rows)
        assert rows[2].note == "clicked in newsletter"
        states = {s.channel: s for s in preferences.consents(member, contact_id)}
        assert states["email"].status == "opted_out" and states["email"].source == "phone call"
        assert states["sms"].status == "opted_in" and states["phone"].status == "unknown"
        assert {"email", "phone", "sms", "meeting", "letter"} <= set(states)
        audits = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "consent").order_by(AuditEntry.id)
        ).all()
        assert len(audits) == 4 and audits[1].changes["consent.email"] == ["opted_in", "opted_out"]
        assert audits[1].actor_id == manager.id


def test_history_pages_with_a_cursor(app, member, contact_id):
    for i in range(7):
        _consent(app, member, contact_id, "email", ("opted_in", "opted_out")[i % 2], f"source {i}")
    with app.test_request_context():
        first = preferences.consent_history(member, contact_id, limit=5)
        second = preferences.consent_history(member, contact_id, cursor=first.next_cursor, limit=5)
    assert [r.source for r in first.items + second.items] == [f"source {i}" for i in range(6, -1, -1)]
    assert second.next_cursor is None


@pytest.mark.parametrize(("data", "field"), [
    ({"channel": "pigeon", "status": "opted_in", "source": "x"}, "channel"),
    ({"channel": "", "status": "opted_in", "source": "x"}, "channel"),
    ({"channel": "email", "status": "maybe", "source": "x"}, "status"),
    ({"channel": "email", "status": "opted_in", "source": ""}, "source"),
    ({"channel": "email", "status": "opted_in", "source": "x" * 201}, "source"),
    ({"channel": "email", "status": "opted_in", "source": "x", "colour": "red"}, "colour"),
    ({"channel": "email", "status": "opted_in", "source": "a\x00b"}, "source"),
])
def test_bad_consent_is_422_naming_the_field(ctx, member, contact_id, data, field):
    with pytest.raises(ValidationError) as err:
        preferences.set_consent(member, contact_id, data)
    assert field in err.value.errors
    assert db.session.scalars(db.select(ConsentChange)).first() is None


def test_consent_permissions(ctx, viewer, outsider, member, contact_id):
    with pytest.raises(PermissionDenied):
        preferences.set_consent(viewer, contact_id, {"channel": "email", "status": "opted_in", "source": "x"})
    with pytest.raises(NotFound):
        preferences.set_consent(outsider, contact_id, {"channel": "email", "status": "opted_in", "source": "x"})
    with pytest.raises(NotFound):
        preferences.consent_history(outsider, contact_id)
    with pytest.raises(NotFound):
        preferences.get_preferences(outsider, 2**40)
    assert [s.status for s in preferences.consents(viewer, contact_id)][0] == "unknown"


# --- opt-out blocks sends and scheduling ------------------------------------------------------------------


def test_blocked_reason_follows_consent(app, member, contact_id):
    now = datetime(2026, 6, 1, 12, 0)
    with app.test_request_context():
        assert consent.blocked_reason(db.session.get(Contact, contact_id), "email", now) is None
    _consent(app, member, contact_id, "email", "opted_out")
    _consent(app, member, contact_id, "phone", "opted_out")
    with app.test_request_context():
        contact = db.session.get(Contact, contact_id)
        assert consent.blocked_reason(contact, "email", now) == "opted out of email"
        assert consent.blocked_reason(contact_id, "email", now) == "opted out of email"
        assert consent.blocked_reason(contact, "call", now) == "opted out of phone"  # a call goes by phone
        assert consent.blocked_reason(contact, "sms", now) is None
    _consent(app, member, contact_id, "email", "opted_in")
    with app.test_request_context():
        assert consent.blocked_reason(db.session.get(Contact, contact_id), "email", now) is None


def test_require_opt_in_setting_blocks_unknown(app, member, contact_id):
    now = datetime(2026, 6, 1, 12, 0)
    app.config["COMMUNICATIONS_REQUIRE_OPT_IN"] = True
    try:
        with app.test_request_context():
            assert consent.blocked_reason(contact_id, "email", now) == "no opt-in for email"
        _consent(app, member, contact_id, "email", "opted_in")
        with app.test_request_context():
            assert consent.blocked_reason(contact_id, "email", now) is None
    finally:
        app.config.pop("COMMUNICATIONS_REQUIRE_OPT_IN")


def _send(app, user, contact_id, **data):
    with app.test_request_context():
        comm = delivery.schedule(user, contact_id, {"channel": "email", "subject": "Hello", "content": "Hi", **data})
        return comm.id, comm.status, comm.last_error


def test_opt_out_blocks_sending_now_and_scheduling(app, member, contact_id):
    _consent(app, member, contact_id, "email", "opted_out", "unsubscribe link")
    later = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    now_id, now_status, now_reason = _send(app, member, contact_id)
    later_id, later_status, later_reason = _send(app, member, contact_id, when=later)
    assert (now_status, now_reason) == ("blocked", "opted out of email")
    assert (later_status, later_reason) == ("blocked", "opted out of email")
    with app.app_context():
        comms = {c.id: c for c in db.session.scalars(db.select(Communication))}
        assert {comms[now_id].status, comms[later_id].status} == {"blocked"}
        assert comms[now_id].sent_at is None
        assert any("opted out of email" in e.detail for e in comms[now_id].events)


def test_opt_out_after_scheduling_blocks_the_delivery(app, member, contact_id):
    later = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    comm_id, status, _ = _send(app, member, contact_id, when=later)
    assert status == "scheduled"
    _consent(app, member, contact_id, "email", "opted_out")
    with app.app_context():
        db.session.execute(db.update(Communication).where(Communication.id == comm_id)
                           .values(next_attempt_at=utcnow() - timedelta(minutes=1),
                                   scheduled_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    with app.test_request_context():
        assert delivery.deliver(comm_id) == "blocked"
        comm = db.session.get(Communication, comm_id)
        assert comm.status == "blocked" and comm.last_error == "opted out of email" and comm.sent_at is None


def test_blocked_send_is_shown_to_the_user(app, member_client, member, contact_id):
    _consent(app, member, contact_id, "email", "opted_out")
    _send(app, member, contact_id)
    html = member_client.get(f"/communications/contacts/{contact_id}/timeline", headers=HX).get_data(as_text=True)
    assert "blocked" in html and "opted out of email" in html


# --- quiet hours ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end", "local", "quiet"), [
    (time(22), time(7), time(23, 30), True),
    (time(22), time(7), time(6, 59), True),
    (time(22), time(7), time(7, 0), False),
    (time(22), time(7), time(12), False),
    (time(12), time(14), time(13), True),
    (time(12), time(14), time(14), False),
    (time(12), time(14), time(11, 59), False),
    (None, None, time(3), False),
])
def test_in_quiet_hours(start, end, local, quiet):
    assert consent.in_quiet_hours(start, end, local) is quiet


def test_quiet_hours_are_read_in_the_contacts_time_zone(app, member, contact_id):
    _prefs(app, member, contact_id, quiet_start="21:00", quiet_end="08:00", timezone="Asia/Tokyo")
    with app.test_request_context():
        # 13:00 UTC is 22:00 in Tokyo (no DST): quiet until 08:00 Tokyo time.
        assert consent.blocked_reason(contact_id, "email", datetime(2026, 1, 15, 13, 0)) == \
            "quiet hours until 08:00 Asia/Tokyo"
        assert consent.blocked_reason(contact_id, "sms", datetime(2026, 1, 15, 22, 30)) == \
            "quiet hours until 08:00 Asia/Tokyo"  # 07:30 the next morning in Tokyo
        assert consent.blocked_reason(contact_id, "email", datetime(2026, 1, 15, 23, 0)) is None  # 08:00 Tokyo
        assert consent.blocked_reason(contact_id, "email", datetime(2026, 1, 15, 3, 0)) is None  # 12:00 Tokyo
        assert consent.blocked_reason(contact_id, "letter", datetime(2026, 1, 15, 13, 0)) is None  # letters wait
    _prefs(app, member, contact_id, quiet_start="21:00", quiet_end="08:00", timezone="America/New_York")
    with app.test_request_context():
        # 13:00 UTC is 08:00 in New York in winter (free) but 09:00 in summer (free); 01:30 UTC is 20:30/21:30.
        assert consent.blocked_reason(contact_id, "email", datetime(2026, 1, 15, 13, 0)) is None
        assert consent.blocked_reason(contact_id, "email", datetime(2026, 1, 15, 1, 30)) is None
        assert consent.blocked_reason(contact_id, "email", datetime(2026, 7, 15, 1, 30)) == \
            "quiet hours until 08:00 America/New_York"


def test_quiet_hours_block_scheduling(app, member, contact_id):
    _prefs(app, member, contact_id, quiet_start="00:00", quiet_end="06:00", timezone="UTC")
    day = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%d")
    _, status, reason = _send(app, member, contact_id, when=f"{day}T03:00", timezone="UTC")
    assert (status, reason) == ("blocked", "quiet hours until 06:00 UTC")
    _, status, reason = _send(app, member, contact_id, when=f"{day}T09:00", timezone="UTC")
    assert (status, reason) == ("scheduled", None)


# --- preferences -----------------------------------------------------------------------------------------


def test_preferences_round_trip_with_version(app, member, admin, contact_id):
    with app.test_request_context():
        blank = preferences.get_preferences(member, contact_id)
        assert blank.version == 0 and blank.timezone is None
        prefs = preferences.set_preferences(member, contact_id, {
            "preferred_channel": "sms", "quiet_start": "22:00", "quiet_end": "07:30", "timezone": "Europe/Paris",
        }, expected_version=0)
        assert (prefs.preferred_channel, prefs.quiet_start, prefs.quiet_end, prefs.timezone, prefs.version) == \
            ("sms", time(22), time(7, 30), "Europe/Paris", 1)
        with pytest.raises(Conflict):
            preferences.set_preferences(admin, contact_id, {"preferred_channel": "email"}, expected_version=0)
        prefs = preferences.set_preferences(admin, contact_id, {"preferred_channel": "call"}, expected_version=1)
        assert prefs.preferred_channel == "phone" and prefs.quiet_start is None and prefs.version == 2
        audit = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "preferences")).all()
        assert audit[0].changes["preferences.timezone"] == [None, "Europe/Paris"]


@pytest.mark.parametrize(("data", "field"), [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"timezone": "/etc/localtime"}, "timezone"),
    ({"timezone": "Europe/Paris\x00"}, "timezone"),
    ({"timezone": "x" * 65}, "timezone"),
    ({"preferred_channel": "pigeon"}, "preferred_channel"),
    ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start"),
    ({"quiet_start": "22:00", "quiet_end": "7am"}, "quiet_end"),
    ({"quiet_start": "22:00"}, "quiet_end"),
    ({"quiet_end": "07:00"}, "quiet_start"),
    ({"quiet_start": "08:00", "quiet_end": "08:00"}, "quiet_end"),
    ({"quiet_start": 2200, "quiet_end": "07:00"}, "quiet_start"),
    ({"mood": "happy"}, "mood"),
])
def test_bad_preferences_are_422_naming_the_field(ctx, member, contact_id, data, field):
    with pytest.raises(ValidationError) as err:
        preferences.set_preferences(member, contact_id, data)
    assert field in err.value.errors
    assert db.session.get(Preferences, contact_id) is None


def test_preferences_permissions(ctx, viewer, outsider, contact_id):
    with pytest.raises(PermissionDenied):
        preferences.set_preferences(viewer, contact_id, {"timezone": "UTC"})
    with pytest.raises(NotFound):
        preferences.set_preferences(outsider, contact_id, {"timezone": "UTC"})


# --- the panel ---------------------------------------------------------------------------------------------


def test_panel_shows_consent_and_history_but_no_second_preferences_form(app, member_client, member, contact_id):
    _consent(app, member, contact_id, "email", "opted_out", "Unsubscribe <b>link</b>")
    html = member_client.get(f"/communications/contacts/{contact_id}/consent", headers=HX).get_data(as_text=True)
    assert 'id="communications-consent"' in html and 'id="consent-email"' in html
    assert "opted out" in html and "Unsubscribe &lt;b&gt;link&lt;/b&gt;" in html
    assert 'id="consent-history"' in html and "unknown → " in html
    assert 'name="quiet_start"' not in html and "in the Preferences panel" in html


def test_panel_records_consent_and_shows_errors(app, member_client, member, contact_id):
    url = f"/communications/contacts/{contact_id}/consent"
    response = member_client.post(url, data={"channel": "sms", "status": "opted_in", "source": ""}, headers=HX)
    assert response.status_code == 422 and "This field is required." in response.get_data(as_text=True)
    response = member_client.post(url, data={"channel": "sms", "status": "opted_in", "source": "paper form"},
                                  headers=HX)
    assert response.status_code == 200
    with app.app_context():
        row = db.session.scalars(db.select(Consent)).one()
        assert (row.channel, row.status, row.source, row.changed_by_id) == ("sms", "opted_in", "paper form", member.id)


def test_viewer_sees_the_panel_without_forms(viewer_client, contact_id):
    html = viewer_client.get(f"/communications/contacts/{contact_id}/consent", headers=HX).get_data(as_text=True)
    assert 'id="consent-email"' in html and "communications-consent-form" not in html
    assert viewer_client.post(f"/communications/contacts/{contact_id}/consent",
                              data={"channel": "email", "status": "opted_in", "source": "x"}).status_code == 403


def test_outsider_cannot_see_the_panel(outsider_client, contact_id):
    assert outsider_client.get(f"/communications/contacts/{contact_id}/consent").status_code == 404


def test_contact_page_has_one_preferences_panel_and_the_consent_panel(member_client, contact_id):
    html = member_client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert 'id="panel-communications-consent"' in html  # rendered inline, in the page itself
    assert 'aria-label="Consent per channel"' in html
    assert html.count('id="panel-preferences"') == 1  # the core's panel only
    assert "panel-communications-preferences" not in html
    assert "Consent &amp; preferences" not in html


# --- channel and quiet hours in the core's Preferences panel --------------------------------------------


def test_core_panel_edits_channel_and_quiet_hours_in_the_plugins_table(app, member, member_client, contact_id):
    form = member_client.get(f"/contacts/{contact_id}/preferences/edit").get_data(as_text=True)
    assert 'name="communications_channel"' in form and 'name="communications_quiet_start"' in form
    ok = member_client.post(f"/contacts/{contact_id}/preferences/edit", data={
        "timezone": "Asia/Tokyo", "communications_channel": "sms",
        "communications_quiet_start": "21:00", "communications_quiet_end": "08:00"})
    assert ok.status_code == 302
    with app.app_context():
        prefs = db.session.get(Preferences, contact_id)
        assert (prefs.preferred_channel, prefs.quiet_start, prefs.quiet_end, prefs.timezone) == \
            ("sms", time(21), time(8), None)
        from core.models import ContactPreference
        keys = set(db.session.scalars(db.select(ContactPreference.key).where(ContactPreference.contact_id == contact_id)))
        assert keys == {"timezone"}  # the plugin's fields live in its own table only
        actions = [e.action for e in db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_id == contact_id))]
        assert "preferences" in actions and "updated" in actions
    panel = member_client.get(f"/contacts/{contact_id}/preferences").get_data(as_text=True)
    assert "Quiet hours from" in panel and "21:00" in panel and "08:00" in panel
    with app.test_request_context():
        # no zone of the plugin's own: the core's "Time zone" preference places the quiet hours
        assert consent.blocked_reason(contact_id, "email", datetime(2026, 1, 15, 13, 0)) == \
            "quiet hours until 08:00 Asia/Tokyo"


@pytest.mark.parametrize("data, field, message", [
    ({"communications_quiet_start": "21:00"}, "communications_quiet_end", "Give both the start and the end"),
    ({"communications_quiet_start": "9pm", "communications_quiet_end": "08:00"}, "communications_quiet_start",
     "24-hour time"),
    ({"communications_quiet_start": "08:00", "communications_quiet_end": "08:00"}, "communications_quiet_end",
     "different time"),
    ({"communications_channel": "pigeon"}, "communications_channel", "Choose one of"),
])
def test_plugin_rules_hold_in_the_core_panel_and_nothing_is_half_saved(app, member, member_client, contact_id,
                                                                        data, field, message):
    bad = member_client.post(f"/contacts/{contact_id}/preferences/edit", data={"language": "de", **data})
    assert bad.status_code == 422 and message in bad.get_data(as_text=True)
    with app.test_request_context():
        from core.services import preferences as core_preferences

        with pytest.raises(ValidationError) as err:
            core_preferences.set_preferences(member, contact_id, {"language": "de", **data})
        assert field in err.value.errors
        assert core_preferences.get_preferences(member, contact_id) == {}  # the language was rolled back too
        assert db.session.get(Preferences, contact_id) is None


def test_core_api_reads_and_writes_the_plugins_fields(app, client, member, contact_id):
    auth = _token(app, member)
    url = f"/api/v1/contacts/{contact_id}/contact-preferences"
    ok = client.patch(url, json={"preferences": {"communications_quiet_start": "22:00",
                                                 "communications_quiet_end": "06:30"}}, headers=auth)
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json() == {"preferences": {"communications_quiet_start": "22:00", "communications_quiet_end": "06:30"}}
    # the plugin's own API sees the same row (and may keep its own zone there)
    mine = client.get(f"/api/v1/contacts/{contact_id}/preferences", headers=auth).get_json()
    assert (mine["quiet_start"], mine["quiet_end"], mine["version"]) == ("22:00", "06:30", 1)
    assert client.put(f"/api/v1/contacts/{contact_id}/preferences", json={
        "preferred_channel": "email", "quiet_start": "22:00", "quiet_end": "06:30", "timezone": "Europe/Oslo",
        "version": 1}, headers=auth).status_code == 200
    cleared = client.patch(url, json={"preferences": {"communications_quiet_start": None,
                                                      "communications_quiet_end": ""}}, headers=auth)
    assert cleared.get_json() == {"preferences": {"communications_channel": "email"}}
    with app.app_context():
        prefs = db.session.get(Preferences, contact_id)
        assert (prefs.quiet_start, prefs.timezone) == (None, "Europe/Oslo")  # its own zone is kept
    bad = client.patch(url, json={"preferences": {"communications_quiet_end": "07:00"}}, headers=auth)
    assert bad.status_code == 422 and "communications_quiet_start" in str(bad.get_json())


# --- API ---------------------------------------------------------------------------------------------------


def _token(app, user) -> dict:
    with app.test_request_context():
        _, raw = accounts.create_token(user, "test")
    return {"Authorization": f"Bearer {raw}"}


def test_api_consent_and_preferences(app, client, member, viewer, contact_id):
    auth = _token(app, member)
    base = f"/api/v1/contacts/{contact_id}"
    response = client.put(f"{base}/consent", json={"channel": "email", "status": "opted_out", "source": "api"},
                          headers=auth)
    assert response.status_code == 200 and response.get_json()["previous_status"] == "unknown"
    items = {i["channel"]: i for i in client.get(f"{base}/consent", headers=auth).get_json()["items"]}
    assert items["email"]["status"] == "opted_out" and items["email"]["changed_by_id"] == member.id
    history = client.get(f"{base}/consent/history", headers=auth).get_json()
    assert [h["status"] for h in history["items"]] == ["opted_out"] and history["next_cursor"] is None
    bad = client.put(f"{base}/consent", json={"channel": "email", "status": 1, "source": "api"}, headers=auth)
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]
    assert client.get(f"{base}/preferences", headers=auth).get_json()["version"] == 0
    saved = client.put(f"{base}/preferences", json={"timezone": "Europe/Oslo", "quiet_start": "21:00",
                                                    "quiet_end": "06:00", "version": 0}, headers=auth)
    assert saved.status_code == 200 and saved.get_json()["quiet_end"] == "06:00" and saved.get_json()["version"] == 1
    stale = client.put(f"{base}/preferences", json={"timezone": "UTC", "version": 0}, headers=auth)
    assert stale.status_code == 409
    bad = client.put(f"{base}/preferences", json={"timezone": "Atlantis/Capital"}, headers=auth)
    assert bad.status_code == 422 and "timezone" in bad.get_json()["errors"]
    assert client.put(f"{base}/preferences", json=["x"], headers=auth).status_code == 422
    assert client.get(f"{base}/consent/history?cursor=xyz", headers=auth).status_code == 422
    assert client.get(f"{base}/consent/history?limit=abc", headers=auth).status_code == 422
    assert client.get("/api/v1/contacts/99999999999/consent", headers=auth).status_code == 404
    viewer_auth = _token(app, viewer)
    assert client.put(f"{base}/consent", json={"channel": "email", "status": "opted_in", "source": "x"},
                      headers=viewer_auth).status_code == 403
    assert client.get(f"{base}/consent").status_code == 401


# --- merge -------------------------------------------------------------------------------------------------


def test_merge_moves_consent_and_an_opt_out_wins(app, member, admin, team, contact_id):
    with app.app_context():
        target_id = factories.contact(db.session.merge(team), "Grace", "Brewster").id
    _consent(app, member, contact_id, "email", "opted_out", "unsubscribe")
    _consent(app, member, contact_id, "sms", "opted_in", "form")
    _consent(app, member, target_id, "email", "opted_in", "signup")
    _prefs(app, member, contact_id, timezone="Europe/Rome")
    with app.test_request_context():
        target, source = db.session.get(Contact, target_id), db.session.get(Contact, contact_id)
        app.extensions["contacts_pm"].hook.contacts_contacts_merged(target=target, source=source, actor=admin)
    with app.test_request_context():
        states = {s.channel: s.status for s in preferences.consents(admin, target_id)}
        assert states["email"] == "opted_out" and states["sms"] == "opted_in"
        assert db.session.get(Preferences, target_id).timezone == "Europe/Rome"
        history = preferences.consent_history(admin, target_id).items
        assert [h.source for h in history][0] == "merge" and len(history) == 4
