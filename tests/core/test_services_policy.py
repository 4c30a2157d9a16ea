"""core.policy: the one place permissions are decided."""

from __future__ import annotations

import pytest

from core import policy
from core.errors import NotFound, PermissionDenied
from core.extensions import db
from core.models import Team
from core.services.accounts import SYSTEM


class Record:
    def __init__(self, owner_team_id):
        self.owner_team_id = owner_team_id


def _id(detached) -> int:
    return db.session.merge(detached).id


@pytest.mark.parametrize("verb", ["view", "list"])
def test_every_role_reads_its_teams_records_only(ctx, admin, manager, member, viewer, outsider, team, verb):
    mine = Record(_id(team))
    for user in (admin, manager, member, viewer):
        assert policy.can(user, f"contact.{verb}", mine), user.role
    assert not policy.can(outsider, f"contact.{verb}", mine)


@pytest.mark.parametrize("verb", ["create", "edit", "delete", "restore"])
def test_writes(ctx, admin, manager, member, viewer, outsider, team, verb):
    mine = Record(_id(team))
    assert policy.can(admin, f"contact.{verb}", mine)
    assert policy.can(manager, f"contact.{verb}", mine)
    assert policy.can(member, f"contact.{verb}", mine)
    assert not policy.can(viewer, f"contact.{verb}", mine)
    assert not policy.can(outsider, f"contact.{verb}", mine)


def test_unknown_verbs_and_admin_actions_are_denied(ctx, manager, admin):
    assert not policy.can(manager, "contact.frobnicate", None)
    assert not policy.can(manager, "admin.users")
    assert policy.can(admin, "admin.users")
    assert policy.can(SYSTEM, "admin.users")  # the CLI's actor


def test_anonymous_and_inactive_users_may_do_nothing(ctx, member, team):
    from flask_login import AnonymousUserMixin

    mine = Record(_id(team))
    assert not policy.can(None, "contact.view", mine)
    assert not policy.can(AnonymousUserMixin(), "contact.view", mine)
    member.active = False
    assert not policy.can(member, "contact.view", mine)


def test_tokens_and_team_management(ctx, manager, member, team, other_team):
    assert policy.can(member, "token.create")
    own, other = db.session.get(Team, _id(team)), db.session.get(Team, _id(other_team))
    assert policy.can(manager, "team.manage", own)
    assert not policy.can(manager, "team.manage", other)
    assert not policy.can(member, "team.manage", own)
    assert not policy.can(manager, "team.manage", None)


def test_require_hides_what_the_user_may_not_see(ctx, viewer, outsider, team):
    mine = Record(_id(team))
    policy.require(viewer, "contact.view", mine)
    with pytest.raises(PermissionDenied):
        policy.require(viewer, "contact.edit", mine)  # sees it, may not change it: 403
    with pytest.raises(NotFound):
        policy.require(outsider, "contact.edit", mine)  # may not even see it: 404
    with pytest.raises(PermissionDenied):
        policy.require(viewer, "contact.create", mine)
    with pytest.raises(PermissionDenied):
        policy.require(viewer, "admin.users")


def test_visible_and_writable_teams(ctx, admin, member, viewer, team, other_team):
    assert policy.visible_team_ids(admin) is None
    assert policy.visible_team_ids(member) == [_id(team)]
    assert {t.id for t in policy.writable_teams(admin)} == {_id(team), _id(other_team)}
    assert [t.id for t in policy.writable_teams(member)] == [_id(team)]
    assert policy.writable_teams(viewer) == []
