"""Communications follow a contact merge and go back on unmerge: communications, consent (where an
opt-out on either side won), consent history and preferences."""

from __future__ import annotations

import json

import pytest

from core.extensions import db
from core.models import AuditEntry, Contact
from plugins.communications import preferences, services
from plugins.communications.models import Communication
from plugins.communications.models_prefs import Consent, ConsentChange, Preferences
from tests import factories


@pytest.fixture
def pair(app, team):
    with app.app_context():
        t = db.session.merge(team)
        return factories.contact(t, "Grace", "Hopper").id, factories.contact(t, "Grace", "Brewster").id


def _log(app, user, contact_id, subject):
    with app.test_request_context():
        return services.log_communication(user, contact_id, {"type": "call", "subject": subject}).id


def _consent(app, user, contact_id, channel, status, source="web form"):
    with app.test_request_context():
        preferences.set_consent(user, contact_id, {"channel": channel, "status": status, "source": source, "note": ""})


def _snapshot(app, contact_id) -> dict:
    with app.app_context():
        s = db.session
        prefs = s.get(Preferences, contact_id)
        return {
            "communications": sorted(s.execute(db.select(Communication.id, Communication.contact_id, Communication.subject)
                                               .where(Communication.contact_id == contact_id)).all()),
            "consents": sorted(s.execute(db.select(Consent.id, Consent.contact_id, Consent.channel, Consent.status,
                                                   Consent.source, Consent.changed_at, Consent.changed_by_id)
                                         .where(Consent.contact_id == contact_id)).all()),
            "history": sorted(s.execute(db.select(ConsentChange.id, ConsentChange.contact_id, ConsentChange.channel,
                                                  ConsentChange.status, ConsentChange.source)
                                        .where(ConsentChange.contact_id == contact_id)).all()),
            "preferences": prefs and (prefs.contact_id, prefs.timezone, prefs.preferred_channel),
        }


def _merge(app, admin, target_id, source_id) -> dict:
    with app.test_request_context():
        relay = app.extensions["contacts_pm"].hook
        target, source = db.session.get(Contact, target_id), db.session.get(Contact, source_id)
        undo = {}
        for answer in relay.contacts_contacts_merged(target=target, source=source, actor=admin):
            undo.update(answer)
        db.session.commit()
    return json.loads(json.dumps(undo))  # what the core stores must survive JSON


def _unmerge(app, admin, target_id, source_id, undo):
    with app.test_request_context():
        relay = app.extensions["contacts_pm"].hook
        target, source = db.session.get(Contact, target_id), db.session.get(Contact, source_id)
        relay.contacts_contacts_unmerged(target=target, source=source, actor=admin, undo=undo)
        db.session.commit()


def _setup(app, member, source_id, target_id):
    comms = [_log(app, member, source_id, f"m{i}") for i in range(3)]
    _log(app, member, target_id, "the target's own")
    _consent(app, member, source_id, "email", "opted_out", "unsubscribe")
    _consent(app, member, source_id, "sms", "opted_in", "form")
    _consent(app, member, source_id, "letter", "opted_in", "paper form")
    _consent(app, member, target_id, "email", "opted_in", "signup")
    _consent(app, member, target_id, "letter", "opted_out", "phone call")
    with app.test_request_context():
        preferences.set_preferences(member, source_id, {"timezone": "Europe/Rome"})
    return comms


def test_merge_then_unmerge_puts_everything_back(app, member, admin, pair):
    source_id, target_id = pair
    comms = _setup(app, member, source_id, target_id)
    before_source, before_target = _snapshot(app, source_id), _snapshot(app, target_id)

    undo = _merge(app, admin, target_id, source_id)
    record = undo["communications"]
    assert sorted(record["communications"]) == sorted(comms)
    assert [c["channel"] for c in record["consents"] if c["moved"]] == ["sms"]
    assert [c["channel"] for c in record["target_consents"]] == ["email"]
    assert record["preferences"] is True and len(record["history"]) == 3
    merged = _snapshot(app, target_id)
    assert {c.channel: c.status for c in merged["consents"]} == {"email": "opted_out", "sms": "opted_in",
                                                                 "letter": "opted_out"}
    assert merged["preferences"][1] == "Europe/Rome" and len(merged["communications"]) == 4

    _unmerge(app, admin, target_id, source_id, undo)
    assert _snapshot(app, source_id) == before_source
    after_target = _snapshot(app, target_id)
    assert {k: v for k, v in after_target.items() if k != "history"} == {
        k: v for k, v in before_target.items() if k != "history"}
    # The target's history is append-only: its own rows stay, plus the merge's and the unmerge's entries.
    assert set(before_target["history"]) < set(after_target["history"])
    assert [h.source for h in after_target["history"] if h not in before_target["history"]] == ["merge", "unmerge"]
    with app.app_context():
        entries = db.session.scalars(db.select(AuditEntry.entity_type).where(AuditEntry.action == "unmerged")).all()
        assert sorted(entries) == ["communication", "communications_consent"]


def test_unmerge_twice_changes_nothing_the_second_time(app, member, admin, pair):
    source_id, target_id = pair
    _setup(app, member, source_id, target_id)
    undo = _merge(app, admin, target_id, source_id)
    _unmerge(app, admin, target_id, source_id, undo)
    once = _snapshot(app, source_id), _snapshot(app, target_id)
    with app.app_context():
        audits = db.session.scalar(db.select(db.func.count()).select_from(AuditEntry))
    _unmerge(app, admin, target_id, source_id, undo)
    assert (_snapshot(app, source_id), _snapshot(app, target_id)) == once
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)) == audits


def test_unmerge_skips_rows_deleted_or_changed_since(app, member, admin, pair):
    source_id, target_id = pair
    comms = _setup(app, member, source_id, target_id)
    undo = _merge(app, admin, target_id, source_id)
    with app.test_request_context():
        services.delete_communication(admin, comms[0])
    _consent(app, member, target_id, "email", "opted_out", "asked us on the phone")  # a newer answer
    _unmerge(app, admin, target_id, source_id, undo)
    after = _snapshot(app, source_id)
    assert [c.id for c in after["communications"]] == sorted(comms[1:])
    assert {c.channel for c in after["consents"]} == {"email", "sms", "letter"}
    with app.app_context():
        email = db.session.scalars(db.select(Consent).where(Consent.contact_id == target_id,
                                                            Consent.channel == "email")).one()
        assert (email.status, email.source) == ("opted_out", "asked us on the phone")


def test_nothing_to_move_returns_no_record_and_unmerge_ignores_other_plugins(app, member, admin, pair):
    source_id, target_id = pair
    _log(app, member, target_id, "only the target has rows")
    undo = _merge(app, admin, target_id, source_id)
    assert "communications" not in undo
    before = _snapshot(app, target_id)
    _unmerge(app, admin, target_id, source_id, {"planning": {"moved": [1]}})
    _unmerge(app, admin, target_id, source_id, None)
    assert _snapshot(app, target_id) == before
