"""Test data builders. Users get a password hash computed once per session (argon2 is slow on purpose)."""

from __future__ import annotations

import itertools
import secrets
from functools import lru_cache

from core.extensions import db
from core.models import Contact, Organization, Team, User
from core.services.accounts import hash_password
from core.services.contacts import sort_name

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)


def team(name: str | None = None) -> Team:
    t = Team(name=name or f"Team {next(_seq)}")
    db.session.add(t)
    db.session.commit()
    return t


def user(role: str = "member", teams=(), email: str | None = None, **extra) -> User:
    u = User(
        email=email or f"user{next(_seq)}@example.org",
        name=extra.pop("name", ""),
        role=role,
        password_hash=_password_hash(),
        session_token=secrets.token_hex(16),
        **extra,
    )
    u.teams = list(teams)
    db.session.add(u)
    db.session.commit()
    return u


def organization(owner_team: Team, name: str | None = None, **extra) -> Organization:
    name = name or f"Org {next(_seq)}"
    o = Organization(name=name, name_key=name.lower(), owner_team_id=owner_team.id, **extra)
    db.session.add(o)
    db.session.commit()
    return o


def contact(owner_team: Team, first_name: str = "Ada", last_name: str | None = None, **extra) -> Contact:
    last_name = last_name if last_name is not None else f"Lovelace{next(_seq)}"
    email = extra.pop("email", None)
    c = Contact(
        first_name=first_name,
        last_name=last_name,
        sort_name=sort_name(first_name, last_name),
        email=email,
        email_key=email.lower() if email else None,
        phone=extra.pop("phone", ""),
        type=extra.pop("type", "person"),
        status=extra.pop("status", "active"),
        owner_team_id=owner_team.id,
        **extra,
    )
    db.session.add(c)
    db.session.commit()
    return c
