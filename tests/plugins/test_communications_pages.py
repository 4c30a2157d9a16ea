"""The global communications page (filters, keyset pages, visibility), the timeline filters and
the navigation item."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from core.errors import ValidationError
from core.extensions import db
from plugins.communications import services
from plugins.communications.models import Communication
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def world(app, team, other_team, member, manager, admin):
    """Two contacts in the member's team (one a lead), one in another team, and a spread of
    communications over channels, statuses, owners and days."""
    with app.app_context():
        t, o = db.session.merge(team), db.session.merge(other_team)
        grace = factories.contact(t, "Grace", "Hopper", status="active").id
        lead = factories.contact(t, "Ada", "Lovelace", status="lead").id
        hidden = factories.contact(o, "Alan", "Turing").id
        rows = [
            (grace, "call", "logged", datetime(2026, 3, 1, 9), member.id, "g-call"),
            (grace, "email", "sent", datetime(2026, 3, 2, 9), manager.id, "g-email"),
            (grace, "meeting", "logged", datetime(2026, 3, 3, 9), member.id, "g-meeting"),
            (lead, "email", "scheduled", datetime(2026, 3, 4, 9), member.id, "l-email"),
            (lead, "call", "logged", datetime(2026, 3, 5, 23, 59), manager.id, "l-call"),
            (hidden, "email", "sent", datetime(2026, 3, 3, 9), admin.id, "hidden-email"),
        ]
        for contact_id, kind, status, when, user_id, subject in rows:
            db.session.add(Communication(contact_id=contact_id, type=kind, status=status, scheduled_at=when,
                                         created_by_id=user_id, subject=subject, direction="outbound", content=""))
        db.session.commit()
        return {"grace": grace, "lead": lead, "hidden": hidden}


def _subjects(html: str) -> list[str]:
    return re.findall(r"<td>((?:g|l|hidden)-[a-z]+)</td>", html)


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["l-call", "l-email", "g-meeting", "g-email", "g-call"]),
    ("type=email", ["l-email", "g-email"]),
    ("status=logged", ["l-call", "g-meeting", "g-call"]),
    ("since=2026-03-03", ["l-call", "l-email", "g-meeting"]),
    ("until=2026-03-02", ["g-email", "g-call"]),
    ("since=2026-03-05&until=2026-03-05", ["l-call"]),  # the end day is inclusive, to 23:59
    ("created_by=MANAGER", ["l-call", "g-email"]),
    ("contact_status=lead", ["l-call", "l-email"]),
    ("team=TEAM", ["l-call", "l-email", "g-meeting", "g-email", "g-call"]),
    ("team=OTHER", []),
    ("type=call&contact_status=active", ["g-call"]),
])
def test_global_page_filters(member_client, world, manager, team, other_team, query, expected):
    query = query.replace("MANAGER", str(manager.id)).replace("TEAM", str(team.id)).replace("OTHER", str(other_team.id))
    response = member_client.get(f"/communications/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _subjects(html) == expected
    assert "hidden-email" not in html
    if not expected:
        assert "Nothing matches these filters." in html


def test_admin_sees_every_team(admin_client, world):
    assert "hidden-email" in _subjects(admin_client.get("/communications/").get_data(as_text=True))


@pytest.mark.parametrize(("query", "field"), [
    ("type=pigeon", "type"), ("status=lost", "status"), ("since=yesterday", "since"), ("until=2026-13-01", "until"),
    ("since=2026-03-05&until=2026-03-01", "until"), ("created_by=abc", "created_by"), ("team=-1", "team"),
    ("team=99999999999", "team"), ("since=0001-01-01", "since"), ("cursor=garbage", "cursor"),
])
def test_bad_filters_are_422_naming_the_field(member_client, world, query, field):
    response = member_client.get(f"/communications/?{query}")
    assert response.status_code == 422
    assert f"<li>{field}:" in response.get_data(as_text=True)


def test_htmx_filter_returns_only_the_results(member_client, world):
    html = member_client.get("/communications/?type=call", headers=HX).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="communications-results">') and "<html" not in html
    assert _subjects(html) == ["l-call", "g-call"]


def test_keyset_pages_keep_the_filters(app, member_client, member, world):
    with app.app_context():
        for i in range(60):
            db.session.add(Communication(contact_id=world["grace"], type="sms", status="sent", direction="outbound",
                                         scheduled_at=datetime(2026, 1, 1) + timedelta(hours=i),
                                         created_by_id=member.id, subject=f"sms-{i:02d}", content=""))
        db.session.commit()
    first = member_client.get("/communications/?type=sms").get_data(as_text=True)
    seen = re.findall(r"<td>(sms-\d\d)</td>", first)
    assert len(seen) == 50
    more = re.search(r'hx-get="(/communications/\?[^"]+)"', first).group(1).replace("&amp;", "&")
    assert "type=sms" in more and "cursor=" in more
    rest = member_client.get(more, headers=HX).get_data(as_text=True)
    assert not rest.lstrip().startswith("<div")  # only rows
    seen += re.findall(r"<td>(sms-\d\d)</td>", rest)
    assert seen == [f"sms-{i:02d}" for i in range(59, -1, -1)]
    assert "Load more" not in rest


def test_clean_filters_service(ctx):
    assert services.clean_filters({"type": "email", "since": "2026-01-02", "created_by": "7"}) == {
        "type": "email", "since": datetime(2026, 1, 2), "created_by": 7}
    with pytest.raises(ValidationError) as err:
        services.clean_filters({"status": "x" * 60})
    assert "status" in err.value.errors


def test_nav_item_points_at_the_page(app, member_client, member):
    html = member_client.get("/communications/").get_data(as_text=True)
    assert re.search(r'<a href="/communications/"\s+aria-current="page">Communications</a>', html)
    relay = app.extensions["contacts_pm"].hook
    with app.test_request_context():
        items = [i for group in relay.contacts_nav_items(user=member) for i in group]
    assert any(i.label == "Communications" and i.url == "/communications/" for i in items)


def test_viewer_may_see_the_page(viewer_client, world):
    assert viewer_client.get("/communications/").status_code == 200


# --- timeline filters --------------------------------------------------------------------------------------


def _timeline_subjects(html: str) -> list[str]:
    return re.findall(r'<div class="subject">([^<]+)</div>', html)


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["g-meeting", "g-email", "g-call"]),
    ("type=call", ["g-call"]),
    ("status=sent", ["g-email"]),
    ("type=call&status=sent", []),
    ("type=meeting&status=", ["g-meeting"]),
])
def test_timeline_filters(member_client, world, query, expected):
    response = member_client.get(f"/communications/contacts/{world['grace']}/timeline?{query}", headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _timeline_subjects(html) == expected
    assert 'id="communications-filters"' in html
    if not expected:
        assert "Nothing matches these filters." in html


def test_timeline_filter_is_kept_on_load_more(app, member_client, member, world):
    with app.app_context():
        for i in range(25):
            db.session.add(Communication(contact_id=world["grace"], type="call", status="logged", direction="inbound",
                                         scheduled_at=datetime(2025, 1, 1) + timedelta(hours=i),
                                         created_by_id=member.id, subject=f"c-{i:02d}", content=""))
        db.session.commit()
    first = member_client.get(f"/communications/contacts/{world['grace']}/timeline?type=call", headers=HX)
    html = first.get_data(as_text=True)
    more = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "type=call" in more
    rest = member_client.get(more, headers=HX).get_data(as_text=True)
    subjects = _timeline_subjects(html) + _timeline_subjects(rest)
    assert subjects == ["g-call"] + [f"c-{i:02d}" for i in range(24, -1, -1)]


@pytest.mark.parametrize("query", ["type=pigeon", "status=lost"])
def test_timeline_bad_filter_is_422(member_client, world, query):
    response = member_client.get(f"/communications/contacts/{world['grace']}/timeline?{query}", headers=HX)
    assert response.status_code == 422 and query.split("=")[0] in response.get_data(as_text=True)


# --- API ------------------------------------------------------------------------------------------------


def test_api_global_list_with_filters_and_cursor(app, client, member, world):
    from core.services import accounts

    with app.test_request_context():
        _, raw = accounts.create_token(member, "test")
    auth = {"Authorization": f"Bearer {raw}"}
    body = client.get("/api/v1/communications?limit=2", headers=auth).get_json()
    assert [c["subject"] for c in body["items"]] == ["l-call", "l-email"] and body["next_cursor"]
    rest = client.get(f"/api/v1/communications?limit=10&cursor={body['next_cursor']}", headers=auth).get_json()
    assert [c["subject"] for c in rest["items"]] == ["g-meeting", "g-email", "g-call"] and rest["next_cursor"] is None
    emails = client.get("/api/v1/communications?type=email&contact_status=lead", headers=auth).get_json()
    assert [c["subject"] for c in emails["items"]] == ["l-email"] and emails["items"][0]["status"] == "scheduled"
    for query, field in (("type=fax", "type"), ("limit=0", "limit"), ("limit=x", "limit"), ("colour=red", "colour"),
                         ("since=2026-02-30", "since"), ("cursor=abc", "cursor")):
        response = client.get(f"/api/v1/communications?{query}", headers=auth)
        assert response.status_code == 422 and field in response.get_json()["errors"], query
    assert client.get("/api/v1/communications").status_code == 401


def test_the_contact_page_builds_the_channel_registry_once(app, member_client, world, monkeypatch):
    """Three of its panels ask for the channels (the send form, the preferences, the timeline): one
    registry a request, with the plugins' channels and the email settings read once."""
    from plugins.communications import channels

    built = []
    real = channels._registry
    monkeypatch.setattr(channels, "_registry", lambda: built.append(1) or real())
    assert member_client.get(f"/contacts/{world['grace']}").status_code == 200
    assert len(built) == 1
    with app.app_context():  # outside a request (jobs): built on each call
        channels.registry()
        channels.registry()
    assert len(built) == 3
