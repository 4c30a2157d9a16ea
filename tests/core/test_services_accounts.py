"""Users, passwords, teams and API tokens, through core.services.accounts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.models import ApiToken, AuditEntry, User
from core.services import accounts
from tests import factories

LONG = "a long enough password"


def _id(detached) -> int:
    """The id of a fixture's detached team (its attributes expired at commit)."""
    return db.session.merge(detached).id


def _reload(user_id):
    return db.session.get(User, user_id)


def test_create_user_with_a_one_time_password(ctx, admin, team):
    user, one_time = accounts.create_user(admin, {"email": " Grace@Example.ORG ", "role": "viewer", "team_ids": [_id(team)]})
    assert user.email == "grace@example.org" and user.role == "viewer" and user.must_change_password
    assert one_time and accounts.authenticate("GRACE@example.org", one_time).id == user.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "user"))
    assert entry.actor_id == admin.id and entry.changes["role"] == [None, "viewer"]


def test_create_user_with_a_chosen_password(ctx, admin):
    user, one_time = accounts.create_user(admin, {"email": "x@example.org"}, LONG)
    assert one_time is None and not user.must_change_password and user.role == "member"


@pytest.mark.parametrize(
    ("data", "password", "field"),
    [
        ({"email": "not-an-address"}, None, "email"),
        ({"email": ""}, None, "email"),
        ({"email": "a@example.org", "role": "owner"}, None, "role"),
        ({"email": "a@example.org", "team_ids": ["x"]}, None, "team_ids"),
        ({"email": "a@example.org", "team_ids": [999999]}, None, "team_ids"),
        ({"email": "a@example.org"}, "short", "password"),
        ({"email": "a@example.org"}, "x" * 1025, "password"),
    ],
)
def test_create_user_names_the_bad_field(ctx, admin, data, password, field):
    with pytest.raises(ValidationError) as err:
        accounts.create_user(admin, data, password)
    assert field in err.value.errors


def test_only_admins_create_users(ctx, manager):
    with pytest.raises(PermissionDenied):
        accounts.create_user(manager, {"email": "a@example.org"})


def test_duplicate_email_is_refused_case_insensitively(ctx, admin, member):
    with pytest.raises(ValidationError) as err:
        accounts.create_user(admin, {"email": member.email.upper()})
    assert "already exists" in err.value.errors["email"][0]


def test_authenticate_refuses_wrong_passwords_and_inactive_users(ctx, member):
    assert accounts.authenticate(member.email, factories.PASSWORD).id == member.id
    assert accounts.authenticate(member.email, "wrong password") is None
    assert accounts.authenticate("nobody@example.org", factories.PASSWORD) is None
    assert accounts.authenticate(None, None) is None
    _reload(member.id).active = False
    db.session.commit()
    assert accounts.authenticate(member.email, factories.PASSWORD) is None


def test_authenticate_records_the_login_time(ctx, member):
    accounts.authenticate(member.email, factories.PASSWORD)
    assert _reload(member.id).last_login_at is not None


def test_user_for_session_checks_the_session_token(ctx, member):
    user = _reload(member.id)
    assert accounts.user_for_session(user.get_id()).id == member.id
    assert accounts.user_for_session(f"{member.id}:wrong") is None
    assert accounts.user_for_session("abc:def") is None
    assert accounts.user_for_session("") is None
    assert accounts.user_for_session("999999:token") is None


def test_update_user_changes_role_teams_and_logs_out(ctx, admin, member, other_team):
    before = _reload(member.id).session_token
    user = accounts.update_user(admin, member.id, {"role": "viewer", "team_ids": [_id(other_team)], "name": "M"})
    assert user.role == "viewer" and [t.id for t in user.teams] == [_id(other_team)] and user.name == "M"
    assert user.session_token != before
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert set(entry.changes) == {"role", "teams", "name"}


def test_update_user_without_changes_writes_no_audit(ctx, admin, member):
    count = len(db.session.scalars(select(AuditEntry)).all())
    accounts.update_user(admin, member.id, {"role": "member"})
    assert len(db.session.scalars(select(AuditEntry)).all()) == count


def test_update_user_errors(ctx, admin):
    with pytest.raises(NotFound):
        accounts.update_user(admin, 999999, {"role": "viewer"})
    with pytest.raises(ValidationError) as err:
        accounts.update_user(admin, admin.id, {"role": "member"})
    assert "role" in err.value.errors
    with pytest.raises(ValidationError):
        accounts.update_user(admin, admin.id, {"active": False})


def test_change_password(ctx, member):
    user = _reload(member.id)
    with pytest.raises(ValidationError) as err:
        accounts.change_password(user, "wrong", LONG, LONG)
    assert "current_password" in err.value.errors
    with pytest.raises(ValidationError) as err:
        accounts.change_password(user, factories.PASSWORD, "short", "short")
    assert "new_password" in err.value.errors
    with pytest.raises(ValidationError) as err:
        accounts.change_password(user, factories.PASSWORD, LONG, LONG + "!")
    assert "confirm_password" in err.value.errors
    with pytest.raises(ValidationError) as err:
        accounts.change_password(user, factories.PASSWORD, factories.PASSWORD, factories.PASSWORD)
    assert "new_password" in err.value.errors
    token = user.session_token
    accounts.change_password(user, factories.PASSWORD, LONG, LONG)
    assert accounts.authenticate(member.email, LONG) is not None
    assert _reload(member.id).session_token != token


def test_reset_password_issues_a_one_time_password(ctx, admin, member):
    one_time = accounts.reset_password(admin, member.id)
    assert accounts.authenticate(member.email, one_time).must_change_password
    assert accounts.authenticate(member.email, factories.PASSWORD) is None
    with pytest.raises(NotFound):
        accounts.reset_password(admin, 999999)


def test_teams(ctx, admin, manager, member, team, other_team):
    created = accounts.create_team(admin, "Research")
    assert created.name in [t.name for t in accounts.list_teams()]
    with pytest.raises(ValidationError):
        accounts.create_team(admin, "research")
    with pytest.raises(ValidationError):
        accounts.create_team(admin, "   ")
    with pytest.raises(PermissionDenied):
        accounts.create_team(manager, "Mine")
    # a manager manages their own team's members, not another team's
    accounts.set_team_membership(manager, _id(team), member.id, False)
    assert member.id not in [u.id for u in db.session.get(type(created), _id(team)).members]
    accounts.set_team_membership(manager, _id(team), member.id, False)  # no change, no error
    accounts.set_team_membership(manager, _id(team), member.id, True)
    assert member.id in [u.id for u in db.session.get(type(created), _id(team)).members]
    with pytest.raises((NotFound, PermissionDenied)):
        accounts.set_team_membership(manager, _id(other_team), member.id, True)
    with pytest.raises(NotFound):
        accounts.set_team_membership(admin, 999999, member.id, True)
    with pytest.raises(ValidationError):
        accounts.set_team_membership(admin, _id(team), 999999, True)


def test_ensure_admin_only_on_an_empty_database(ctx):
    created = accounts.ensure_admin("boss@example.org")
    assert created is not None
    user, password = created
    assert user.role == "admin" and [t.name for t in user.teams] == ["Everyone"]
    assert accounts.authenticate("boss@example.org", password) is not None
    assert accounts.ensure_admin("other@example.org") is None


def test_api_tokens(ctx, member, admin):
    token, raw = accounts.create_token(member, "laptop")
    stored = db.session.get(ApiToken, token.id)
    assert raw.startswith(accounts.TOKEN_PREFIX) and raw not in (stored.token_hash, stored.prefix)
    assert accounts.user_for_token(raw).id == member.id
    assert db.session.get(ApiToken, token.id).last_used_at is not None
    assert [t.id for t in accounts.list_tokens(member)] == [token.id]
    assert accounts.user_for_token(raw + "x") is None
    assert accounts.user_for_token("not-a-token") is None
    assert accounts.user_for_token("") is None
    with pytest.raises(ValidationError):
        accounts.create_token(member, "")
    accounts.revoke_token(member, token.id)
    accounts.revoke_token(member, token.id)  # twice is fine
    assert accounts.user_for_token(raw) is None


def test_a_token_is_revoked_only_by_its_owner_or_an_admin(ctx, member, outsider, admin):
    token, raw = accounts.create_token(member, "laptop")
    with pytest.raises(NotFound):
        accounts.revoke_token(outsider, token.id)
    with pytest.raises(NotFound):
        accounts.revoke_token(member, 999999)
    accounts.revoke_token(admin, token.id)
    assert accounts.user_for_token(raw) is None


def test_a_deactivated_users_token_stops_working(ctx, admin, member):
    _token, raw = accounts.create_token(member, "laptop")
    accounts.update_user(admin, member.id, {"active": False})
    assert accounts.user_for_token(raw) is None
