"""The actor of each request (core/services/identity.py) is read fresh: a change to the user, their
teams or their token counts from the very next request, through a session cookie or a token."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.extensions import db
from core.models import ApiToken, User
from core.services import accounts
from tests import factories
from tests.core.test_api_contacts import Api, make_token
from tests.statements import captured


def _admin_does(app, admin, action, *args):
    with app.test_request_context():
        return action(db.session.get(User, admin.id), *args)


@pytest.fixture
def logged_in(app, member):
    client = app.test_client()
    assert client.post("/login", data={"email": member.email, "password": factories.PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    return client


@pytest.fixture
def foreign_contact(app, other_team):
    with app.app_context():
        return factories.contact(db.session.merge(other_team)).id


def test_a_new_team_counts_on_the_next_request(app, admin, member, other_team, foreign_contact, logged_in):
    api = Api(app, make_token(app, member))
    assert api.get(f"/api/v1/contacts/{foreign_contact}").status_code == 404
    assert logged_in.get(f"/contacts/{foreign_contact}").status_code == 404
    _admin_does(app, admin, accounts.set_team_membership, other_team.id, member.id, True)
    assert api.get(f"/api/v1/contacts/{foreign_contact}").status_code == 200
    assert logged_in.get(f"/contacts/{foreign_contact}").status_code == 200
    assert sorted(t["name"] for t in api.get("/api/v1/me").json["teams"]) == sorted(["Sales", other_team.name])
    _admin_does(app, admin, accounts.set_team_membership, other_team.id, member.id, False)
    assert api.get(f"/api/v1/contacts/{foreign_contact}").status_code == 404
    assert logged_in.get(f"/contacts/{foreign_contact}").status_code == 404


def test_a_new_role_counts_on_the_next_request(app, admin, member, logged_in):
    api = Api(app, make_token(app, member))
    assert api.get("/api/v1/me").json["role"] == "member"
    _admin_does(app, admin, accounts.update_user, member.id, {"role": "viewer"})
    assert api.get("/api/v1/me").json["role"] == "viewer"
    assert api.post("/api/v1/contacts", json={"first_name": "A"}).status_code == 403
    assert logged_in.get("/").status_code == 302  # a new role logs the browser sessions out


def test_deactivation_counts_on_the_next_request(app, admin, member, logged_in):
    api = Api(app, make_token(app, member))
    assert api.get("/api/v1/me").status_code == 200
    _admin_does(app, admin, accounts.update_user, member.id, {"active": False})
    assert api.get("/api/v1/me").status_code == 401
    assert logged_in.get("/").status_code == 302


def test_a_changed_password_logs_out_the_other_sessions(app, member, logged_in):
    with app.test_request_context():
        accounts.change_password(db.session.get(User, member.id), factories.PASSWORD, "a brand new password", "a brand new password")
    assert logged_in.get("/").status_code == 302


def test_the_actor_is_one_statement_and_a_session_object(app, member):
    """(A revoked token and a deactivated user's token: tests/core/test_api_protocol.py.)"""
    with app.test_request_context():
        db.session.execute(db.select(User.id).limit(0))  # the transaction is open: no BEGIN counted
        with captured(app) as seen:
            user = accounts.user_for_session(f"{member.id}:{member.session_token}")
        assert len(seen) == 1
        assert user in db.session and [t.name for t in user.teams] == ["Sales"]
        assert user.team_ids == [member.teams[0].id] and user.email == member.email and user.role == "member"
        user.name = "Changed through the loaded object"  # an ordinary persistent object: it writes
        db.session.commit()
        assert db.session.scalar(db.select(User.name).where(User.id == member.id)) == "Changed through the loaded object"
    with app.test_request_context():
        assert accounts.user_for_session(f"{member.id}:wrong") is None
        assert accounts.user_for_session("999999:x") is None


def test_a_user_without_teams_and_the_token_path(app, member):
    with app.app_context():
        loner = factories.user("member", [])
        loner_id = loner.id
    raw = make_token(app, loner)
    assert Api(app, raw).get("/api/v1/me").json["teams"] == []
    with app.test_request_context():
        accounts.user_for_token(raw)  # writes last_used_at (at most once a minute)
        db.session.expunge_all()
        db.session.execute(db.select(User.id).limit(0))
        with captured(app) as seen:
            user = accounts.user_for_token(raw)
        assert len(seen) == 1
        assert user.id == loner_id and user.teams == [] and user.team_ids == []


def test_a_token_request_attaches_nothing_to_the_session(app, admin, member, other_team):
    """The token's user is an identity.Actor (its columns and teams as plain values) and the token
    three values (identity.TokenSeen): no session object is made (each cost ~30 µs to attach), and
    its last use is still written, through the connection, once a minute."""
    raw = make_token(app, member)
    attached = []

    def _attached(_session, instance):
        attached.append(type(instance).__name__)

    _admin_does(app, admin, accounts.set_team_membership, other_team.id, member.id, True)
    with app.test_request_context():
        assert accounts.user_for_token(raw).id == member.id  # the first use writes last_used_at
        db.session.expunge_all()
        event.listen(Session, "detached_to_persistent", _attached)
        event.listen(Session, "transient_to_pending", _attached)
        try:
            user = accounts.user_for_token(raw)
        finally:
            event.remove(Session, "detached_to_persistent", _attached)
            event.remove(Session, "transient_to_pending", _attached)
        assert attached == [] and not list(db.session.identity_map.values())
        stored = db.session.get(User, member.id)
        assert (user.id, user.email, user.name, user.role, user.active, user.must_change_password) == (
            stored.id, stored.email, stored.name, stored.role, True, False)
        assert user.is_authenticated and user.is_active and not user.is_anonymous
        assert user.get_id() == stored.get_id() and user.display_name == stored.display_name
        assert [(t.id, t.name) for t in user.teams] == [(t.id, t.name) for t in sorted(stored.teams, key=lambda t: t.id)]
        assert user.team_ids == sorted(stored.team_ids) and len(user.team_ids) == 2
    with app.test_request_context():
        assert db.session.scalar(db.select(ApiToken.last_used_at).where(ApiToken.user_id == member.id)) is not None
