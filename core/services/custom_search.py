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

from .side_index import TOKENIZE as _TOKENIZE
from .side_index import SideIndex, SqlitePlan, shadow_tables, sqlite_contacts

FTS_TABLE = "custom_values_fts"
SOURCE_VIEW = "custom_values_search_source"
PG_INDEX = "ix_custom_values_search"
SEARCH_TABLES = shadow_tables(FTS_TABLE)
SQLITE_TRIGGER_NAMES = ("custom_values_search_ai", "custom_values_search_ad", "custom_values_search_au")
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


def postgresql_ddl() -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON custom_field_values USING gin "
        f"(contacts_search_org_vector({_VALUE.format(r='')})) "
        f"WHERE {_HAS_TEXT.format(r='')}"
    ]


INDEX = SideIndex(FTS_TABLE, SQLITE_TRIGGER_NAMES, PG_INDEX, sqlite_ddl, postgresql_ddl, views=(SOURCE_VIEW,))
sqlite_drop, postgresql_drop = INDEX.sqlite_drop, INDEX.postgresql_drop
install, uninstall = INDEX.install, INDEX.uninstall


# ---------------------------------------------------------------------------------------------
# Queries

_ROWS, _KEY, _WHERE = "custom_field_values v", "v.id", f" AND {_ACTIVE}"  # a contact's values
# The contacts with a matching value (one id per matching value row; the IN list dedupes).
SQLITE_CONTACTS = sqlite_contacts(_ROWS, _KEY, FTS_TABLE, _WHERE)


def sqlite_plan(terms: list[str], quote, very_common) -> SqlitePlan:
    """Contacts with a custom value that has all ``terms`` as word prefixes: an id list, or a probe
    when those values are on very many contacts (a choice most contacts have). (Asking FTS5 by
    rowid per row instead re-reads a 4+ letter prefix's whole doclist each time: "gold" on 25,000
    of 100,000 contacts took 143 ms a page that way, 5 ms with the probe.)"""
    return SqlitePlan(terms, quote, very_common, name="custom", fts_table=FTS_TABLE, rows=_ROWS, key=_KEY,
                      where=_WHERE)


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
