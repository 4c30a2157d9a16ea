"""Statements that read the rows of some contacts by id, built once in two forms: ``= :ids`` for one
id (an API answer, a contact's page) and ``IN (:ids)`` for several (a page of a list).

An expanding ``IN`` is rendered again at every execution (SQLAlchemy's post-compile step: the SQL
text rebuilt and its parameters renumbered, 30-70 Python calls a statement, ~6 % of an API update's
calls for its four read-backs); ``=`` is compiled once and then looked up in the statement cache.
Both forms find the same rows.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam


def matching(column, one: bool):
    """``column = :ids`` (``one``) or ``column IN (:ids)``, for a statement built per form."""
    return column == bindparam("ids") if one else column.in_(bindparam("ids", expanding=True))


def execute(connection, statement_for: Callable[[bool], object], ids: list, params: dict | None = None):
    """Run ``statement_for(one)`` (its ids compared by ``matching``; cache it) for the contacts ``ids``."""
    one = len(ids) == 1
    return connection.execute(statement_for(one), {**(params or {}), "ids": ids[0] if one else ids})
