"""What the list's tag, group and category filters read to check their value: bad values are a
ValidationError naming the filter, and a good one costs one small read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import ValidationError
from core.extensions import cache, db
from core.models import Contact, User
from core.services import categories, stamps
from tests import factories
from tests.statements import captured


def _u(user):
    return db.session.get(User, user.id)


@pytest.mark.parametrize("value", ["999999", "0", "abc", "\u00b2", "12a", "-1", "99999999999999999999"])
def test_a_category_that_does_not_exist_is_named(ctx, admin, value):
    categories.create_category(_u(admin), {"name": "Customers"})
    with pytest.raises(ValidationError) as exc:
        categories.category_filter(select(Contact), value)
    assert list(exc.value.errors) == ["category"]


def test_a_category_filter_reads_the_tree_once_for_its_subtree(app, ctx, admin, member, team):
    a = _u(admin)
    top = categories.create_category(a, {"name": "Customers"})
    mid = categories.create_category(a, {"name": "Food", "parent_id": top.id})
    leaf = categories.create_category(a, {"name": "Bakers", "parent_id": mid.id})
    other = categories.create_category(a, {"name": "Suppliers"})
    t = db.session.merge(team)
    bread, soup, nail = factories.contact(t, "Bread"), factories.contact(t, "Soup"), factories.contact(t, "Nail")
    categories.set_category(_u(member), [bread.id], leaf.id)
    categories.set_category(_u(member), [soup.id], top.id)
    categories.set_category(_u(member), [nail.id], other.id)
    ids = {cid: cid for cid in (top.id, mid.id, leaf.id, other.id)}
    with captured(app, selects_only=True) as seen:
        stmt = categories.category_filter(select(Contact.first_name), str(ids[top.id]))
    assert len(seen) == 1 and "FROM categories" in seen[0]
    assert sorted(db.session.scalars(stmt)) == ["Bread", "Soup"]
    assert list(db.session.scalars(categories.category_filter(select(Contact.first_name), str(ids[leaf.id])))) == [
        "Bread"]


def test_a_group_filter_checks_the_group_once_until_groups_teams_or_users_change(
        app, ctx, admin, member, outsider, team, other_team):
    """The check (the group exists and the user may view it) is remembered under the shared stamps:
    the next list page reads no group, and a change of team membership is seen at once."""
    from core.services import accounts, groups

    t = db.session.merge(team)
    ids = [factories.contact(t, name, "Zed").id for name in ("Al", "Bo")]
    g = groups.create_group(_u(member), {"name": "Golfers"})
    groups.add_to_group(_u(member), ids[:1], g.id)
    db.session.commit()
    group_id = str(g.id)

    def names(user):
        db.session.rollback()  # a new transaction, as a new request is
        stamps.page_version()  # as the page does first: its shared stamps serve shared_version
        return sorted(db.session.scalars(groups.group_filter(select(Contact.first_name), group_id, user)))

    cache.clear()
    assert names(_u(member)) == ["Al"]
    with captured(app, selects_only=True) as seen:
        assert names(_u(member)) == ["Al"]
    assert not [s for s in seen if "FROM contact_groups" in s]
    for user in (outsider, member):
        with pytest.raises(ValidationError) as exc:  # another team's group; a group that does not exist
            groups.group_filter(select(Contact), group_id if user is outsider else "999999", _u(user))
        assert list(exc.value.errors) == ["group"]
    accounts.update_user(_u(admin), outsider.id, {"team_ids": [other_team.id, team.id]})
    assert names(_u(outsider)) == ["Al"]  # now in the group's team
    groups.delete_group(_u(member), int(group_id))
    with pytest.raises(ValidationError):
        names(_u(member))
