"""What the contacts list's full page offers to choose from, cached per user: each filter's choices
(tags, groups, categories, custom fields...: ``SearchFilter.options(user)``) and the saved views.

They change only when a tag, group, category, custom field, saved view, team or membership does:
writes that change one of the ``shared`` version stamps (core/services/stamps.py, written in the writing
transaction), which is part of the key. So a page costs one small stamp read and one cache read
instead of a query per filter and one for the views, and no write can leave them stale.
"""

from __future__ import annotations

from typing import NamedTuple

from ..extensions import cache
from ..policy import personal
from . import saved_views, stamps

TIMEOUT = 300


class ViewChoice(NamedTuple):
    id: int
    name: str
    team_id: int | None


class Menus(NamedTuple):
    filter_choices: dict  # filter key -> its options(user), for the filters that have options
    views: list  # ViewChoice: the saved views the user may pick, by name


def menus(user, search_filters) -> Menus:
    """The menus of ``user``'s list page. They show the user's own saved views: the page is personal
    (``policy.personal``) whether they were read now or come from a cache, which calls nothing."""
    personal()
    wanted = [f for f in search_filters if f.options is not None]
    found = stamps.local("list-menus", user.id, make=lambda: _menus(user, wanted))  # this process's copy first
    if any(f.key not in found.filter_choices for f in wanted):
        found = _menus(user, wanted)
    return found


def _menus(user, wanted) -> Menus:
    key = f"list-menus:{stamps.shared_version()}:{user.id}"
    found = cache.get(key)
    if not isinstance(found, Menus) or any(f.key not in found.filter_choices for f in wanted):
        found = Menus(
            {f.key: list(f.options(user)) for f in wanted},
            [ViewChoice(v.id, v.name, v.team_id) for v in saved_views.list_views(user)],
        )
        cache.set(key, found, timeout=TIMEOUT)
    return found
