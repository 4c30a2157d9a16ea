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

from ..database import run_ddl

TAG_FTS_TABLE = "tags_fts"
PG_INDEX = "ix_tags_search"
SEARCH_TABLES = frozenset(f"{TAG_FTS_TABLE}{s}" for s in ("", "_data", "_idx", "_docsize", "_config"))
SQLITE_TRIGGER_NAMES = ("tags_search_ai", "tags_search_ad", "tags_search_au")
_TOKENIZE = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"


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


def sqlite_drop() -> list[str]:
    return [*(f"DROP TRIGGER IF EXISTS {n}" for n in SQLITE_TRIGGER_NAMES), f"DROP TABLE IF EXISTS {TAG_FTS_TABLE}"]


def postgresql_ddl() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON tags USING gin (contacts_search_org_vector(name))"]


def postgresql_drop() -> list[str]:
    return [f"DROP INDEX IF EXISTS {PG_INDEX}"]


def install(conn) -> None:
    run_ddl(conn, {"sqlite": sqlite_ddl, "postgresql": postgresql_ddl})


def uninstall(conn) -> None:
    run_ddl(conn, {"sqlite": sqlite_drop, "postgresql": postgresql_drop})


SQLITE_CONTACTS = (
    f"SELECT ct.contact_id FROM contact_tags ct WHERE ct.tag_id IN "
    f"(SELECT rowid FROM {TAG_FTS_TABLE} WHERE {TAG_FTS_TABLE} MATCH :m)"
)


def sqlite_hits(terms: list[str], quote) -> tuple[str, list]:
    """SQL (to UNION ALL with the contact hits) for the ids of contacts with a tag whose name has
    all ``terms`` as word prefixes, and its bind parameters (the last one is the MATCH string:
    search.py counts its hits, bounded, to see whether a tag is on very many contacts)."""
    sql = " UNION ALL " + SQLITE_CONTACTS.replace(":m", ":tag_query")
    return sql, [bindparam("tag_query", " ".join(quote(t) + "*" for t in terms))]


class SqlitePlan:
    """How the SQLite search takes tags in: ``sql``/``params`` to add to the id list, or, when the
    matching tags are on very many contacts (``common``), ``probe``: an EXISTS checked on each row
    of the list's sort index (building an id list of 300,000 contacts cost 50 ms)."""

    def __init__(self, terms: list[str], quote, very_common):
        self.sql, self.params = sqlite_hits(terms, quote)
        match = self.params[-1].value
        self.common = very_common(match, TAG_FTS_TABLE)
        self.probe = text(
            f"EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.contact_id = contacts.id AND ct.tag_id IN "
            f"(SELECT rowid FROM {TAG_FTS_TABLE} WHERE {TAG_FTS_TABLE} MATCH :tag_probe))"
        ).bindparams(bindparam("tag_probe", match))


def sqlite_plan(terms: list[str], quote, very_common) -> SqlitePlan:
    return SqlitePlan(terms, quote, very_common)


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
