"""How many SQL statements each lazy panel of the contact page costs (issue 5: no N+1, no query
twice). Counts, not timings: each panel request pays BASE statements for the page stamps of the
conditional GET and the contact, plus the panel's own; the session's user comes from the process's
copy kept under those stamps (core/services/identity_snapshot.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.extensions import db
from core.models import Team, utcnow
from tests import factories
from tests.statements import captured

BASE = 2  # the page stamps (core/views/conditional.py), the contact (the user: identity_snapshot.py)


def counted(app):
    """The SELECT statements run inside the block (BEGIN/SAVEPOINT and writes are not counted)."""
    return captured(app, selects_only=True)


def _get(app, client, url: str):
    client.get(url, headers={"HX-Request": "true"})  # warm: first-use caches (vocabulary, zones)
    with counted(app) as seen:
        response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True), seen


@pytest.fixture
def busy(app, team, other_team):
    """A contact with entries by three authors (with teams of their own), one send with a status
    history (whose actor also has teams)."""
    from plugins.communications.models import Communication, CommunicationEvent

    with app.app_context():
        sales, support = db.session.get(Team, team.id), db.session.get(Team, other_team.id)
        authors = [factories.user("member", [sales, support], name=f"Author {i}") for i in range(3)]
        operator = factories.user("manager", [sales, support], name="Operator")
        contact = factories.contact(sales, email="ada@example.org")
        now = utcnow()
        for i in range(30):
            db.session.add(Communication(
                contact_id=contact.id, type="call", direction="outbound", subject=f"Call {i}", content="",
                status="logged", scheduled_at=now - timedelta(hours=i + 1), created_by_id=authors[i % 3].id,
            ))
        send = Communication(
            contact_id=contact.id, type="email", direction="outbound", subject="Hello", content="Hi",
            status="failed", scheduled_at=now, created_by_id=authors[0].id, channel="email",
            to_address="ada@example.org", idempotency_key="k" * 32, attempts=1, last_error="boom",
        )
        db.session.add(send)
        db.session.flush()
        db.session.add_all([
            CommunicationEvent(communication_id=send.id, old_status=None, new_status="scheduled", actor_id=operator.id),
            CommunicationEvent(communication_id=send.id, old_status="scheduled", new_status="failed", detail="boom"),
        ])
        db.session.commit()
        return contact.id


def test_timeline_loads_authors_and_send_history_without_n_plus_1(app, member_client, busy):
    html, seen = _get(app, member_client, f"/communications/contacts/{busy}/timeline")
    # the page of entries with their authors (joined), then the one send's status history
    assert len(seen) == BASE + 2, seen
    assert not any("team_members" in s for s in seen[BASE:]), "authors' teams are not needed"
    assert "by Author 0" in html and "by Author 2" in html
    assert "Status history (2)" in html and "Operator" in html and "system" in html


def test_timeline_of_plain_entries_skips_the_history_query(app, member_client, team):
    from plugins.communications.models import Communication

    with app.app_context():
        author = factories.user("member", [db.session.get(Team, team.id)], name="Grace")
        contact = factories.contact(db.session.get(Team, team.id))
        db.session.add(Communication(contact_id=contact.id, type="call", direction="inbound", subject="Hi",
                                     content="", status="logged", scheduled_at=utcnow(), created_by_id=author.id))
        db.session.commit()
        contact_id = contact.id
    html, seen = _get(app, member_client, f"/communications/contacts/{contact_id}/timeline")
    assert len(seen) == BASE + 1, seen
    assert "by Grace" in html and "Status history" not in html


def test_compose_panel(app, member_client, busy):
    html, seen = _get(app, member_client, f"/communications/contacts/{busy}/compose")
    assert len(seen) == BASE + 1, seen  # the email templates
    assert 'name="timezone" value="UTC" list="communications-timezones"' in html
    assert "Europe/Paris" not in html  # the zones come on the field's first focus (/communications/timezones)


def test_consent_panel(app, member_client, busy):
    html, seen = _get(app, member_client, f"/communications/contacts/{busy}/consent")
    assert len(seen) == BASE + 2, seen  # consent history, consents
    assert 'id="consent-email"' in html


def test_core_preferences_panel_reads_the_plugin_fields_once(app, member_client, busy):
    html, seen = _get(app, member_client, f"/contacts/{busy}/preferences")
    assert len(seen) == BASE + 2, seen  # the core's rows, the communications row
    assert "Quiet hours from" in html


@pytest.mark.parametrize("url", ["/collaboration/contacts/{id}/notes", "/monitoring/contacts/{id}/activity"])
def test_other_panels_cost_one_statement(app, member_client, busy, url):
    _, seen = _get(app, member_client, url.format(id=busy))
    assert len(seen) == BASE + 1, seen

