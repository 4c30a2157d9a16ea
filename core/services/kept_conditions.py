"""List filter conditions built once a process, and the filtered list's statement built once from them.

A filtered list page (a tag, a group, a category, a custom field) built its statement on every
request: the select, each condition, the page's window, and then SQLAlchemy's cache key over all
of it, ~1,000 Python calls a page for a statement that is the same on every request. A list
filter whose condition depends only on its value and its plan (a tag's id and whether it is
common...) builds that condition once a process and marks it ``kept``. The list applies its
filters once to a bare select to see the conditions they add (``where_conditions``); when all are
kept, the statement built from them, with the same teams and plain filters, is kept too
(``FilteredStatements``): the same object on every page, so its window and cache key are built once.
A condition made for this request (a few ids read now, the filter builder's conditions) is not
kept: the statement is then built from the conditions as before, on every page.
"""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import Select, select

from ..models import Contact

KEPT = "contacts_kept_condition"


def kept(condition):
    """``condition``, marked as built once a process: a function of the filter's value and plan
    only, never of rows read for this request."""
    return condition._annotate({KEPT: True})


_PROBE = select(Contact.id)
_PROBE_ATTRS = dict(vars(_PROBE))


def where_conditions(extra_filters) -> tuple[tuple, bool] | None:
    """(the conditions ``extra_filters`` (callables ``stmt -> stmt``) add, whether all are ``kept``),
    each filter applied once, to a bare select; None when one has a ``by_hits`` read (before any is
    applied) or adds more than WHERE conditions (a join...). The list then builds its statement from
    these conditions, so a filter that reads rows to make its condition (a few ids) reads them once."""
    if any(getattr(apply, "by_hits", False) for apply in extra_filters):
        return None
    found: list = []
    for apply in extra_filters:
        probe = apply(_PROBE)
        if probe is _PROBE:  # no value: nothing added
            continue
        if not isinstance(probe, Select):
            return None
        attrs = vars(probe)
        if attrs.keys() - {"_where_criteria"} != _PROBE_ATTRS.keys() or any(
            attrs[k] is not v for k, v in _PROBE_ATTRS.items()
        ):
            return None
        found.extend(attrs.get("_where_criteria", ()))
    return tuple(found), all(c._annotations.get(KEPT) for c in found)


class FilteredStatements:
    """Statements kept under a key and the kept conditions they were built with (held here, so
    their ids in the key stay theirs), least recently used dropped past ``size``."""

    def __init__(self, size: int = 256):
        self.size = size
        self._kept: OrderedDict = OrderedDict()

    def get(self, key, conditions: tuple, build):
        """The statement for ``key`` and ``conditions``, ``build()`` the first time."""
        full = (key, tuple(map(id, conditions)))
        found = self._kept.get(full)
        if found is not None and all(a is b for a, b in zip(found[0], conditions, strict=True)):
            try:
                self._kept.move_to_end(full)
            except KeyError:  # another thread dropped it meanwhile
                pass
            return found[1]
        stmt = build()
        self._kept[full] = (conditions, stmt)
        while len(self._kept) > self.size:
            try:
                self._kept.popitem(last=False)
            except KeyError:
                break
        return stmt

    def clear(self) -> None:
        self._kept.clear()
