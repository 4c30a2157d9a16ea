"""Similar names on PostgreSQL (pg_trgm): what the contacts list shows when the search finds nothing.

The rule: on PostgreSQL, when a search of one or two plain words (no ``@``, not a phone number,
3+ letters in all) finds no contact at all (names, email, organization, tags, custom values,
with the list's other filters), the list shows instead the contacts whose full name
("first last", lower-cased, accents folded with ``contacts_search_fold``)

- contains the typed text anywhere (``ILIKE '%ace hop%'``: "ace" finds Grace), or
- is trigram-similar to it (``word_similarity >= pg_trgm.word_similarity_threshold``, 0.6 by
  default: "hoper", "lovelase" find Hopper, Lovelace),

in the list's usual order, and the page says "No exact matches; showing similar names". Only the
contacts list page asks for this (``list_contacts(similar_names=True)``), and its lazy count
(``list_query.count_shown``) then says "N similar names" and offers no "select all N matching";
the API, the pickers and bulk "all matching" keep the exact search. Both
tests are served by one GIN ``gin_trgm_ops`` index on that expression; at most SIMILAR_CAP
candidates are read (over all teams, before the visibility and other filters), so a 3-letter
infix common to half the contacts stays bounded. The index has no pending list (``fastupdate =
off``: a name is a dozen trigrams, written directly), so the planner never sees a big unmerged list
after many inserts and falls back to a scan of every name (18 ms instead of 0.1 ms at 5,000 rows). The normal search path is unchanged: the
fallback costs a query only after an empty first page.

Nothing changes when pg_trgm cannot be installed (no such extension, or no privilege to create
it): no index, and the search simply finds nothing, as before. SQLite has no trigram search.
"""

from __future__ import annotations

from sqlalchemy import bindparam, text

PG_INDEX = "ix_contacts_name_trgm"
NAME_SQL = "contacts_search_fold({t}first_name || ' ' || {t}last_name)"
SIMILAR_CAP = 1000  # candidate names read at most (a typo's matches are a handful)
MAX_WORDS = 2
MIN_LETTERS = 3  # shorter has no trigram to look up: the index could not serve it


def trgm_schema(conn) -> str | None:
    """The schema pg_trgm is installed in, or None (not installed)."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()


def ensure_extension(conn) -> str | None:
    """Install pg_trgm if this server has it and we may; its schema, or None."""
    found = trgm_schema(conn)
    if found or conn.dialect.name != "postgresql":
        return found
    if not conn.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").scalar():
        return None
    schema = "public" if conn.exec_driver_sql("SELECT to_regnamespace('public')").scalar() else None
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm" + (f" SCHEMA {schema}" if schema else ""))
    except Exception:  # noqa: BLE001 - no privilege: no similar names, as on SQLite
        savepoint.rollback()
        return None
    savepoint.commit()
    return trgm_schema(conn)


def postgresql_ddl(schema: str | None) -> list[str]:
    """The index (nothing without the extension). Needs contacts_search_fold (core_0002)."""
    if not schema:
        return []
    return [f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON contacts USING gin ({NAME_SQL.format(t='')} {schema}.gin_trgm_ops) "
            "WITH (fastupdate = off)"]


def postgresql_drop() -> list[str]:
    return [f"DROP INDEX IF EXISTS {PG_INDEX}"]


def install(conn) -> None:
    if conn.dialect.name == "postgresql":
        for sql in postgresql_ddl(ensure_extension(conn)):
            conn.exec_driver_sql(sql)


def uninstall(conn) -> None:
    if conn.dialect.name == "postgresql":
        for sql in postgresql_drop():
            conn.exec_driver_sql(sql)


def rebuild(conn) -> None:
    """For bulk loads (search.rebuild_search_index): build the index again if it can be."""
    uninstall(conn)
    if conn.dialect.name == "postgresql":
        for sql in postgresql_ddl(trgm_schema(conn)):
            conn.exec_driver_sql(sql)


def phrase(q: str) -> str | None:
    """The text to look for when ``q`` qualifies for similar names (the rule above), else None."""
    from .search import Parsed

    parsed = Parsed(q or "")
    if parsed.emails or parsed.phone or not 1 <= len(parsed.terms) <= MAX_WORDS:
        return None
    if sum(len(t) for t in parsed.terms) < MIN_LETTERS:
        return None
    return " ".join(parsed.terms)


def available(session) -> str | None:
    """pg_trgm's schema when this database has both the extension and the index, else None."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    if not conn.exec_driver_sql(f"SELECT to_regclass('{PG_INDEX}') IS NOT NULL").scalar():
        return None
    return trgm_schema(conn)


def condition(words: str, schema: str):
    """contacts.id is one of (at most SIMILAR_CAP) contacts whose name contains or resembles ``words``.
    Words are letters and digits only (search.Parsed), so there is no LIKE wildcard to escape."""
    name = NAME_SQL.format(t="c.")
    return text(
        f"contacts.id = ANY(ARRAY(SELECT c.id FROM contacts c WHERE {name} LIKE "
        f"'%' || contacts_search_fold(:similar_words) || '%' OR contacts_search_fold(:similar_words) "
        f"OPERATOR({schema}.<%) {name} LIMIT {SIMILAR_CAP}))"
    ).bindparams(bindparam("similar_words", words))


def wanted(actor, filters: dict, cursor: str | None = None) -> bool:
    """Whether the list (``contacts_statement`` keyword ``filters``) should show similar names: the
    query qualifies, this database can, and the search finds nothing at all (an empty first page
    says so; for a later page one bounded probe asks, so "load more" stays in the same mode)."""
    from ..extensions import db

    if phrase(filters.get("q") or "") is None or available(db.session) is None:
        return False
    if cursor:
        from sqlalchemy import select

        from ..models import Contact
        from .contacts import contacts_statement

        probe = contacts_statement(actor, columns=(Contact.id,), **filters).limit(1)
        return db.session.scalar(select(probe.exists())) is False
    return True


def list_condition(q: str):
    """The WHERE clause for ``contacts_statement(similar=True)`` (false() if it cannot be)."""
    from sqlalchemy import false

    from ..extensions import db

    words = phrase(q)
    schema = trgm_schema(db.session.connection()) if words else None
    return condition(words, schema) if schema else false()
