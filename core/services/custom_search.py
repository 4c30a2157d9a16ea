"""Full-text search over custom field values (core/services/search.py asks it for one more id list).

A contact matches when all the typed words are (prefixes of words) in one of its custom values, as
it does for a tag's or its organization's name. Indexed: the text columns of
``custom_field_values`` (``value_text``: text, url, choice, one row per multi-choice option;
``value_long``: long text); number, date and yes/no rows are not. Values of archived fields are not
searched: they are hidden everywhere else (core/services/custom_fields.py ``values_of``), and a hit
the user cannot see would look like a bug. Archiving only flips a flag, so the index is kept and
un-archiving brings them back at once.

Each value row is one index entry (keyed by its id), so a value written, edited or cleared touches
that row only; merges that move values to another contact write new rows (the triggers follow).

SQLite: ``custom_values_fts``, an external-content FTS5 table whose content is the view
``custom_values_search_source`` (the text rows only), kept in step by triggers inside the same
transaction. PostgreSQL: a partial GIN expression index over
``contacts_search_org_vector(coalesce(value_text, value_long))`` (the function core_0002 made).
The migration core_0011 holds a frozen copy of this DDL.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text

from ..database import run_ddl

FTS_TABLE = "custom_values_fts"
SOURCE_VIEW = "custom_values_search_source"
PG_INDEX = "ix_custom_values_search"
SEARCH_TABLES = frozenset(f"{FTS_TABLE}{s}" for s in ("", "_data", "_idx", "_docsize", "_config"))
SQLITE_TRIGGER_NAMES = ("custom_values_search_ai", "custom_values_search_ad", "custom_values_search_au")
_TOKENIZE = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"
_HAS_TEXT = "({r}value_text IS NOT NULL OR {r}value_long IS NOT NULL)"  # {r}: "NEW.", "v." or ""
_VALUE = "coalesce({r}value_text, {r}value_long)"
# Values of archived fields are not found (a primary key lookup per hit: custom_fields is small).
_ACTIVE = "NOT EXISTS (SELECT 1 FROM custom_fields f WHERE f.id = v.field_id AND f.archived)"


def sqlite_ddl() -> list[str]:
    def delete(row: str) -> str:
        return (f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, value) SELECT 'delete', {row}.id, "
                f"{_VALUE.format(r=row + '.')} WHERE {_HAS_TEXT.format(r=row + '.')};")

    def insert(row: str) -> str:
        return (f"INSERT INTO {FTS_TABLE}(rowid, value) SELECT {row}.id, {_VALUE.format(r=row + '.')} "
                f"WHERE {_HAS_TEXT.format(r=row + '.')};")

    return [
        f"CREATE VIEW IF NOT EXISTS {SOURCE_VIEW} AS SELECT v.id AS id, {_VALUE.format(r='v.')} AS value "
        f"FROM custom_field_values v WHERE {_HAS_TEXT.format(r='v.')}",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(value, content='{SOURCE_VIEW}', "
        f"content_rowid='id', {_TOKENIZE})",
        f"CREATE TRIGGER IF NOT EXISTS custom_values_search_ai AFTER INSERT ON custom_field_values "
        f"BEGIN {insert('NEW')} END",
        f"CREATE TRIGGER IF NOT EXISTS custom_values_search_ad AFTER DELETE ON custom_field_values "
        f"BEGIN {delete('OLD')} END",
        f"CREATE TRIGGER IF NOT EXISTS custom_values_search_au AFTER UPDATE OF id, value_text, value_long "
        f"ON custom_field_values WHEN OLD.value_text IS NOT NEW.value_text OR OLD.value_long IS NOT NEW.value_long "
        f"OR OLD.id IS NOT NEW.id BEGIN {delete('OLD')} {insert('NEW')} END",
    ]


def sqlite_drop() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {n}" for n in SQLITE_TRIGGER_NAMES),
        f"DROP TABLE IF EXISTS {FTS_TABLE}",
        f"DROP VIEW IF EXISTS {SOURCE_VIEW}",
    ]


def postgresql_ddl() -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON custom_field_values USING gin "
        f"(contacts_search_org_vector({_VALUE.format(r='')})) "
        f"WHERE {_HAS_TEXT.format(r='')}"
    ]


def postgresql_drop() -> list[str]:
    return [f"DROP INDEX IF EXISTS {PG_INDEX}"]


def install(conn) -> None:
    run_ddl(conn, {"sqlite": sqlite_ddl, "postgresql": postgresql_ddl})


def uninstall(conn) -> None:
    run_ddl(conn, {"sqlite": sqlite_drop, "postgresql": postgresql_drop})


# ---------------------------------------------------------------------------------------------
# Queries

# The contacts with a matching value (one id per matching value row; the IN list dedupes).
SQLITE_CONTACTS = (
    f"SELECT v.contact_id FROM custom_field_values v WHERE v.id IN "
    f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :m) AND {_ACTIVE}"
)


class SqlitePlan:
    """How the SQLite search takes custom values in: ``sql``/``params`` to UNION ALL into the id
    list, or, when the matching values are on very many contacts (``common``: a choice most
    contacts have), ``probe``: an EXISTS checked on each row of the list's sort index, which looks
    up that contact's value rows in the matching value ids, read from the index once per query.
    (Asking FTS5 by rowid per row instead re-reads a 4+ letter prefix's whole doclist each time:
    "gold" on 25,000 of 100,000 contacts took 143 ms a page that way, 5 ms this way.)"""

    def __init__(self, terms: list[str], quote, very_common):
        match = " ".join(quote(t) + "*" for t in terms)
        self.sql = " UNION ALL " + SQLITE_CONTACTS.replace(":m", ":custom_query")
        self.params = [bindparam("custom_query", match)]
        self.common = very_common(match, FTS_TABLE)
        self.probe = text(
            f"EXISTS (SELECT 1 FROM custom_field_values v WHERE v.contact_id = contacts.id AND v.id IN "
            f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :custom_probe) AND {_ACTIVE})"
        ).bindparams(bindparam("custom_probe", match))


def sqlite_plan(terms: list[str], quote, very_common) -> SqlitePlan:
    return SqlitePlan(terms, quote, very_common)


# The matching values' rows, alias v, for the tsquery string ``{tsq}`` (a bind parameter).
_PG_MATCH = (
    f"{_HAS_TEXT.format(r='v.')} AND contacts_search_org_vector({_VALUE.format(r='v.')}) @@ "
    f"to_tsquery('simple', contacts_search_fold({{tsq}})) AND {_ACTIVE}"
)
# The contacts with a matching value (search.py counts them, bounded), for the tsquery string :m.
POSTGRESQL_CONTACTS = f"SELECT v.contact_id FROM custom_field_values v WHERE {_PG_MATCH.format(tsq=':m')}"


def postgresql_condition(tsq: str, common: bool = False):
    """contacts.id is one of those with a custom value matching the tsquery string ``tsq``.

    Few such contacts: their ids, read by primary key and sorted. Very many (``common``: a choice
    most contacts have): an EXISTS probed on each row of the list's sort index, reading that
    contact's few value rows, which stops after a page instead of building the whole id list."""
    if common:
        sql = (
            "EXISTS (SELECT 1 FROM custom_field_values v WHERE v.contact_id = contacts.id "
            f"AND {_PG_MATCH.format(tsq=':tsq_custom')} OFFSET 0)"
        )
    else:
        sql = f"contacts.id = ANY(ARRAY({POSTGRESQL_CONTACTS.replace(':m', ':tsq_custom')}))"
    return text(sql).bindparams(bindparam("tsq_custom", tsq))
