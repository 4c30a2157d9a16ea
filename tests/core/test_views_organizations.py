"""The organizations pages: list, search, load more, create/edit (modal and plain), 422, 409,
delete with undo, the organization page, the options endpoint and permissions."""

from __future__ import annotations

import json
import re

import pytest

from core.extensions import db
from core.models import AuditEntry, Organization
from tests import factories

HX = {"HX-Request": "true"}


def _org(app, team, name, **extra):
    with app.app_context():
        org = factories.organization(db.session.merge(team), name, **extra)
        return org.id


@pytest.fixture
def team_id(app, team):
    with app.app_context():
        return db.session.merge(team).id


@pytest.fixture
def other_team_id(app, other_team):
    with app.app_context():
        return db.session.merge(other_team).id


def _load(app, org_id):
    with app.app_context():
        org = db.session.get(Organization, org_id)
        db.session.expunge(org)
        return org


def test_index_lists_visible_organizations_only(app, member_client, team, other_team):
    _org(app, team, "Acme")
    _org(app, other_team, "Hidden Corp")
    response = member_client.get("/organizations/")
    assert response.status_code == 200
    assert b"<html" in response.data
    assert b"Acme" in response.data
    assert b"Hidden Corp" not in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_empty_state(app, member_client):
    response = member_client.get("/organizations/")
    assert b"No organizations yet" in response.data
    response = member_client.get("/organizations/?q=zzz", headers=HX)
    assert "No organization name starts with “zzz”".encode() in response.data


def test_active_search_returns_only_rows(app, member_client, team):
    _org(app, team, "Acme")
    _org(app, team, "Globex")
    response = member_client.get("/organizations/?q=gl", headers={**HX, "HX-Target": "rows"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<tbody" not in body
    assert "Globex" in body and "Acme" not in body
    full = member_client.get("/organizations/?q=gl").get_data(as_text=True)
    assert 'hx-push-url="true"' in full and 'value="gl"' in full and "Acme" not in full


def test_history_restore_gets_the_full_page(app, member_client, team):
    _org(app, team, "Acme")
    response = member_client.get("/organizations/", headers={**HX, "HX-History-Restore-Request": "true"})
    assert b"<html" in response.data


def test_load_more_walks_every_page_once(app, member_client, team):
    with app.app_context():
        t = db.session.merge(team)
        for i in range(55):
            factories.organization(t, f"Org {i:02d}")
    first = member_client.get("/organizations/").get_data(as_text=True)
    assert first.count('<tr id="org-') == 50
    match = re.search(r'hx-get="(/organizations/\?cursor=[^"]+)"', first)
    assert match, "a load-more link"
    more = member_client.get(match.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
    assert more.count('<tr id="org-') == 5
    assert "Org 54" in more and "Org 00" not in more
    assert "Load more" not in more


def test_bad_cursor_is_a_field_error_not_a_500(app, member_client):
    response = member_client.get("/organizations/?cursor=garbage")
    assert response.status_code == 422


def test_create_in_the_modal(app, member_client, team, team_id):
    form = member_client.get("/organizations/new", headers={**HX, "HX-Target": "modal-body"})
    assert form.status_code == 200
    assert b"<html" not in form.data and b'hx-post="/organizations/"' in form.data
    response = member_client.post(
        "/organizations/", headers=HX, data={"name": "Initech", "website": "initech.example", "owner_team_id": team_id}
    )
    assert response.status_code == 200
    trigger = json.loads(response.headers["HX-Trigger"])
    assert "closeModal" in trigger and "organizationsChanged" in trigger
    assert b'hx-swap-oob="beforeend:#toasts"' in response.data
    with app.app_context():
        org = db.session.scalar(db.select(Organization).where(Organization.name == "Initech"))
        assert org.website == "https://initech.example"
        assert db.session.scalar(db.select(AuditEntry).where(AuditEntry.entity_type == "organization")) is not None


def test_create_without_javascript_redirects_to_the_page(app, member_client, team, team_id):
    assert b"<html" in member_client.get("/organizations/new").data
    response = member_client.post("/organizations/", data={"name": "Plain Co", "owner_team_id": team_id})
    assert response.status_code == 302
    page = member_client.get(response.headers["Location"])
    assert b"Plain Co" in page.data and b"was created" in page.data


def test_invalid_input_is_422_with_errors_next_to_the_field(app, member_client, team, team_id):
    response = member_client.post(
        "/organizations/", headers=HX, data={"name": "", "website": "not a site", "phone": "12", "owner_team_id": team_id}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="name-error"' in body and "This field is required." in body
    assert 'id="website-error"' in body and 'id="phone-error"' in body
    assert 'value="not a site"' in body  # the input is kept
    plain = member_client.post("/organizations/", data={"name": "", "owner_team_id": team_id})
    assert plain.status_code == 422 and b"<html" in plain.data


def test_another_teams_owner_is_refused(app, member_client, other_team, other_team_id):
    response = member_client.post("/organizations/", headers=HX, data={"name": "X", "owner_team_id": other_team_id})
    assert response.status_code == 422
    assert b'id="owner_team_id-error"' in response.data


def test_edit_saves_and_bumps_the_version(app, member_client, team, team_id):
    org_id = _org(app, team, "Acme")
    form = member_client.get(f"/organizations/{org_id}/edit", headers=HX).get_data(as_text=True)
    assert 'name="version" value="1"' in form
    response = member_client.post(
        f"/organizations/{org_id}/edit", headers=HX,
        data={"name": "Acme Ltd", "website": "", "phone": "+44 20 7946 0958", "notes": "n", "owner_team_id": team_id,
              "version": "1"},
    )
    assert response.status_code == 200, response.data
    org = _load(app, org_id)
    assert org.name == "Acme Ltd" and org.version == 2 and org.phone == "+442079460958"
    page = member_client.get(f"/organizations/{org_id}").get_data(as_text=True)
    assert "+44 20 7946 0958" in page


def test_stale_version_is_409_showing_what_changed(app, member_client, team, team_id):
    org_id = _org(app, team, "Acme")
    base = {"website": "", "phone": "", "notes": "", "owner_team_id": team_id, "version": "1"}
    ok = member_client.post(f"/organizations/{org_id}/edit", headers=HX, data={**base, "name": "Theirs"})
    assert ok.status_code == 200
    response = member_client.post(f"/organizations/{org_id}/edit", headers=HX, data={**base, "name": "Mine"})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "Someone else changed this organization" in body
    assert "Theirs" in body and 'value="Mine"' in body
    assert 'name="version" value="2"' in body  # saving again overwrites knowingly
    again = member_client.post(f"/organizations/{org_id}/edit", headers=HX, data={**base, "name": "Mine", "version": "2"})
    assert again.status_code == 200
    assert _load(app, org_id).name == "Mine"


def test_bad_version_is_a_field_error(app, member_client, team, team_id):
    org_id = _org(app, team, "Acme")
    response = member_client.post(
        f"/organizations/{org_id}/edit", headers=HX, data={"name": "A", "owner_team_id": team_id, "version": "x"}
    )
    assert response.status_code == 422 and b"version" in response.data


def test_delete_then_undo_from_the_toast(app, member_client, team):
    org_id = _org(app, team, "Acme")
    response = member_client.post(f"/organizations/{org_id}/delete", headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'hx-swap-oob="beforeend:#toasts"' in body
    assert f'hx-post="/organizations/{org_id}/restore"' in body and "Undo" in body
    assert _load(app, org_id).deleted_at is not None
    assert b"Acme" not in member_client.get("/organizations/", headers=HX).data
    assert member_client.get(f"/organizations/{org_id}").status_code == 404
    restored = member_client.post(f"/organizations/{org_id}/restore", headers=HX)
    assert restored.status_code == 200
    assert "organizationsChanged" in json.loads(restored.headers["HX-Trigger"])
    assert b"restored" in restored.data
    assert _load(app, org_id).deleted_at is None
    assert b"Acme" in member_client.get("/organizations/", headers=HX).data


def test_delete_from_the_page_and_without_javascript(app, member_client, team):
    org_id = _org(app, team, "Acme")
    response = member_client.post(f"/organizations/{org_id}/delete", headers=HX, data={"from": "page"})
    assert response.headers["HX-Redirect"] == f"/organizations/?deleted={org_id}"
    page = member_client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "was moved to the trash" in page and f'action="/organizations/{org_id}/restore"' in page
    plain = member_client.post(f"/organizations/{org_id}/restore")
    assert plain.status_code == 302 and _load(app, org_id).deleted_at is None
    plain = member_client.post(f"/organizations/{org_id}/delete")
    assert plain.status_code == 302 and _load(app, org_id).deleted_at is not None


def test_organization_page_shows_contacts_and_a_capped_count(app, member_client, team, monkeypatch):
    org_id = _org(app, team, "Acme", website="https://acme.example", notes="Big <b>client</b>")
    with app.app_context():
        t = db.session.merge(team)
        for i in range(30):
            factories.contact(t, "Ada", f"Person{i:02d}", organization_id=org_id)
    page = member_client.get(f"/organizations/{org_id}").get_data(as_text=True)
    assert "Acme" in page and "https://acme.example" in page
    assert "Big &lt;b&gt;client&lt;/b&gt;" in page
    assert page.count("Person") == 25 and '<span class="badge">30</span>' in page
    match = re.search(r'hx-get="(/organizations/\d+/contacts\?cursor=[^"]+)"', page)
    more = member_client.get(match.group(1), headers=HX).get_data(as_text=True)
    assert more.count("Person") == 5 and "<html" not in more
    from core.services import organizations as org_service

    monkeypatch.setattr(org_service, "contact_count", lambda org_id, limit=1000: limit + 1)
    page = member_client.get(f"/organizations/{org_id}").get_data(as_text=True)
    assert "1,000+" in page


def test_details_fragment_for_refresh(app, member_client, team):
    org_id = _org(app, team, "Acme")
    body = member_client.get(f"/organizations/{org_id}", headers=HX).get_data(as_text=True)
    assert "<html" not in body and "Acme" in body and "org-contacts" not in body


def test_options_for_pickers(app, member_client, team, other_team):
    acme = _org(app, team, "Acme")
    _org(app, team, "Globex")
    _org(app, other_team, "Acme Hidden")
    body = member_client.get("/organizations/options?q=ac&blank=1").get_data(as_text=True)
    assert f'<option value="{acme}">Acme</option>' in body
    assert "Globex" not in body and "Hidden" not in body and "No organization" in body
    body = member_client.get("/organizations/options?q=ac&value=name").get_data(as_text=True)
    assert f'<option value="Acme" data-id="{acme}">' in body
    body = member_client.get(f"/organizations/options?selected={acme}").get_data(as_text=True)
    assert f'<option value="{acme}" selected>Acme</option>' in body


def test_outsider_gets_404(app, outsider_client, team):
    org_id = _org(app, team, "Acme")
    assert outsider_client.get(f"/organizations/{org_id}").status_code == 404
    assert outsider_client.get(f"/organizations/{org_id}/edit").status_code == 404
    assert outsider_client.post(f"/organizations/{org_id}/edit", data={"name": "x"}).status_code == 404
    assert outsider_client.post(f"/organizations/{org_id}/delete").status_code == 404
    assert _load(app, org_id).name == "Acme" and _load(app, org_id).deleted_at is None


def test_viewer_may_read_but_not_write(app, viewer_client, team, team_id):
    org_id = _org(app, team, "Acme")
    listing = viewer_client.get("/organizations/").get_data(as_text=True)
    assert "Acme" in listing and "New organization" not in listing and "Delete" not in listing
    assert viewer_client.get(f"/organizations/{org_id}").status_code == 200
    assert viewer_client.get("/organizations/new").status_code == 403
    assert viewer_client.post("/organizations/", data={"name": "X", "owner_team_id": team_id}).status_code == 403
    assert viewer_client.get(f"/organizations/{org_id}/edit").status_code == 403
    assert viewer_client.post(f"/organizations/{org_id}/edit", data={"name": "X"}).status_code == 403
    assert viewer_client.post(f"/organizations/{org_id}/delete").status_code == 403


def test_anonymous_is_sent_to_login(app):
    response = app.test_client().get("/organizations/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
