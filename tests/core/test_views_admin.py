"""The admin pages: plugins, users, teams, vocabularies and the audit log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from core.extensions import db
from core.models import AuditEntry, ContactStatus, Team, User
from core.plugins import PluginInfo
from core.services import vocabulary
from tests import factories

HX = {"HX-Request": "true"}
ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/teams", "/admin/vocabularies", "/admin/audit"]


@pytest.fixture
def team_id(app, team):
    with app.app_context():
        return db.session.merge(team).id


@pytest.fixture
def other_team_id(app, other_team):
    with app.app_context():
        return db.session.merge(other_team).id


def _user_by_email(app, email):
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        if user is not None:
            _ = user.teams
            db.session.expunge(user)
        return user


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_need_the_admin_role(app, admin_client, member_client, viewer_client, url):
    assert admin_client.get(url).status_code == 200
    assert member_client.get(url).status_code == 403
    assert viewer_client.get(url).status_code == 403
    response = app.test_client().get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_posts_need_the_admin_role(app, member_client, member, team_id):
    assert member_client.post("/admin/users", data={"email": "x@example.org", "role": "admin"}).status_code == 403
    assert member_client.post(f"/admin/users/{member.id}", data={"role": "admin"}).status_code == 403
    assert member_client.post(f"/admin/users/{member.id}/reset-password").status_code == 403
    assert member_client.post("/admin/teams", data={"name": "Mine"}).status_code == 403
    assert member_client.post("/admin/vocabularies/status", data={"key": "x", "label": "X"}).status_code == 403
    assert member_client.post("/admin/audit/verify").status_code == 403
    assert _user_by_email(app, "x@example.org") is None
    assert _user_by_email(app, member.email).role == "member"


def test_index_lists_plugins_their_versions_errors_and_permissions(app, admin_client, monkeypatch):
    broken = PluginInfo(name="brokenplugin", module="brokenplugin", error="ImportError: no module named nope")
    monkeypatch.setitem(app.extensions["contacts_plugins"], "brokenplugin", broken)
    body = admin_client.get("/admin/").get_data(as_text=True)
    for name, info in app.extensions["contacts_plugins"].items():
        assert name in body
        if info.version:
            assert info.version in body
    assert "communications" in body and "enabled" in body
    assert "brokenplugin" in body and "failed" in body and "ImportError: no module named nope" in body
    assert "communication.create" in body  # declared through contacts_permissions()
    assert "activity.list" in body


def test_create_user_shows_a_one_time_password_that_must_be_changed(app, admin_client, team_id):
    form = admin_client.get("/admin/users").get_data(as_text=True)
    assert 'name="team_ids"' in form and "Sales" in form
    response = admin_client.post(
        "/admin/users", data={"email": "New.Person@Example.org", "name": "New Person", "role": "manager", "team_ids": [team_id]}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    password = re.search(r'id="one-time-password" class="secret" type="text" value="([^"]+)"', body).group(1)
    assert "shown only now" in body
    user = _user_by_email(app, "new.person@example.org")
    assert user.role == "manager" and user.team_ids == [team_id] and user.must_change_password
    assert password not in user.password_hash
    # the list no longer shows it
    assert password not in admin_client.get("/admin/users").get_data(as_text=True)

    fresh = app.test_client()
    login = fresh.post("/login", data={"email": "new.person@example.org", "password": password})
    assert login.status_code == 302 and login.headers["Location"].endswith("/account/password")
    blocked = fresh.get("/organizations/")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/password")
    changed = fresh.post(
        "/account/password",
        data={"current_password": password, "new_password": "a brand new secret", "confirm_password": "a brand new secret"},
    )
    assert changed.status_code == 302
    assert fresh.get("/organizations/").status_code == 200
    assert not _user_by_email(app, "new.person@example.org").must_change_password


def test_create_user_errors_are_shown_next_to_the_field(app, admin_client, admin):
    response = admin_client.post("/admin/users", data={"email": "not-an-email", "role": "boss"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="email-error"' in body and 'id="role-error"' in body
    response = admin_client.post("/admin/users", data={"email": admin.email, "role": "member"})
    assert response.status_code == 422 and b"already exists" in response.data
    response = admin_client.post("/admin/users", data={"email": "a@example.org", "role": "member", "team_ids": ["999999"]})
    assert response.status_code == 422 and b"Unknown team" in response.data


def test_edit_role_active_and_teams(app, admin_client, member, team_id, other_team_id):
    page = admin_client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert member.email in page and 'name="active"' in page
    response = admin_client.post(
        f"/admin/users/{member.id}", data={"name": "Renamed", "role": "viewer", "team_ids": [other_team_id]}
    )
    assert response.status_code == 302
    user = _user_by_email(app, member.email)
    assert user.role == "viewer" and not user.active and user.team_ids == [other_team_id] and user.name == "Renamed"
    bad = admin_client.post(f"/admin/users/{member.id}", data={"role": "overlord", "active": "1"})
    assert bad.status_code == 422 and b'id="role-error"' in bad.data
    assert admin_client.get("/admin/users/999999").status_code == 404


def test_admin_cannot_demote_themselves(app, admin_client, admin, team_id):
    response = admin_client.post(f"/admin/users/{admin.id}", data={"role": "member", "active": "1", "team_ids": [team_id]})
    assert response.status_code == 422
    assert _user_by_email(app, admin.email).role == "admin"


def test_reset_password_shows_a_new_one_time_password(app, admin_client, member):
    response = admin_client.post(f"/admin/users/{member.id}/reset-password")
    assert response.status_code == 200
    password = re.search(r'id="one-time-password" class="secret" type="text" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": member.email, "password": factories.PASSWORD}).status_code == 401
    login = fresh.post("/login", data={"email": member.email, "password": password})
    assert login.status_code == 302 and login.headers["Location"].endswith("/account/password")


def test_create_team_and_manage_members_as_admin(app, admin_client, member, team_id):
    assert admin_client.post("/admin/teams", data={"name": ""}).status_code == 422
    assert admin_client.post("/admin/teams", data={"name": "sales"}).status_code == 422  # exists, case-insensitive
    response = admin_client.post("/admin/teams", data={"name": "Research"})
    assert response.status_code == 302
    with app.app_context():
        new_id = db.session.scalar(db.select(Team.id).where(Team.name == "Research"))
    assert "Research" in admin_client.get("/admin/teams").get_data(as_text=True)
    page = admin_client.get(f"/admin/teams/{new_id}").get_data(as_text=True)
    assert "This team has no members yet" in page and member.email in page  # offered as a candidate
    added = admin_client.post(f"/admin/teams/{new_id}/members", headers=HX, data={"user_id": member.id, "action": "add"})
    assert added.status_code == 200 and b"<html" not in added.data
    assert new_id in _user_by_email(app, member.email).team_ids
    removed = admin_client.post(f"/admin/teams/{new_id}/members", data={"user_id": member.id, "action": "remove"})
    assert removed.status_code == 302
    assert new_id not in _user_by_email(app, member.email).team_ids
    bad = admin_client.post(f"/admin/teams/{new_id}/members", headers=HX, data={"user_id": "nobody"})
    assert bad.status_code == 422 and b"Choose a user" in bad.data
    assert admin_client.post(f"/admin/teams/{new_id}/members", data={"user_id": "999999"}).status_code == 422
    assert admin_client.get("/admin/teams/999999").status_code == 404


def test_a_manager_manages_their_own_team_only(app, client_for, manager, viewer, team_id, other_team_id):
    with app.app_context():
        newcomer = factories.user("member", [], email="newcomer@example.org")
        newcomer_id = newcomer.id
        other_manager = factories.user("manager", [db.session.get(Team, other_team_id)])
        _ = other_manager.teams
        db.session.expunge_all()
    client = client_for(manager)
    account = client.get("/account/").get_data(as_text=True)
    assert f'href="/admin/teams/{team_id}"' in account
    page = client.get(f"/admin/teams/{team_id}")
    assert page.status_code == 200 and b"newcomer@example.org" in page.data
    added = client.post(f"/admin/teams/{team_id}/members", headers=HX, data={"user_id": newcomer_id, "action": "add"})
    assert added.status_code == 200
    assert team_id in _user_by_email(app, "newcomer@example.org").team_ids
    removed = client.post(f"/admin/teams/{team_id}/members", headers=HX, data={"user_id": viewer.id, "action": "remove"})
    members_table = removed.get_data(as_text=True).split("Add a member")[0]
    assert removed.status_code == 200 and viewer.email not in members_table
    # ...and nothing else of the admin area
    assert client.get("/admin/teams").status_code == 403
    assert client.get(f"/admin/teams/{other_team_id}").status_code == 403
    # a manager of another team is refused
    other = client_for(other_manager)
    assert other.get(f"/admin/teams/{team_id}").status_code == 403
    refused = other.post(f"/admin/teams/{team_id}/members", data={"user_id": other_manager.id, "action": "add"})
    assert refused.status_code == 403
    assert team_id not in _user_by_email(app, other_manager.email).team_ids


def test_a_member_cannot_manage_their_team(app, member_client, member, team_id):
    assert member_client.get(f"/admin/teams/{team_id}").status_code == 403
    assert member_client.post(f"/admin/teams/{team_id}/members", data={"user_id": member.id, "action": "remove"}).status_code == 403
    assert team_id in _user_by_email(app, member.email).team_ids


def test_vocabulary_add_deactivate_and_reactivate(app, admin_client, member_client):
    assert admin_client.post("/admin/vocabularies/status", data={"key": "", "label": ""}).status_code == 422
    bad = admin_client.post("/admin/vocabularies/status", data={"key": "no spaces!", "label": "X"})
    assert bad.status_code == 422 and b'id="status-key-error"' in bad.data
    assert admin_client.post("/admin/vocabularies/status", data={"key": "lead", "label": "Dup"}).status_code == 422
    assert admin_client.post("/admin/vocabularies/colour", data={"key": "red", "label": "Red"}).status_code == 404
    response = admin_client.post("/admin/vocabularies/status", data={"key": "dormant", "label": "Dormant"})
    assert response.status_code == 302
    assert "Dormant" in admin_client.get("/admin/vocabularies").get_data(as_text=True)
    assert b'value="dormant"' in member_client.get("/contacts/new").data  # offered on the contact form
    with app.test_request_context():
        assert ("dormant", "Dormant") in vocabulary.terms("status")
        term_id = db.session.scalar(db.select(ContactStatus.id).where(ContactStatus.key == "dormant"))
    off = admin_client.post(f"/admin/vocabularies/status/{term_id}/active", headers=HX, data={"active": "0"})
    assert off.status_code == 200 and b"Reactivate" in off.data and b"<html" not in off.data
    with app.test_request_context():
        assert "dormant" not in dict(vocabulary.terms("status"))
    assert b'value="dormant"' not in member_client.get("/contacts/new").data  # ...and no longer
    on = admin_client.post(f"/admin/vocabularies/status/{term_id}/active", data={"active": "1"})
    assert on.status_code == 302
    with app.test_request_context():
        assert "dormant" in dict(vocabulary.terms("status"))
    assert admin_client.post("/admin/vocabularies/type/999999/active", data={"active": "0"}).status_code == 422


def _entries(app):
    with app.app_context():
        return db.session.scalars(db.select(AuditEntry.id).order_by(AuditEntry.id)).all()


def test_audit_log_lists_newest_first_with_load_more(app, admin_client):
    for i in range(55):
        assert admin_client.post("/admin/teams", data={"name": f"Team {i:02d}"}).status_code == 302
    ids = _entries(app)
    assert len(ids) == 55
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert page.index(f"<td>{ids[-1]}</td>") < page.index(f"<td>{ids[-2]}</td>")
    assert f"<td>{ids[0]}</td>" not in page and "Team 54" in page
    match = re.search(r'hx-get="(/admin/audit\?cursor=\d+)"', page)
    more = admin_client.get(match.group(1), headers=HX).get_data(as_text=True)
    assert f"<td>{ids[0]}</td>" in more and f"<td>{ids[-1]}</td>" not in more and "Load older" not in more
    assert admin_client.get("/admin/audit?cursor=abc").status_code == 422


def test_audit_verify_reports_ok_then_the_tampered_entry(app, admin_client):
    for name in ("One", "Two", "Three"):
        admin_client.post("/admin/teams", data={"name": name})
    ok = admin_client.post("/admin/audit/verify", headers=HX)
    assert ok.status_code == 200 and b"The chain is intact: 3 entries checked" in ok.data
    plain = admin_client.post("/admin/audit/verify")
    assert b"<html" in plain.data and b"The chain is intact" in plain.data
    ids = _entries(app)
    with app.app_context():
        db.session.execute(text("UPDATE audit_entries SET action = 'hidden' WHERE id = :id"), {"id": ids[1]})
        db.session.commit()
    broken = admin_client.post("/admin/audit/verify", headers=HX).get_data(as_text=True)
    assert f"broken at entry #{ids[1]}" in broken and "edited" in broken and "1 entries before it" in broken
