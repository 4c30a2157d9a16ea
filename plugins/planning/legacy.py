"""The old "In list" filter rewritten as the core's group filter, for the redirects (views.py)
and the saved views that planning_0002 rewrites. Plain functions over query pairs, no database:
the migration imports them without the app's models."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from core.models import parse_id

LIST_KEY = "list"  # the old "In list" filter: ?list=<id> and ?f=list.<operator>.<id>
GROUP_KEY = "group"  # the core's group filter that replaced it
UNKNOWN = "0"  # no group has id 0: the core's filter answers "No such group."


def _mapped(value: str, lookup: Callable[[int], int | None], unknown: str | None) -> str | None:
    found = lookup(parse_id(value)) if parse_id(value) else None
    return str(found) if found else unknown


def uses_lists(pairs: Iterable[tuple[str, str]], key: str = LIST_KEY) -> bool:
    """Whether a query filters on ``key`` (an empty ``list=`` filters on nothing: left alone)."""
    return any((k == key and v.strip()) or (k == "f" and v.startswith(key + ".")) for k, v in pairs)


def rewrite_query(pairs: Iterable[tuple[str, str]], lookup: Callable[[int], int | None], *, old: str = LIST_KEY,
                  new: str = GROUP_KEY, unknown: str | None = UNKNOWN) -> list[tuple[str, str]]:
    """A contacts-list query with every list filter turned into the group filter:
    ``list=3`` -> ``group=17`` and ``f=list.is.3`` -> ``f=group.is.17`` (``lookup`` maps a list
    id to its group id). An unknown list becomes ``unknown``: by default a group that does not
    exist, so the list page says so instead of silently showing every contact; None leaves the
    pair as it was (the downgrade, turning only the groups that were lists back)."""
    out = []
    for key, value in pairs:
        if key == old and value.strip():
            found = _mapped(value.strip(), lookup, unknown)
            key, value = (new, found) if found is not None else (key, value)
        elif key == "f" and value.startswith(old + "."):
            operator, _, raw = value[len(old) + 1:].partition(".")
            found = _mapped(raw.strip(), lookup, unknown) if raw.strip() else None
            if found is not None:
                value = f"{new}.{operator}.{found}"
            elif unknown is not None:
                value = f"{new}.{operator}" + (f".{raw}" if raw else "")
        out.append((key, value))
    return out
