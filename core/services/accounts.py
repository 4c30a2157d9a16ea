"""Users, teams, passwords (argon2) and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from ..database import transaction
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import ROLES, ApiToken, Team, User, utcnow
from ..policy import require
from . import audit, identity, identity_snapshot
from .fields import clean_text, normalize_email

_hasher = PasswordHasher()
_dummy_hash: str | None = None  # computed at the first failed lookup, not at import (argon2 costs ~0.5 s)
MIN_PASSWORD = 10
TOKEN_PREFIX = "ctk_"  # noqa: S105 - a marker, not a secret


class SystemActor:
    """The actor for the CLI and background jobs: an administrator with no user row."""

    id = None
    role = "admin"
    is_authenticated = True
    is_active = True
    team_ids: list[int] = []
    teams: list = []
    display_name = "system"
    email = "system"


SYSTEM = SystemActor()


def _dummy() -> str:
    """A hash to verify against when no user has the email, so that both answers cost the same."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a real password")
    return _dummy_hash


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError({field: f"At least {MIN_PASSWORD} characters."})
    if len(password) > 1024:
        raise ValidationError({field: "At most 1024 characters."})


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same cost either way)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _dummy(), password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    with transaction():
        user.last_login_at = utcnow()
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    return user


def user_for_session(user_id: str) -> User | None:
    uid, _, token = (user_id or "").partition(":")
    if not uid.isdecimal() or not token:
        return None
    # with its teams (every page's permissions): one statement, or none when the page's stamps were read
    user = identity_snapshot.user_by_id(int(uid))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def _clean_user(data: dict, existing: User | None) -> dict:
    errors: dict = {}
    out: dict = {}
    if "email" in data or existing is None:
        raw = clean_text(data.get("email"), "email", errors, 254, required=True)
        if raw and "email" not in errors:
            try:
                out["email"] = normalize_email(raw).lower()
            except ValueError as exc:
                errors["email"] = str(exc)
        if "email" in out:
            clash = db.session.scalar(select(User.id).where(func.lower(User.email) == out["email"]))
            if clash and (existing is None or clash != existing.id):
                errors["email"] = "A user with this email already exists."
    if "name" in data:
        out["name"] = clean_text(data["name"], "name", errors, 200)
    if "role" in data or existing is None:
        role = (data.get("role") or "member").strip()
        if role not in ROLES:
            errors["role"] = f"Choose one of: {', '.join(ROLES)}."
        out["role"] = role
    if "active" in data:
        out["active"] = bool(data["active"])
    if "team_ids" in data:
        ids = []
        for raw in data["team_ids"] or []:
            try:
                ids.append(int(raw))
            except (TypeError, ValueError):
                errors["team_ids"] = "Unknown team."
        teams = db.session.scalars(select(Team).where(Team.id.in_(ids))).all() if ids else []
        if len(teams) != len(set(ids)):
            errors["team_ids"] = "Unknown team."
        out["teams"] = teams
    if errors:
        raise ValidationError(errors)
    return out


def create_user(actor, data: dict, password: str | None = None) -> tuple[User, str | None]:
    """Create a user. Without ``password`` a one-time password is generated and returned;
    the user must change it at first login."""
    require(actor, "admin.users")
    values = _clean_user(data, None)
    one_time = None
    if password is None:
        one_time = secrets.token_urlsafe(12)
        password = one_time
    else:
        _check_password(password)
    with transaction():
        user = User(
            email=values["email"],
            name=values.get("name", ""),
            role=values["role"],
            active=values.get("active", True),
            password_hash=hash_password(password),
            must_change_password=one_time is not None,
            session_token=secrets.token_hex(16),
        )
        user.teams = values.get("teams", [])
        db.session.add(user)
        db.session.flush()
        audit.record(actor, "created", "user", user.id, {"email": (None, user.email), "role": (None, user.role)})
    return user, one_time


def update_user(actor, user_id: int, data: dict) -> User:
    require(actor, "admin.users")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    values = _clean_user(data, user)
    if user.id == getattr(actor, "id", None) and (values.get("role", "admin") != "admin" or values.get("active") is False):
        raise ValidationError({"role": "You cannot demote or deactivate yourself; ask another administrator."})
    with transaction():
        changes = {}
        for name, value in values.items():
            if name == "teams":
                before = sorted(t.name for t in user.teams)
                after = sorted(t.name for t in value)
                if before != after:
                    changes["teams"] = (", ".join(before), ", ".join(after))
                    user.teams = value
                continue
            if getattr(user, name) != value:
                changes[name] = (getattr(user, name), value)
                setattr(user, name, value)
        if "active" in changes or "role" in changes:
            user.session_token = secrets.token_hex(16)  # log out everywhere
        if changes:
            audit.record(actor, "updated", "user", user.id, changes)
    return user


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """A user changes their own password; every other session is logged out."""
    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise ValidationError({"current_password": "This is not your current password."}) from None
    _check_password(new or "", "new_password")
    if new != confirm:
        raise ValidationError({"confirm_password": "The two new passwords differ."})
    if new == current:
        raise ValidationError({"new_password": "Choose a password different from the current one."})
    with transaction():
        user.password_hash = hash_password(new)
        user.must_change_password = False
        user.session_token = secrets.token_hex(16)
        audit.record(user, "password_changed", "user", user.id, {})


def reset_password(actor, user_id: int) -> str:
    """An admin issues a new one-time password."""
    require(actor, "admin.users")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    one_time = secrets.token_urlsafe(12)
    with transaction():
        user.password_hash = hash_password(one_time)
        user.must_change_password = True
        user.session_token = secrets.token_hex(16)
        audit.record(actor, "password_reset", "user", user.id, {})
    return one_time


def get_user(actor, user_id: int) -> User:
    require(actor, "admin.users")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def list_users():
    return db.session.scalars(select(User).order_by(User.email)).all()


def list_teams():
    return db.session.scalars(select(Team).order_by(Team.name)).all()


def create_team(actor, name: str) -> Team:
    require(actor, "admin.teams")
    errors: dict = {}
    name = clean_text(name, "name", errors, 100, required=True)
    if not errors and db.session.scalar(select(Team.id).where(func.lower(Team.name) == name.lower())):
        errors["name"] = "A team with this name already exists."
    if errors:
        raise ValidationError(errors)
    with transaction():
        team = Team(name=name)
        db.session.add(team)
        db.session.flush()
        audit.record(actor, "created", "team", team.id, {"name": (None, name)})
    return team


def get_team(actor, team_id: int) -> Team:
    """A team whose membership ``actor`` may manage (admins: any team; managers: their own)."""
    team = db.session.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.")
    require(actor, "team.manage", team)
    return team


def set_team_membership(actor, team_id: int, user_id: int, member: bool) -> Team:
    """Admins, and managers of the team, add or remove a member."""
    team = db.session.get(Team, team_id)
    user = db.session.get(User, user_id)
    if team is None:
        raise NotFound("No such team.")
    if user is None:
        raise ValidationError({"user_id": "No such user."})
    require(actor, "team.manage", team)
    with transaction():
        present = user in team.members
        if member and not present:
            team.members.append(user)
        elif not member and present:
            team.members.remove(user)
        else:
            return team
        audit.record(actor, "member_added" if member else "member_removed", "team", team.id, {"user": (None, user.email)})
    return team


def ensure_admin(email: str = "admin@example.org") -> tuple[User, str] | None:
    """On a database with no users, create an admin and a default team; return the one-time password."""
    if db.session.scalar(select(func.count()).select_from(User)):
        return None
    team = db.session.scalar(select(Team).where(Team.name == "Everyone")) or create_team(SYSTEM, "Everyone")
    user, password = create_user(SYSTEM, {"email": email, "name": "Administrator", "role": "admin", "team_ids": [team.id]})
    return user, password


# --- personal API tokens ---------------------------------------------------------------------


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(actor, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``actor``; the raw token is returned once and never stored."""
    require(actor, "token.create")
    errors: dict = {}
    name = clean_text(name, "name", errors, 100, required=True)
    if errors:
        raise ValidationError(errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction():
        token = ApiToken(user_id=actor.id, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=_digest(raw))
        db.session.add(token)
        db.session.flush()
        audit.record(actor, "created", "api_token", token.id, {"name": (None, name)})
    return token, raw


def list_tokens(actor):
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == actor.id).order_by(ApiToken.id.desc())).all()


def revoke_token(actor, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and actor.role != "admin"):
        raise NotFound("No such token.")
    if token.revoked_at is not None:
        return
    with transaction():
        token.revoked_at = utcnow()
        audit.record(actor, "revoked", "api_token", token.id, {})


def user_for_token(raw: str) -> identity.Actor | None:
    """The user of an API token (core/services/identity.py ``Actor``: plain values), if it may act."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    found = identity.token_by_digest(_digest(raw))  # the user, the user's teams and the token: one statement
    if found is None:
        return None
    user, token = found
    if token.revoked_at is not None or not user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        try:
            with transaction():  # written at most once a minute: reads stay reads. No page shows it (no stamp)
                db.session.connection().execute(_TOKEN_USED, {"token_id": token.id, "at": now})
                held = db.session.identity_map.get(db.session.identity_key(ApiToken, (token.id,)))
                if held is not None:  # a session that holds the token (its creator's) sees the new value
                    set_committed_value(held, "last_used_at", now)
        except OperationalError:
            # The database is busy with a long write (an import batch holds SQLite's lock): the
            # request is a read and goes on; the stamp is written by a later one.
            db.session.rollback()
    return user


_TOKEN_USED = (ApiToken.__table__.update().where(ApiToken.__table__.c.id == bindparam("token_id"))
               .values(last_used_at=bindparam("at")))
