"""Keyset (cursor) pagination: pages cost the same at row 50 and at row 900,000."""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import literal, select, tuple_, union_all

from ..errors import ValidationError
from ..models.base import MAX_ID


@dataclass
class Page:
    items: list
    next_cursor: str | None = None
    extra: dict = field(default_factory=dict)


def encode_cursor(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: list[type]) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError
        out = []
        for value, kind in zip(values, kinds, strict=True):
            if kind is datetime:
                out.append(datetime.fromisoformat(value))
            elif kind is int:
                if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_ID:
                    raise ValueError
                out.append(value)
            else:
                if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text cannot hold NUL
                    raise ValueError
                out.append(value)
        return out
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError({"cursor": "This cursor is not valid; start again from the first page."}) from None


def after(columns, values, descending: bool):
    """The keyset condition: rows strictly after ``values`` in (columns...) order.

    A row-value comparison, ``(c1, c2) > (v1, v2)``: SQLite and PostgreSQL both turn it into one
    range scan of the (..., c1, c2) index starting at the cursor. The equivalent
    ``c1 > v1 OR (c1 = v1 AND c2 > v2)`` made SQLite read the index from ``c1 >= v1`` and test
    every row: 75 ms instead of 0.2 ms for a page at row 900,000 of 1,000,000."""
    left = tuple_(*columns)
    right = tuple_(*(literal(v, type_=c.type) for c, v in zip(columns, values, strict=True)))
    return left < right if descending else left > right


def _window(stmt, columns, kinds, cursor, limit, descending):
    """``stmt`` from ``cursor``, in order, ``limit + 1`` rows (the extra one says there is more)."""
    if cursor:
        stmt = stmt.where(after(columns, decode_cursor(cursor, kinds), descending))
    order = [c.desc() for c in columns] if descending else list(columns)
    return stmt.order_by(*order).limit(limit + 1)


@functools.lru_cache(maxsize=256)
def _first_window(stmt, columns: tuple, limit: int, descending: bool):
    return _window(stmt, columns, None, None, limit, descending)


def paginate(session, stmt, columns, kinds, cursor, limit, descending, key_of, unique: bool = True, params=None,
             make=None):
    """Run ``stmt`` from ``cursor``; return a Page whose next_cursor is None on the last page.
    ``unique``: drop repeated entities (joined eager loads repeat them); not needed for plain rows.
    ``make``: ``stmt`` selects plain columns, run on the session's connection (no ORM loading); each
    item is ``make(row)``, and ``key_of`` reads the row itself.

    ``params``: the values of ``stmt``'s bind parameters, for a statement built once (functools.cache)
    with its values as ``bindparam``s: its first page's window is then built once too. Building a
    statement (and its cache key) costs more than running it for the small pages of a contact page."""
    if params is not None and not cursor:
        window = _first_window(stmt, tuple(columns), limit, descending)
    else:
        window = _window(stmt, columns, kinds, cursor, limit, descending)
    if make is None:
        result = session.scalars(window, params)
        found = (result.unique() if unique else result).all()
    else:
        found = session.connection().execute(window, params).all()
    more = len(found) > limit
    found = found[:limit]
    next_cursor = encode_cursor(key_of(found[-1])) if more and found else None
    return Page(found if make is None else list(map(make, found)), next_cursor)


def paginate_union(session, stmt, parts, columns, kinds, cursor, limit, descending, key_of, unique: bool = True,
                   make=None):
    """``paginate`` over the union of ``parts``: selects of the rows' ids (first column), overlapping or
    not, each cheap to read in ``columns`` order where their union is not (a range of an index and a
    few other rows). Each part gives its first ``limit + 1`` ids from ``cursor``, and the page is
    read from ``stmt`` among those: the first ``limit + 1`` rows of the union are among them."""
    firsts = [select(_window(part, columns, kinds, cursor, limit, descending).subquery().c[0]) for part in parts]
    id_column = parts[0].selected_columns[0]
    return paginate(session, stmt.where(id_column.in_(union_all(*firsts))), columns, kinds, cursor, limit,
                    descending, key_of, unique, make=make)
