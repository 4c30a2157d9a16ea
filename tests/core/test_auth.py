"""Login, logout, remember-me, the rate limit and the first-login password change."""

import pytest

from core import create_app
from core.extensions import db
from core.services import accounts
from tests import factories
from tests.conftest import test_config


def _login(client, email, password, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_login_and_logout(app, member):
    client = app.test_client()
    response = _login(client, member.email, factories.PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part(app, member):
    client = app.test_client()
    response = _login(client, member.email, "not the password")
    assert response.status_code == 401
    assert b"Wrong email or password" in response.data
    assert _login(client, "nobody@example.org", "whatever").status_code == 401


def test_inactive_user_cannot_log_in(app, team):
    with app.app_context():
        user = factories.user("member", [db.session.merge(team)], active=False)
        email = user.email
    assert _login(app.test_client(), email, factories.PASSWORD).status_code == 401


def test_remember_me_sets_a_cookie(app, member):
    client = app.test_client()
    _login(client, member.email, factories.PASSWORD, remember="1")
    assert client.get_cookie("remember_token") is not None


def test_next_only_redirects_inside_the_site(app, member):
    client = app.test_client()
    response = client.post(
        "/login?next=//evil.example/x", data={"email": member.email, "password": factories.PASSWORD}
    )
    assert response.headers["Location"] == "/"
    client = app.test_client()
    response = client.post("/login?next=/trash", data={"email": member.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/trash"


def test_changing_the_password_logs_out_other_sessions(app, member):
    first, second = app.test_client(), app.test_client()
    _login(first, member.email, factories.PASSWORD)
    _login(second, member.email, factories.PASSWORD)
    response = first.post(
        "/account/password",
        data={"current_password": factories.PASSWORD, "new_password": "a new long password", "confirm_password": "a new long password"},
    )
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


def test_password_change_errors_name_the_field(app, member_client):
    response = member_client.post(
        "/account/password", data={"current_password": "wrong", "new_password": "x", "confirm_password": "x"}
    )
    assert response.status_code == 422
    assert b"This is not your current password" in response.data


def test_one_time_password_forces_a_change(app, team):
    with app.test_request_context():
        user, one_time = accounts.create_user(accounts.SYSTEM, {"email": "new@example.org", "role": "member"})
    client = app.test_client()
    response = _login(client, "new@example.org", one_time)
    assert response.headers["Location"].endswith("/account/password")
    assert client.get("/").headers["Location"].endswith("/account/password")
    client.post(
        "/account/password",
        data={"current_password": one_time, "new_password": "my own password 1", "confirm_password": "my own password 1"},
    )
    assert client.get("/").status_code == 200


@pytest.fixture
def limited_app(tmp_path_factory):
    app = create_app(test_config(tmp_path_factory, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute"), plugins=[])
    with app.app_context():
        db.create_all()
    return app


def test_login_is_rate_limited(limited_app):
    client = limited_app.test_client()
    codes = [_login(client, "x@example.org", "wrong password").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    page = _login(client, "x@example.org", "wrong password")
    assert page.status_code == 429
    assert b"Too many login attempts" in page.data
    assert client.get("/login").status_code == 200  # only POSTs are limited


def test_the_limiter_costs_nothing_where_no_limit_applies(limited_app):
    """Only the login POST is limited: the limiter's app-wide hooks (default limits, headers) are
    not run on every other request (core/setup.py limit_only_decorated_views)."""
    from core.extensions import limiter

    hooks = [*limited_app.before_request_funcs[None], *limited_app.after_request_funcs[None],
             *limited_app.teardown_request_funcs.get(None, [])]
    assert not [f for f in hooks if limiter in (getattr(f, "__self__", None), *getattr(f, "args", ()))]
    assert limited_app.test_client().get("/healthz").status_code == 200


def test_the_session_signer_is_built_once_per_key(app, member):
    """core/sessions.py: one serializer per secret key, not one per request; a new key, a new one."""
    iface = app.session_interface
    first = iface.get_signing_serializer(app)
    assert iface.get_signing_serializer(app) is first
    old_key = app.secret_key
    try:
        app.secret_key = "another key"
        other = iface.get_signing_serializer(app)
        assert other is not first
        assert other.loads(other.dumps({"a": 1})) == {"a": 1}
    finally:
        app.secret_key = old_key
    client = app.test_client()
    assert _login(client, member.email, factories.PASSWORD).status_code == 302
    assert client.get("/").status_code == 200  # the cookie signed by the one serializer opens again


def test_the_session_signer_and_its_key_are_made_once(app, member, monkeypatch):
    """core/sessions.py: the serializer makes its signer once per salt, the signer derives its key once;
    its cookies are Flask's own, both ways, and a rotated-out key still opens them."""
    import itsdangerous.signer
    from flask.sessions import SecureCookieSessionInterface

    serializer = app.session_interface.get_signing_serializer(app)
    signed = serializer.dumps({"a": 1})
    derived = []
    plain_derive = itsdangerous.signer.Signer.derive_key
    monkeypatch.setattr(itsdangerous.signer.Signer, "derive_key",
                        lambda self, key=None: derived.append(1) or plain_derive(self, key))
    assert serializer.make_signer() is serializer.make_signer()
    for _ in range(3):
        assert serializer.loads(serializer.dumps({"a": 1})) == {"a": 1}
    assert derived == []  # derived when the signer first signed, not again
    stock = SecureCookieSessionInterface().get_signing_serializer(app)
    assert stock.loads(signed) == {"a": 1} and serializer.loads(stock.dumps({"b": 2})) == {"b": 2}
    old_key, old_fallbacks = app.secret_key, app.config["SECRET_KEY_FALLBACKS"]
    try:
        app.secret_key = "the next key"
        app.config["SECRET_KEY_FALLBACKS"] = [old_key]
        rotated = app.session_interface.get_signing_serializer(app)
        assert rotated is not serializer and rotated.loads(signed) == {"a": 1}
    finally:
        app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = old_key, old_fallbacks
