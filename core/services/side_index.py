"""What the search's side indexes share: tag names (tag_search.py) and custom values
(custom_search.py), each matched to contacts through a table of its own rows.

SQLite: an external-content FTS5 table over those rows, kept in step by triggers; the search adds
the contacts of the matching rows to its id list, or, when they are very many contacts, checks
an EXISTS on each row of the list's sort index instead (``SqlitePlan``). PostgreSQL: a GIN
expression index. ``SideIndex`` creates and drops either; the modules keep their DDL and queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, text

from ..database import run_ddl

TOKENIZE = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"


def shadow_tables(fts_table: str) -> frozenset:
    """An FTS5 table and the tables SQLite keeps for it."""
    return frozenset(f"{fts_table}{s}" for s in ("", "_data", "_idx", "_docsize", "_config"))


@dataclass(frozen=True)
class SideIndex:
    """One side index: ``sqlite_ddl``/``postgresql_ddl`` build it (create_all, through the models'
    listeners); dropping it removes its triggers, its FTS5 table and ``views`` on SQLite, its index
    on PostgreSQL."""

    fts_table: str
    triggers: tuple[str, ...]
    pg_index: str
    sqlite_ddl: Callable[[], list[str]]
    postgresql_ddl: Callable[[], list[str]]
    views: tuple[str, ...] = ()

    def sqlite_drop(self) -> list[str]:
        return [
            *(f"DROP TRIGGER IF EXISTS {n}" for n in self.triggers),
            f"DROP TABLE IF EXISTS {self.fts_table}",
            *(f"DROP VIEW IF EXISTS {v}" for v in self.views),
        ]

    def postgresql_drop(self) -> list[str]:
        return [f"DROP INDEX IF EXISTS {self.pg_index}"]

    def install(self, conn) -> None:
        run_ddl(conn, {"sqlite": self.sqlite_ddl, "postgresql": self.postgresql_ddl})

    def uninstall(self, conn) -> None:
        run_ddl(conn, {"sqlite": self.sqlite_drop, "postgresql": self.postgresql_drop})


def sqlite_contacts(rows: str, key: str, fts_table: str, where: str = "", *, param: str = "m") -> str:
    """The contacts (``rows``' ``contact_id``) of the rows whose ``key`` the FTS5 MATCH ``:param`` finds."""
    alias = rows.split()[-1]
    return (
        f"SELECT {alias}.contact_id FROM {rows} WHERE {key} IN "
        f"(SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH :{param}){where}"
    )


class SqlitePlan:
    """How the SQLite search takes one side index in: ``sql``/``params`` to UNION ALL into its id
    list, or, when the matching rows are on very many contacts (``common``), ``probe``: an EXISTS
    checked on each row of the list's sort index, which looks that contact's rows up in the matching
    ones, read from the index once per query."""

    def __init__(
        self, terms: list[str], quote, very_common, *, name: str, fts_table: str, rows: str, key: str, where: str = ""
    ):
        match = " ".join(quote(t) + "*" for t in terms)
        self.sql = " UNION ALL " + sqlite_contacts(rows, key, fts_table, where, param=f"{name}_query")
        self.params = [bindparam(f"{name}_query", match)]  # the MATCH string last: search.py counts its hits
        self.common = very_common(match, fts_table)
        alias = rows.split()[-1]
        self.probe = text(
            f"EXISTS (SELECT 1 FROM {rows} WHERE {alias}.contact_id = contacts.id AND {key} IN "
            f"(SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH :{name}_probe){where})"
        ).bindparams(bindparam(f"{name}_probe", match))
