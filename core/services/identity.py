"""The actor of each request: its user row and teams, read fresh by one statement built once.

Every logged-in request (a browser's session or an API token) needs its user and the user's teams
(permissions). Loaded through the ORM with ``joinedload`` that cost ~185 µs of CPU a request,
most of it the ORM's per-execution row machinery for one user and a few teams, ~10 % of an API
write. Here one Core statement (user, team membership, team; for a token, the token's columns
too) runs on the session's connection, and the rows become ordinary persistent ``User`` and
``Team`` objects of the session (``make_transient_to_detached`` + ``Session.add``: no SQL), the
teams set as the user's loaded collection. Nothing is cached between requests: a deactivated user,
a new role or team, a changed password or a revoked token count from the very next request.

An object the session already holds (a test's requests share one app context) is reused as is:
the identity map keeps one object per row. A token is not made an object: the request needs its
user, and the token only for three values (``TokenSeen``); attaching it cost ~30 µs an API call.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NamedTuple

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


@functools.cache
def _plan(with_token: bool):
    """The statement and where each model's attributes sit in its rows (one row per team)."""
    users, teams = _columns(User), _columns(Team)
    tokens = [(key, getattr(ApiToken.__table__.c, key)) for key in TokenSeen._fields]
    parts = [("user", users), ("team", teams)] + ([("token", tokens)] if with_token else [])
    labelled, layout, at = [], {}, 0
    for name, cols in parts:
        layout[name] = [(key, at + i) for i, (key, _col) in enumerate(cols)]
        labelled += [col.label(f"{name}_{key}") for key, col in cols]
        at += len(cols)
    user_t, team_t = User.__table__, Team.__table__
    joined = user_t.outerjoin(team_members, team_members.c.user_id == user_t.c.id).outerjoin(
        team_t, team_t.c.id == team_members.c.team_id)
    if with_token:
        token_t = ApiToken.__table__
        stmt = select(*labelled).select_from(token_t.join(joined, user_t.c.id == token_t.c.user_id)).where(
            token_t.c.token_hash == bindparam("digest"))
    else:
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


def _rows(params: dict, with_token: bool) -> list:
    """The statement's rows (one per team) for ``params``. A token's are read before anything else
    of the request, in no transaction of their own (core/database.py ``read_unbegun``)."""
    if not with_token:
        return db.session.connection().execute(_plan(with_token)[0], params).all()
    with read_unbegun():
        return db.session.connection().execute(_plan(with_token)[0], params).all()


def _load(params: dict, with_token: bool, rows: list | None = None):
    """The objects of ``rows`` (read now when not given) in the session."""
    layout = _plan(with_token)[1]
    session = db.session()
    if rows is None:
        rows = _rows(params, with_token)
    if not rows:
        return None, None
    user, made = _persistent(session, User, rows[0], layout["user"])
    if made or "teams" not in user.__dict__:
        teams = [_persistent(session, Team, row, layout["team"])[0] for row in rows if row[layout["team"][0][1]] is not None]
        set_committed_value(user, "teams", teams)
    token = TokenSeen(*(rows[0][i] for _key, i in layout["token"])) if with_token else None
    return user, token


def user_by_id(user_id: int) -> User | None:
    """The user with this id and its teams, as the session holds them."""
    return _load({"id": user_id}, with_token=False)[0]


def token_by_digest(digest: str) -> tuple[User, TokenSeen] | None:
    """The user of the API token with this SHA-256 (with the user's teams), and the token's own values."""
    user, token = _load({"digest": digest}, with_token=True)
    return None if user is None else (user, token)
