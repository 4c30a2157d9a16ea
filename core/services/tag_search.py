"""Full-text search over tag names (core/services/search.py asks it for one more id list).

A contact matches when all the typed words are (prefixes of words) in one of its tags' names,
as it does for its organization's name. Tags are few, so they have a small index of their own:
a rename touches one index row, not the contacts that carry the tag.

SQLite: ``tags_fts``, an external-content FTS5 table over ``tags.name`` kept in step by triggers
inside the same transaction. PostgreSQL: a GIN expression index over
``contacts_search_org_vector(name)`` (the function core_0002 made for organization names).
The migration core_0003 holds a frozen copy of this DDL.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text

from .side_index import TOKENIZE as _TOKENIZE
from .side_index import SideIndex, SqlitePlan, shadow_tables, sqlite_contacts

TAG_FTS_TABLE = "tags_fts"
PG_INDEX = "ix_tags_search"
SEARCH_TABLES = shadow_tables(TAG_FTS_TABLE)
SQLITE_TRIGGER_NAMES = ("tags_search_ai", "tags_search_ad", "tags_search_au")


def sqlite_ddl() -> list[str]:
    delete = f"INSERT INTO {TAG_FTS_TABLE}({TAG_FTS_TABLE}, rowid, name) VALUES ('delete', OLD.id, OLD.name);"
    insert = f"INSERT INTO {TAG_FTS_TABLE}(rowid, name) VALUES (NEW.id, NEW.name);"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TAG_FTS_TABLE} USING fts5(name, content='tags', content_rowid='id', "
        f"{_TOKENIZE})",
        f"CREATE TRIGGER IF NOT EXISTS tags_search_ai AFTER INSERT ON tags BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS tags_search_ad AFTER DELETE ON tags BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS tags_search_au AFTER UPDATE OF id, name ON tags "
        f"WHEN OLD.name IS NOT NEW.name OR OLD.id IS NOT NEW.id BEGIN {delete} {insert} END",
    ]


def postgresql_ddl() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON tags USING gin (contacts_search_org_vector(name))"]


INDEX = SideIndex(TAG_FTS_TABLE, SQLITE_TRIGGER_NAMES, PG_INDEX, sqlite_ddl, postgresql_ddl)
sqlite_drop, postgresql_drop = INDEX.sqlite_drop, INDEX.postgresql_drop
install, uninstall = INDEX.install, INDEX.uninstall


_ROWS, _KEY = "contact_tags ct", "ct.tag_id"  # a contact's tags
SQLITE_CONTACTS = sqlite_contacts(_ROWS, _KEY, TAG_FTS_TABLE)  # of the tags the MATCH :m finds


def sqlite_plan(terms: list[str], quote, very_common) -> SqlitePlan:
    """Contacts with a tag whose name has all ``terms`` as word prefixes: an id list, or a probe
    when those tags are on very many contacts (building an id list of 300,000 cost 50 ms)."""
    return SqlitePlan(terms, quote, very_common, name="tag", fts_table=TAG_FTS_TABLE, rows=_ROWS, key=_KEY)


# The contacts carrying a tag whose name matches the tsquery string :m (search.py counts them, bounded).
POSTGRESQL_CONTACTS = (
    "SELECT ct.contact_id FROM contact_tags ct WHERE ct.tag_id = ANY(ARRAY("
    "SELECT t.id FROM tags t WHERE contacts_search_org_vector(t.name) @@ to_tsquery('simple', contacts_search_fold(:m))))"
)


def postgresql_condition(tsq: str, common: bool = False):
    """contacts.id is one of those carrying a tag whose name matches the tsquery string ``tsq``.

    Few such contacts: their ids, read by primary key and sorted. Very many (``common``): an EXISTS
    probed on each row of the list's sort index, which stops after a page, instead of building
    the whole id list first (a tag on 30 % of 200,000 contacts: 150 ms a page that way, 1.5 ms so)."""
    if common:
        sql = (
            "EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = contacts.id AND ct.tag_id = ANY(ARRAY("
            "SELECT t.id FROM tags t WHERE contacts_search_org_vector(t.name) @@ "
            "to_tsquery('simple', contacts_search_fold(:tsq_tag)))) OFFSET 0)"  # OFFSET 0: see custom_search.py
        )
    else:
        sql = f"contacts.id = ANY(ARRAY({POSTGRESQL_CONTACTS.replace(':m', ':tsq_tag')}))"
    return text(sql).bindparams(bindparam("tsq_tag", tsq))
