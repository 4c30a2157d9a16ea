"""The communications plugin: logging, validation, the timeline panel, deletes, the JSON API,
permissions, the merge hook and running without the plugin."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from core import create_app, hookimpl
from core.extensions import db
from core.models import AuditEntry, Contact
from core.services import accounts
from plugins.communications import services
from plugins.communications.models import Communication
from tests import factories
from tests.conftest import test_config

HX = {"HX-Request": "true"}


@pytest.fixture
def contact_id(app, team):
    with app.app_context():
        return factories.contact(db.session.merge(team), "Grace", "Hopper").id


@pytest.fixture
def other_contact_id(app, other_team):
    with app.app_context():
        return factories.contact(db.session.merge(other_team), "Alan", "Turing").id


def _log(app, user, contact_id, **data):
    with app.test_request_context():
        comm = services.log_communication(user, contact_id, {"type": "call", "subject": "Hello", **data})
        return comm.id


def _timeline_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'id="communication-(\d+)"', html)]


class Spy:
    def __init__(self):
        self.calls = []

    @hookimpl
    def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
        self.calls.append((entity_type, entity_id, action, getattr(actor, "id", None), changes))


@pytest.fixture
def spy(app):
    pm = app.extensions["contacts_pm"]
    s = Spy()
    pm.register(s, name="test-spy")
    yield s
    pm.unregister(s)


# --- logging from the contact page -----------------------------------------------------------


def test_the_timeline_filter_spells_sms_as_sms(member_client, contact_id):
    html = member_client.get(f"/communications/contacts/{contact_id}/timeline", headers=HX).get_data(as_text=True)
    assert '<option value="sms" >SMS</option>' in html and ">Sms<" not in html and ">Meeting</option>" in html


def test_log_a_call_from_the_panel(app, member_client, member, contact_id, spy):
    url = f"/communications/contacts/{contact_id}/timeline"
    response = member_client.post(url, data={
        "type": "meeting", "direction": "inbound", "subject": "Quarterly review", "content": "Went <b>well</b>",
        "when": "2026-03-04T10:30",
    }, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="communications-panel"' in html and "Quarterly review" in html
    assert "Went &lt;b&gt;well&lt;/b&gt;" in html  # user text is escaped
    with app.app_context():
        comm = db.session.scalars(db.select(Communication)).one()
        assert (comm.contact_id, comm.type, comm.direction, comm.status) == (contact_id, "meeting", "inbound", "logged")
        assert comm.scheduled_at == datetime(2026, 3, 4, 10, 30)
        assert comm.created_by_id == member.id
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "communication")).one()
        assert (entry.action, entry.entity_id, entry.actor_id) == ("created", comm.id, member.id)
        assert entry.changes["contact_id"] == [None, contact_id]
    assert spy.calls == [("communication", comm.id, "created", member.id, spy.calls[0][4])]
    assert spy.calls[0][4]["contact_id"] == (None, contact_id)


def test_when_defaults_to_now_and_accepts_an_offset(app, member, contact_id):
    before = datetime.utcnow().replace(microsecond=0)
    first = _log(app, member, contact_id)
    second = _log(app, member, contact_id, when="2026-01-01T12:00:00+02:00")
    with app.app_context():
        assert db.session.get(Communication, first).scheduled_at >= before
        assert db.session.get(Communication, second).scheduled_at == datetime(2026, 1, 1, 10, 0)


def test_plain_form_post_redirects(app, member_client, contact_id):
    response = member_client.post(f"/communications/contacts/{contact_id}/timeline", data={"type": "email", "subject": "x"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Communication)) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"type": "fax", "subject": "x"}, "type", "Choose one of: call, email, meeting"),
        ({"type": "", "subject": "x"}, "type", "required"),
        ({"type": "call", "subject": "x", "when": "yesterday"}, "when", "Not a date and time"),
        ({"type": "call", "subject": "x", "when": "0001-01-01T00:00"}, "when", "Out of range"),
        ({"type": "call", "subject": "x" * 301}, "subject", "At most 300 characters"),
        ({"type": "call", "content": "y" * 20_001}, "content", "At most 20000 characters"),
        ({"type": "call"}, "subject", "Give a subject or some content"),
        ({"type": "call", "subject": "x", "direction": "sideways"}, "direction", "Choose one of: outbound, inbound"),
    ],
)
def test_bad_input_is_422_naming_the_field(app, member_client, contact_id, data, field, message):
    response = member_client.post(f"/communications/contacts/{contact_id}/timeline", data=data, headers=HX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'class="field-error"' in html
    assert response.headers["HX-Retarget"] == "#communications-log"
    assert html.lstrip().startswith('<form id="communications-log"')  # only the form, for the swap
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Communication)) == 0
    with app.test_request_context(), pytest.raises(services.ValidationError) as caught:
        services.clean(data)
    assert field in caught.value.errors


def test_unknown_field_is_refused(ctx, member, contact_id):
    with pytest.raises(services.ValidationError) as caught:
        services.log_communication(member, contact_id, {"type": "call", "subject": "x", "status": "sent"})
    assert caught.value.errors == {"status": ["Unknown field."]}


# --- the timeline -----------------------------------------------------------------------------


def test_timeline_is_newest_first_with_load_more(app, member_client, member, contact_id, other_contact_id, admin):
    base = datetime(2026, 5, 1, 9, 0)
    ids = []
    for i in range(25):
        # Pairs share a time, so the id breaks the tie.
        ids.append(_log(app, member, contact_id, when=(base + timedelta(hours=i // 2)).isoformat(), subject=f"s{i}"))
    _log(app, admin, other_contact_id)  # another contact's entry never shows
    expected = sorted(ids, key=lambda i: (ids.index(i) // 2, i), reverse=True)

    first = member_client.get(f"/communications/contacts/{contact_id}/timeline", headers=HX)
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert _timeline_ids(html) == expected[:20]
    cursor_url = re.search(r'hx-get="([^"]+cursor=[^"]+)"', html).group(1).replace("&amp;", "&")

    more = member_client.get(cursor_url, headers=HX)
    rest = more.get_data(as_text=True)
    assert _timeline_ids(rest) == expected[20:]
    assert "Load more" not in rest and 'id="communications-panel"' not in rest

    with app.test_request_context():
        page = services.timeline(member, contact_id, limit=5)
        assert [c.id for c in page.items] == expected[:5]
        page2 = services.timeline(member, contact_id, cursor=page.next_cursor, limit=5)
        assert [c.id for c in page2.items] == expected[5:10]


def test_empty_timeline_and_bad_cursor(member_client, contact_id):
    html = member_client.get(f"/communications/contacts/{contact_id}/timeline").get_data(as_text=True)
    assert "No calls, emails or meetings logged yet." in html
    assert "<html" not in html  # a fragment, not a page
    response = member_client.get(f"/communications/contacts/{contact_id}/timeline?cursor=garbage")
    assert response.status_code == 422
    assert "cursor" in response.get_data(as_text=True)


def test_huge_ids_in_cursors_and_urls_are_refused(app, member_client, member, contact_id):
    from core.services.pagination import encode_cursor

    url = f"/communications/contacts/{contact_id}/timeline"
    huge = encode_cursor(["2026-01-01T00:00:00", 2**40])
    response = member_client.get(url, query_string={"cursor": huge})
    assert response.status_code == 422 and "cursor" in response.get_data(as_text=True)
    assert member_client.get("/communications/contacts/4294967296/timeline").status_code == 404
    assert member_client.post("/communications/4294967296/delete").status_code == 404


def test_delete_an_entry(app, member_client, member, contact_id, spy):
    comm_id = _log(app, member, contact_id)
    panel = member_client.get(f"/communications/contacts/{contact_id}/timeline").get_data(as_text=True)
    button = re.search(r'hx-post="([^"]+)"\s+hx-confirm="Delete this entry\?" hx-target="#communication-(\d+)"', panel)
    assert button.group(2) == str(comm_id)
    response = member_client.post(button.group(1), headers=HX)
    assert response.status_code == 200 and response.data == b""
    with app.app_context():
        assert db.session.get(Communication, comm_id) is None
        assert db.session.scalars(
            db.select(AuditEntry.action).where(AuditEntry.entity_type == "communication", AuditEntry.entity_id == comm_id)
        ).all() == ["created", "deleted"]
    assert spy.calls[-1][:3] == ("communication", comm_id, "deleted")
    assert member_client.delete(f"/communications/{comm_id}", headers=HX).status_code == 404


# --- permissions ------------------------------------------------------------------------------


def test_viewer_sees_but_cannot_log_or_delete(app, viewer_client, member, contact_id):
    comm_id = _log(app, member, contact_id, subject="Visible to viewers")
    html = viewer_client.get(f"/communications/contacts/{contact_id}/timeline").get_data(as_text=True)
    assert "Visible to viewers" in html
    assert "communications-log" not in html and "Delete" not in html
    response = viewer_client.post(f"/communications/contacts/{contact_id}/timeline", data={"type": "call", "subject": "x"})
    assert response.status_code == 403
    assert viewer_client.post(f"/communications/{comm_id}/delete").status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Communication)) == 1


def test_outsider_gets_404(app, outsider_client, member, contact_id):
    comm_id = _log(app, member, contact_id)
    assert outsider_client.get(f"/communications/contacts/{contact_id}/timeline").status_code == 404
    assert outsider_client.post(f"/communications/contacts/{contact_id}/timeline", data={"type": "call", "subject": "x"}).status_code == 404
    assert outsider_client.post(f"/communications/{comm_id}/delete").status_code == 404
    assert outsider_client.get("/communications/contacts/9223372036854775807/timeline").status_code == 404
    assert outsider_client.get("/communications/contacts/9223372036854775808/timeline").status_code == 404


def test_trashed_contact_hides_its_timeline(app, member_client, member, contact_id):
    _log(app, member, contact_id)
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        contact.deleted_at = datetime(2026, 1, 1)
        db.session.commit()
    assert member_client.get(f"/communications/contacts/{contact_id}/timeline").status_code == 404


def test_anonymous_is_sent_to_login(client, contact_id):
    response = client.get(f"/communications/contacts/{contact_id}/timeline")
    assert response.status_code in (302, 401)


# --- the global page ---------------------------------------------------------------------------


def test_global_page_lists_only_visible_communications(app, member_client, member, admin, contact_id, other_contact_id):
    _log(app, member, contact_id, subject="Ours")
    _log(app, admin, other_contact_id, subject="Theirs")
    html = member_client.get("/communications/").get_data(as_text=True)
    assert "Ours" in html and "Theirs" not in html and "Grace Hopper" in html
    with app.test_request_context():
        assert {c.subject for c in services.recent(admin).items} == {"Ours", "Theirs"}


# --- JSON API ---------------------------------------------------------------------------------


def _token(app, user) -> dict:
    with app.test_request_context():
        _, raw = accounts.create_token(user, "test")
    return {"Authorization": f"Bearer {raw}"}


def test_api_create_and_list_with_cursor(app, client, member, contact_id):
    auth = _token(app, member)
    url = f"/api/v1/contacts/{contact_id}/communications"
    for i in range(3):
        response = client.post(url, json={"type": "email", "subject": f"m{i}", "when": f"2026-02-0{i + 1}T08:00:00Z"}, headers=auth)
        assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["subject"] == "m2" and body["contact_id"] == contact_id and body["scheduled_at"] == "2026-02-03T08:00:00"
    first = client.get(url + "?limit=2", headers=auth).get_json()
    assert [c["subject"] for c in first["items"]] == ["m2", "m1"]
    second = client.get(url, query_string={"limit": 2, "cursor": first["next_cursor"]}, headers=auth).get_json()
    assert [c["subject"] for c in second["items"]] == ["m0"] and second["next_cursor"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "fax", "subject": "x"}, "type"),
        ({"type": "call", "subject": "x", "when": "soon"}, "when"),
        ({"type": "call", "subject": 5}, "subject"),
        ([1, 2], "json"),
        ({"type": "call", "subject": "x", "bogus": 1}, "bogus"),
    ],
)
def test_api_errors_name_the_field(app, client, member, contact_id, payload, field):
    response = client.post(f"/api/v1/contacts/{contact_id}/communications", json=payload, headers=_token(app, member))
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and field in body["errors"]


def test_api_permissions(app, client, viewer, outsider, contact_id):
    url = f"/api/v1/contacts/{contact_id}/communications"
    assert client.get(url).status_code == 401
    assert client.post(url, json={"type": "call", "subject": "x"}, headers=_token(app, viewer)).status_code == 403
    assert client.get(url, headers=_token(app, viewer)).status_code == 200
    response = client.get(url, headers=_token(app, outsider))
    assert response.status_code == 404 and response.get_json()["code"] == 404
    assert client.get(url + "?limit=zero", headers=_token(app, viewer)).get_json()["errors"] == {"limit": ["Must be a number."]}
    assert client.get(url + "?limit=500", headers=_token(app, viewer)).status_code == 422


def test_api_is_csrf_exempt(tmp_path_factory):
    app = create_app(test_config(tmp_path_factory, WTF_CSRF_ENABLED=True), plugins=["communications"])
    client = app.test_client()
    # The HTML form is protected: no token, refused before anything else.
    assert client.post("/communications/contacts/1/timeline", data={"type": "call"}).status_code == 400
    # The API is not (it authenticates with a bearer token): the request reaches the login check.
    response = client.post("/api/v1/contacts/1/communications", json={"type": "call"})
    assert response.status_code == 401 and response.get_json()["code"] == 401


# --- hooks --------------------------------------------------------------------------------------


def test_panel_and_permissions_hooks(app, member, contact_id):
    relay = app.extensions["contacts_pm"].hook
    with app.test_request_context():
        contact = db.session.get(Contact, contact_id)
        panels = [p for group in relay.contacts_contact_panels(contact=contact, user=member) for p in group]
        panel = next(p for p in panels if p.key == "communications")
        assert panel.url == f"/communications/contacts/{contact_id}/timeline"
        actions = {k for group in relay.contacts_permissions() for k in group}
        assert {"communication.create", "communication.view", "communication.delete"} <= actions


def test_contact_page_loads_the_timeline_panel(member_client, contact_id):
    page = member_client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert f'hx-get="/communications/contacts/{contact_id}/timeline"' in page


def test_merge_hook_repoints_communications(app, member, admin, team, contact_id):
    with app.app_context():
        target_id = factories.contact(db.session.merge(team), "Grace", "Brewster").id
    moved = [_log(app, member, contact_id, subject=f"m{i}") for i in range(3)]
    kept = _log(app, member, target_id, subject="already there")
    with app.test_request_context():
        target, source = db.session.get(Contact, target_id), db.session.get(Contact, contact_id)
        app.extensions["contacts_pm"].hook.contacts_contacts_merged(target=target, source=source, actor=admin)
    with app.app_context():
        rows = db.session.execute(db.select(Communication.id, Communication.contact_id)).all()
        assert {r.id for r in rows if r.contact_id == target_id} == set(moved) | {kept}
        assert not [r for r in rows if r.contact_id == contact_id]
        entry = db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == "merged")).one()
        assert entry.changes["contact_id"] == [contact_id, target_id] and entry.changes["count"] == [None, 3]


# --- the app without the plugin -------------------------------------------------------------------


@pytest.mark.parametrize("plugins", [[], ["planning"]])
def test_app_works_without_communications(tmp_path_factory, plugins):
    app = create_app(test_config(tmp_path_factory), plugins=plugins)
    assert "communications" not in app.blueprints and "communications_api" not in app.blueprints
    assert "communications" not in app.extensions["contacts_plugins"]
    client = app.test_client()
    assert client.get("/communications/contacts/1/timeline").status_code == 404
    assert client.get("/").status_code == 302  # the core still answers (login first)
