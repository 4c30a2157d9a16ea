"""The account page (profile, personal API tokens) and the health check."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy.exc import OperationalError

from core import database
from core.extensions import db
from core.models import ApiToken
from core.services import accounts

HX = {"HX-Request": "true"}
TOKEN_RE = re.compile(r'id="new-token" class="secret" type="text" value="(ctk_[^"]+)"')


def _tokens(app, user_id):
    with app.app_context():
        rows = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user_id)).all()
        db.session.expunge_all()
        return rows


def test_profile_shows_the_user_and_a_password_link(app, member_client, member):
    body = member_client.get("/account/").get_data(as_text=True)
    assert member.email in body and "Sales" in body and "member" in body
    assert 'href="/account/password"' in body
    assert "You have no API tokens" in body
    assert "Teams you manage" not in body


def test_account_needs_login(app):
    response = app.test_client().get("/account/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_create_token_shows_it_once_and_stores_only_a_hash(app, member_client, member):
    response = member_client.post("/account/tokens", headers=HX, data={"name": "nightly import"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    raw = TOKEN_RE.search(body).group(1)
    assert "shown only this once" in body and "Ctrl+C" in body
    [token] = _tokens(app, member.id)
    assert token.name == "nightly import" and token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw[:10] == token.prefix and raw not in (token.prefix, token.token_hash)
    listing = member_client.get("/account/").get_data(as_text=True)
    assert "nightly import" in listing and token.prefix in listing and raw not in listing
    with app.test_request_context():
        assert accounts.user_for_token(raw).id == member.id  # it authenticates API calls
    row = member_client.get("/account/").get_data(as_text=True).split("nightly import")[1].split("</tr>")[0]
    assert "never" not in row  # last used is shown


def test_create_token_without_javascript(app, member_client):
    response = member_client.post("/account/tokens", data={"name": "plain"})
    assert response.status_code == 200 and b"<html" in response.data
    assert TOKEN_RE.search(response.get_data(as_text=True))


def test_token_name_is_required(app, member_client, member):
    response = member_client.post("/account/tokens", headers=HX, data={"name": "  "})
    assert response.status_code == 422
    assert b'id="token-name-error"' in response.data and b"This field is required." in response.data
    assert _tokens(app, member.id) == []


def test_revoke_token(app, member_client, member):
    raw = TOKEN_RE.search(member_client.post("/account/tokens", headers=HX, data={"name": "old"}).get_data(as_text=True)).group(1)
    [token] = _tokens(app, member.id)
    response = member_client.post(f"/account/tokens/{token.id}/revoke", headers=HX)
    assert response.status_code == 200
    assert "revoked" in response.get_data(as_text=True)
    assert _tokens(app, member.id)[0].revoked_at is not None
    with app.test_request_context():
        assert accounts.user_for_token(raw) is None
    plain = member_client.post(f"/account/tokens/{token.id}/revoke")
    assert plain.status_code == 302


def test_someone_elses_token_cannot_be_revoked(app, member_client, outsider_client, member):
    member_client.post("/account/tokens", data={"name": "mine"})
    [token] = _tokens(app, member.id)
    assert outsider_client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert _tokens(app, member.id)[0].revoked_at is None
    assert "mine" not in outsider_client.get("/account/").get_data(as_text=True)


def test_healthz_is_public_json(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_fails(app, monkeypatch):
    def broken():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(database, "ping", broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error"}
