"""The actor of each request: its user row and teams, read fresh by one statement built once.

Every logged-in request (a browser's session or an API token) needs its user and the user's teams
(permissions). Loaded through the ORM with ``joinedload`` that cost ~185 µs of CPU a request,
most of it the ORM's per-execution row machinery for one user and a few teams, ~10 % of an API
write. Here one Core statement (user, team membership, team; for a token, the token's columns
too) is read. Nothing is cached between requests: a deactivated user, a new role or team, a
changed password or a revoked token count from the very next request.

A page's user (a session cookie) becomes ordinary persistent ``User`` and ``Team`` objects of the
session (``make_transient_to_detached`` + ``Session.add``: no SQL), the teams set as the user's
loaded collection: views show it and the account pages change it. An object the session already
holds (a test's requests share one app context) is reused as is: the identity map keeps one object
per row.

An API request's user (a token) is an ``Actor``: the user's columns and teams as plain values,
nothing attached to the session. What services read of
an actor (``id``, ``role``, ``team_ids``, ``teams``' ids and names, ``display_name``, ``active``)
reads as on a ``User``, and every service names the actor by its id in what it writes. The ORM
statement and the two objects were ~15 % of an API create's Python calls (480 of 3,200); each
attribute read of a ``User`` is a descriptor call besides. The token itself is three values
(``TokenSeen``).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NamedTuple

from flask_login import UserMixin
from sqlalchemy import bindparam, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..database import read_unbegun
from ..extensions import db
from ..models import ApiToken, Team, User
from ..models.accounts import team_members


def _columns(model) -> list[tuple[str, object]]:
    """(attribute key, column) of every column attribute a plain load of ``model`` fills."""
    return [(prop.key, prop.columns[0]) for prop in model.__mapper__.column_attrs if not prop.deferred]


class TokenSeen(NamedTuple):
    """What a request needs of its API token."""

    id: int
    revoked_at: datetime | None
    last_used_at: datetime | None


class TeamSeen(NamedTuple):
    """One of an ``Actor``'s teams."""

    id: int
    name: str


class Actor(UserMixin):
    """An API request's user as plain values: the ``User`` row's columns but its password hash
    and times, and its teams (``TeamSeen``, by id)."""

    COLUMNS = ("id", "email", "name", "role", "active", "must_change_password", "session_token")

    def __init__(self, id, email, name, role, active, must_change_password, session_token, teams):  # noqa: A002
        self.id, self.email, self.name, self.role = id, email, name, role
        self.active, self.must_change_password, self.session_token = active, must_change_password, session_token
        self.teams = teams
        self.team_ids = [t.id for t in teams]
        self.display_name = name or email

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    def __repr__(self):
        return f"<Actor {self.email} {self.role}>"


@functools.cache
def _token_statement():
    """The token's user, its teams (one row each, or one row of NULLs) and the token's values."""
    user_t, team_t, token_t = User.__table__, Team.__table__, ApiToken.__table__
    joined = token_t.join(user_t, user_t.c.id == token_t.c.user_id).outerjoin(
        team_members, team_members.c.user_id == user_t.c.id).outerjoin(team_t, team_t.c.id == team_members.c.team_id)
    columns = [user_t.c[key] for key in Actor.COLUMNS] + [team_t.c.id, team_t.c.name]
    columns += [token_t.c[key] for key in TokenSeen._fields]
    stmt = select(*columns).select_from(joined).where(token_t.c.token_hash == bindparam("digest"))
    return stmt.order_by(team_t.c.id)


@functools.cache
def _plan():
    """The statement of a user by id and where each model's attributes sit in its rows (one row per team)."""
    users, teams = _columns(User), _columns(Team)
    labelled, layout, at = [], {}, 0
    for name, cols in (("user", users), ("team", teams)):
        layout[name] = [(key, at + i) for i, (key, _col) in enumerate(cols)]
        labelled += [col.label(f"{name}_{key}") for key, col in cols]
        at += len(cols)
    user_t, team_t = User.__table__, Team.__table__
    joined = user_t.outerjoin(team_members, team_members.c.user_id == user_t.c.id).outerjoin(
        team_t, team_t.c.id == team_members.c.team_id)
    stmt = select(*labelled).select_from(joined).where(user_t.c.id == bindparam("id"))
    return stmt.order_by(team_t.c.id), layout


def _persistent(session, model, row, layout):
    """The session's object for this row: the one it holds, else one made from the row's values as
    a load would (committed, no history) and added as persistent without a statement."""
    values = {key: row[i] for key, i in layout}
    # the mapper's own key (Session.identity_key sorts out its many signatures first: ~30 calls a row)
    found = session.identity_map.get(model.__mapper__.identity_key_from_primary_key((values["id"],)))
    if found is not None:
        return found, False
    obj = model.__mapper__.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj, True


def _rows(params: dict) -> list:
    """The statement's rows (one per team) for ``params``."""
    return db.session.connection().execute(_plan()[0], params).all()


def _load(params: dict, rows: list | None = None):
    """The user of ``rows`` (read now when not given) and its teams, as objects in the session."""
    layout = _plan()[1]
    session = db.session()
    if rows is None:
        rows = _rows(params)
    if not rows:
        return None
    user, made = _persistent(session, User, rows[0], layout["user"])
    if made or "teams" not in user.__dict__:
        teams = [_persistent(session, Team, row, layout["team"])[0] for row in rows if row[layout["team"][0][1]] is not None]
        set_committed_value(user, "teams", teams)
    return user


def user_by_id(user_id: int) -> User | None:
    """The user with this id and its teams, as the session holds them."""
    return _load({"id": user_id})


def token_by_digest(digest: str) -> tuple[Actor, TokenSeen] | None:
    """The user of the API token with this SHA-256 (with the user's teams), and the token's own values.
    Read before anything else of the request, in no transaction of its own (``read_unbegun``)."""
    with read_unbegun():
        rows = db.session.connection().execute(_token_statement(), {"digest": digest}).all()
    if not rows:
        return None
    first, users = rows[0], len(Actor.COLUMNS)
    teams = [TeamSeen(row[users], row[users + 1]) for row in rows if row[users] is not None]
    return Actor(*first[:users], teams), TokenSeen(*first[users + 2:])
