"""Who may do what: the one place permissions are decided.

Every service calls ``require`` (or ``can``) and scopes its queries with ``visible_team_ids``.
Plugins extend the decision through the ``contacts_permission`` hook (first answer wins); the
core's own rule below is registered ``trylast`` and denies whatever it does not know.

Roles: admin sees and edits everything; manager and member see and edit their teams' records
(managers also manage their teams' membership); viewer only sees their teams' records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from werkzeug.local import LocalProxy

from .errors import NotFound, PermissionDenied
from .plugins import hook

_PINNED_TEAMS: ContextVar[dict | None] = ContextVar("policy_pinned_teams", default=None)

READ_ACTIONS = {"view", "list"}
WRITE_ACTIONS = {"create", "edit", "delete", "restore"}


def _owner_team(obj):
    return getattr(obj, "owner_team_id", None)


def core_rule(user, action: str, obj) -> bool:
    """The core's default answer. ``action`` is ``<kind>.<verb>``, e.g. ``contact.edit``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.role == "admin":
        return True
    verb = action.rsplit(".", 1)[-1]
    kind = action.split(".", 1)[0]
    if kind == "admin":
        return False
    if kind in ("token", "job"):  # own API tokens; jobs (what a job changes is checked per record)
        return True
    if kind == "team" and verb == "manage":
        return user.role == "manager" and obj is not None and obj.id in user.team_ids
    team = _owner_team(obj)
    in_team = team is None or team in user.team_ids
    if verb in READ_ACTIONS:
        return in_team
    if verb in WRITE_ACTIONS:
        return user.role in ("manager", "member") and in_team and bool(user.team_ids)
    return False


def can(user, action: str, obj=None) -> bool:
    if isinstance(user, LocalProxy):  # current_user: the rules read several attributes, each a proxy lookup
        user = user._get_current_object()
    answer = hook().contacts_permission(user=user, action=action, obj=obj)
    return bool(answer)


def contact_permissions(user, contacts, actions: tuple[str, ...]) -> dict[int, tuple[bool, ...]]:
    """contact id -> ``can(user, action, contact)`` for each of ``actions`` (``contact.<verb>``), for a
    page of list rows: the same answers, without a trip through pluggy per row and action.

    The hook's implementations are called in the hook's order, first answer wins, as pluggy would;
    the core's rule, which for a contact depends only on its owner team, once per team. A wrapper
    implementation (it may change any answer) sends every row through ``can``."""
    from . import builtin_hooks

    impls = list(reversed(hook().contacts_permission.get_hookimpls()))  # pluggy calls the last registered first
    if any(impl.hookwrapper or impl.wrapper for impl in impls):
        return {c.id: tuple(can(user, action, c) for action in actions) for c in contacts}
    by_team: dict = {}

    def core(user, action, obj):
        key = (action, obj.owner_team_id)
        if key not in by_team:
            by_team[key] = core_rule(user, action, obj)
        return by_team[key]

    def plugin(impl):  # called with its arguments as pluggy would
        names, keywords = tuple(impl.argnames), tuple(impl.kwargnames or ())
        if names == ("user", "action", "obj") and not keywords:
            return impl.function

        def call(user, action, obj):
            given = {"user": user, "action": action, "obj": obj}
            return impl.function(*[given[n] for n in names], **{k: given[k] for k in keywords if k in given})

        return call

    deciders = [core if impl.function is builtin_hooks.contacts_permission else plugin(impl) for impl in impls]

    def decide(action, obj) -> bool:
        for decider in deciders:
            answer = decider(user, action, obj)
            if answer is not None:
                return bool(answer)
        return False

    return {c.id: tuple([decide(action, c) for action in actions]) for c in contacts}


def require(user, action: str, obj=None) -> None:
    """Raise if ``user`` may not ``action`` ``obj``.

    A record the user may not even see is reported as missing (404), so its existence does not
    leak; a visible record they may not change is a 403.
    """
    if can(user, action, obj):
        return
    if obj is not None and not action.endswith(".view") and not action.endswith(".create") and can(user, action.split(".")[0] + ".view", obj):
        raise PermissionDenied(f"You may not {action.split('.')[-1]} this record.")
    if obj is not None and not action.endswith(".create"):
        raise NotFound()
    raise PermissionDenied("You do not have permission to do that.")


def personal() -> None:
    """Say that the answer being built shows something of the user's own, beyond what their role and
    teams decide (their personal saved views, buttons on the notes they wrote): the shared page
    cache (core/views/page_cache.py) then keeps that answer for this user only. Call it wherever a
    read or a permission depends on who the user is."""
    from flask import g, has_request_context

    if has_request_context():
        g.contacts_personal = True


def visible_team_ids(user) -> list[int] | None:
    """Team ids whose records ``user`` may see; ``None`` means every team (admins)."""
    if user.role == "admin":
        return None
    return user.team_ids


@contextmanager
def pinned_teams() -> Iterator[None]:
    """Within the block, ``writable_teams`` answers each user from the first time it was asked (an
    import batch checks the owner team of thousands of rows: one answer, not one per row)."""
    token = _PINNED_TEAMS.set({})
    try:
        yield
    finally:
        _PINNED_TEAMS.reset(token)


def writable_teams(user):
    """Teams ``user`` may own new records in."""
    memo = _PINNED_TEAMS.get()
    if memo is None:
        return _writable_teams(user)
    key = (user.id, user.role)
    if key not in memo:
        memo[key] = _writable_teams(user)
    return memo[key]


def writable_team_ids(user) -> list[int]:
    """The ids of ``writable_teams(user)``, in the same order; within ``pinned_teams`` worked out once."""
    memo = _PINNED_TEAMS.get()
    if memo is None:
        return [t.id for t in _writable_teams(user)]
    key = (user.id, user.role, "ids")
    found = memo.get(key)
    if found is None:
        found = memo[key] = [t.id for t in writable_teams(user)]
    return found


def _writable_teams(user):
    from .extensions import db
    from .models import Team

    if user.role == "admin":
        return db.session.scalars(db.select(Team).order_by(Team.name)).all()
    if user.role == "viewer":
        return []
    return sorted(user.teams, key=lambda t: t.name)
