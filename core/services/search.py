"""Full-text search on contacts: the index DDL for SQLite (FTS5) and PostgreSQL (GIN over a
tsvector expression), and the query builder that turns what the user typed into a safe match.

What is indexed, per contact: first and last name, the email address (split into its words, so
``grace@navy.example`` gives ``grace``, ``navy``, ``example``), and the phone number, so that any 3+
consecutive digits of it find it ("7946" finds +442079460958, like the old ``LIKE '%7946%'``, but
indexed). Organization names have an index of their own.

SQLite: ``contacts_fts`` is an external-content FTS5 table (unicode61, remove_diacritics 2, prefix
indexes of 2 to 6 letters; the other FTS tables 2 and 3) whose content is the view
``contacts_search_source``, with a ``lead`` column that the list sorted by name uses to read the
contacts whose sort name starts with the typed words from the sort index (``sorted_legs``);
``contacts_phone_fts`` is one over ``contacts.phone`` with the trigram tokenizer (a quoted run of
3+ digits is a substring match); ``organizations_fts`` is one over ``organizations.name``. Triggers
keep them in step inside the same transaction as the change; a batch of new contacts
(bulk_insert.py, the import) skips the per-row trigger and is indexed by one INSERT ... SELECT in
the same transaction (``batch_indexed``); renaming an organization touches one index row.

PostgreSQL: stored generated columns ``contacts.search_vector`` (names, email) and
``contacts.search_phone`` (digit suffixes) with GIN indexes, and an expression GIN index over
``contacts_search_org_vector(name)`` ('simple' config, unaccent when the extension can be
installed); the database maintains them. The columns are not in the model (SQLite has no tsvector).
When a search finds nothing, PostgreSQL with pg_trgm shows similar names instead (similar_search.py).
The list sorted by name reads a range of its sort index there too (``sorted_legs``: no lead token,
the range's rows are checked against the hits' condition, so no index is added).

Queries: every word is a prefix (``gra hop``), words are ANDed in any order, and they must all be in
the contact's name and email, or all in its organization's name, or all in one of its tags' names
(tag_search.py), or all in one of its custom text values (custom_search.py). A word with ``@`` searches the
email (the address must start with it). A query made only of digits and phone punctuation also
matches the phone (``+1 415 555``, ``555-0123``); digits among other words do not. User input never
reaches the match syntax raw: it is cut into runs of letters and digits, each one quoted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from contextlib import contextmanager

from sqlalchemy import and_, bindparam, false, literal_column, or_, text, true

from ..database import run_ddl
from ..extensions import db
from . import cache_keys, custom_search, similar_search, tag_search
from .records import escape_like

MAX_TERMS = 12  # words beyond these are ignored: a search box, not a document
MAX_TERM_LENGTH = 64  # longer than any indexed token of interest; keeps the match string bounded
FTS_TABLE = "contacts_fts"
PHONE_FTS_TABLE = "contacts_phone_fts"
ORG_FTS_TABLE = "organizations_fts"
SOURCE_VIEW = "contacts_search_source"
PG_INDEXES = ("ix_contacts_search", "ix_contacts_search_phone", "ix_organizations_search")
PG_COLUMNS = ("search_vector", "search_phone")  # on contacts, generated; not in the model
SEARCH_TABLES = frozenset(
    f"{table}{suffix}" for table in (FTS_TABLE, PHONE_FTS_TABLE, ORG_FTS_TABLE)
    for suffix in ("", "_data", "_idx", "_docsize", "_config")
)

_WORD = re.compile(r"[^\W_]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PHONE_QUERY = re.compile(r"^[\d\s+().\-/]+$")


# ---------------------------------------------------------------------------------------------
# DDL


# A sort name made only of [a-z0-9] words separated by single spaces ("smith james") is indexed
# once more as one ``lead`` token, each space and its start marked by LEAD_MARK ("ǀsmithǀjames", a
# letter FTS5 keeps as it is): "the sort name starts with the typed words" (a range of the list's
# sort index) is then one prefix of that token ("ǀsmithǀjam"*). See ``sorted_legs``.
PLAIN_SORT_NAME = "{x} GLOB '[a-z0-9]*' AND {x} NOT GLOB '*[^a-z0-9 ]*' AND {x} NOT GLOB '*  *'"
LEAD_MARK = "\u01c0"  # LATIN LETTER DENTAL CLICK: a letter, no case, no diacritic


def _sqlite_columns(row: str, aliases: bool = False) -> str:
    """name, email, lead of the contact ``row`` (NEW, OLD or a table alias), as indexed."""
    x = f"{row}.sort_name"
    lead = f"CASE WHEN {PLAIN_SORT_NAME.format(x=x)} THEN '{LEAD_MARK}' || replace({x}, ' ', '{LEAD_MARK}') ELSE '' END"
    columns = [f"{row}.first_name || ' ' || {row}.last_name", f"coalesce({row}.email, '')", lead]
    if aliases:
        columns = [f"{sql} AS {name}" for sql, name in zip(columns, ("name", "email", "lead"), strict=True)]
    return ", ".join(columns)


_COLS = "name, email, lead"


def _index_sql(source: str | None = None) -> str:
    """Add contacts to both contact indexes: the trigger's NEW row, or the contacts ``c`` of ``source``
    ("contacts c WHERE ...": ``batch_indexed``). A contact without a phone gets no row in the phone
    index (it would hold no term, but FTS5 would still count it and rewrite its totals, a page of
    the log each write); so the delete and update triggers remove none of an empty phone."""
    if source is None:
        return (f"INSERT INTO {FTS_TABLE}(rowid, {_COLS}) VALUES (NEW.id, {_sqlite_columns('NEW')}); "
                f"INSERT INTO {PHONE_FTS_TABLE}(rowid, phone) SELECT NEW.id, NEW.phone WHERE NEW.phone <> '';")
    return (f"INSERT INTO {FTS_TABLE}(rowid, {_COLS}) SELECT c.id, {_sqlite_columns('c')} FROM {source}; "
            f"INSERT INTO {PHONE_FTS_TABLE}(rowid, phone) SELECT c.id, c.phone FROM {source} AND c.phone <> '';")


def sqlite_triggers() -> list[str]:
    insert = f"INSERT INTO {FTS_TABLE}(rowid, {_COLS})"
    delete = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLS})"
    phone_delete = (f"INSERT INTO {PHONE_FTS_TABLE}({PHONE_FTS_TABLE}, rowid, phone) "
                    "SELECT 'delete', OLD.id, OLD.phone WHERE OLD.phone <> '';")
    phone_insert = f"INSERT INTO {PHONE_FTS_TABLE}(rowid, phone) SELECT NEW.id, NEW.phone WHERE NEW.phone <> '';"
    org_delete = f"INSERT INTO {ORG_FTS_TABLE}({ORG_FTS_TABLE}, rowid, name) VALUES ('delete', OLD.id, OLD.name);"
    org_insert = f"INSERT INTO {ORG_FTS_TABLE}(rowid, name) VALUES (NEW.id, NEW.name);"
    return [
        f"CREATE TRIGGER IF NOT EXISTS contacts_search_ai AFTER INSERT ON contacts BEGIN {_index_sql()} END",
        f"CREATE TRIGGER IF NOT EXISTS contacts_search_ad AFTER DELETE ON contacts BEGIN "
        f"{delete} VALUES ('delete', OLD.id, {_sqlite_columns('OLD')}); {phone_delete} END",
        f"CREATE TRIGGER IF NOT EXISTS contacts_search_au AFTER UPDATE OF id, first_name, last_name, email, "
        f"sort_name ON contacts WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name "
        f"OR OLD.email IS NOT NEW.email OR OLD.sort_name IS NOT NEW.sort_name "
        f"OR OLD.id IS NOT NEW.id BEGIN "
        f"{delete} VALUES ('delete', OLD.id, {_sqlite_columns('OLD')}); "
        f"{insert} VALUES (NEW.id, {_sqlite_columns('NEW')}); END",
        f"CREATE TRIGGER IF NOT EXISTS contacts_phone_search_au AFTER UPDATE OF id, phone ON contacts "
        f"WHEN OLD.phone IS NOT NEW.phone OR OLD.id IS NOT NEW.id BEGIN {phone_delete} {phone_insert} END",
        # Organizations have their own small index: a rename touches one row, not its contacts.
        f"CREATE TRIGGER IF NOT EXISTS organizations_search_ai AFTER INSERT ON organizations BEGIN {org_insert} END",
        f"CREATE TRIGGER IF NOT EXISTS organizations_search_ad AFTER DELETE ON organizations BEGIN {org_delete} END",
        f"CREATE TRIGGER IF NOT EXISTS organizations_search_au AFTER UPDATE OF id, name ON organizations "
        f"WHEN OLD.name IS NOT NEW.name OR OLD.id IS NOT NEW.id BEGIN {org_delete} {org_insert} END",
    ]


SQLITE_TRIGGER_NAMES = (
    "contacts_search_ai", "contacts_search_ad", "contacts_search_au", "contacts_phone_search_au",
    "organizations_search_ai", "organizations_search_ad", "organizations_search_au",
)
_TOKENIZE = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"
# Contacts: prefixes of 4 to 6 letters too. Without them "smith*" merges every word that starts
# so ("smith", "smith2", ... "smith1987" from email addresses: 9,565 words, 47 ms at 1M contacts).
_CONTACT_TOKENIZE = "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5 6'"


# Phones: trigrams, so a quoted run of digits is a substring match. They were suffixes of 3+ digits
# in contacts_fts, each with the prefix indexes: ~60 index entries a number against ~10 here, and
# two thirds of that index's cost per inserted contact. No column sizes: nothing ranks by them.
_PHONE_TOKENIZE = "tokenize='trigram', columnsize=0"


# FTS5 writes each transaction's terms as a new small segment and merges segments in the write
# that pushes its count of leaf pages written past a multiple of 64: up to 64 x (levels) pages at
# once (~400-800 at 1M contacts), inside that request's commit, whenever some level holds
# ``automerge`` segments. With the default 4, 0.3-1.6 % of single contact creates at 1M wrote
# 100-1,900 pages (5-45 ms of CPU with the write lock held: the p99 of writes and the queue of the
# sustained writes behind it). With 8, a level waits for twice as many segments, so each entry is
# rewritten by fewer merges (log8 rather than log4 of the index's size) and the base segment
# built with the dataset by half as many: over 36,000 creates through sqlite3 on a copy of the
# 1M dataset (runs of 3,000 and 15,000, alternated with the default's on the same state), 0.07-0.11 %
# of commits wrote over 100 pages (default: 0.3-1.7 %), 0-0.05 % used over 5 ms of CPU (0.3-1.6 %),
# and the mean fell from 0.43-0.64 to 0.34-0.46 ms of CPU a commit (16: a little lower still, with
# up to twice the segments again; not taken). Queries read up to twice as many small segments:
# the bench's three searches cost the same CPU after those creates (at 1M, bench.list_cpu). Merging in small steps from each write ('merge', N: ~1.1-1.4 ms a commit) or
# from the checkpoint thread (a backlog, writers queued behind it) cost more.
CONTACT_INDEX_AUTOMERGE = 8


def sqlite_settings() -> list[str]:
    """The contact indexes' merge setting (kept in each FTS table's ``_config``): applied with the
    DDL, by core_0026 and again to a reused bench dataset."""
    return [f"INSERT INTO {table}({table}, rank) VALUES ('automerge', {CONTACT_INDEX_AUTOMERGE})"
            for table in (FTS_TABLE, PHONE_FTS_TABLE)]


def sqlite_ddl() -> list[str]:
    """Everything the SQLite search needs, created empty (the triggers fill it from then on)."""
    return [
        f"CREATE VIEW IF NOT EXISTS {SOURCE_VIEW} AS SELECT c.id AS id, {_sqlite_columns('c', aliases=True)} "
        "FROM contacts c",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({_COLS}, content='{SOURCE_VIEW}', "
        f"content_rowid='id', {_CONTACT_TOKENIZE})",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {PHONE_FTS_TABLE} USING fts5(phone, content='contacts', "
        f"content_rowid='id', {_PHONE_TOKENIZE})",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {ORG_FTS_TABLE} USING fts5(name, content='organizations', "
        f"content_rowid='id', {_TOKENIZE})",
        *sqlite_settings(),
        *sqlite_triggers(),
    ]


def sqlite_drop() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES),
        f"DROP TABLE IF EXISTS {FTS_TABLE}",
        f"DROP TABLE IF EXISTS {PHONE_FTS_TABLE}",
        f"DROP TABLE IF EXISTS {ORG_FTS_TABLE}",
        f"DROP VIEW IF EXISTS {SOURCE_VIEW}",
    ]


def _pg_unaccent_schema(conn) -> str | None:
    """Install unaccent if this server has it and we may; return its schema, or None."""
    row = conn.exec_driver_sql("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'")
    found = row.scalar()
    if found:
        return found
    available = conn.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'").scalar()
    if not available:
        return None
    schema = "public" if conn.exec_driver_sql("SELECT to_regnamespace('public')").scalar() else None
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent" + (f" SCHEMA {schema}" if schema else ""))
    except Exception:  # noqa: BLE001 - no privilege: search without accent folding
        savepoint.rollback()
        return None
    savepoint.commit()
    return conn.exec_driver_sql("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'").scalar()


def postgresql_ddl(unaccent_schema: str | None) -> list[str]:
    """IMMUTABLE functions, two stored generated tsvector columns on contacts (no weights, so a
    GIN match needs no recheck, and a recheck reads the stored value) and three GIN indexes."""
    fold = (
        f"{unaccent_schema}.unaccent('{unaccent_schema}.unaccent'::regdictionary, lower($1))"
        if unaccent_schema else "lower($1)"
    )
    # Runs of anything but letters and digits separate words (as unicode61 does on SQLite).
    words = "regexp_replace(contacts_search_fold({x}), '[[:space:][:punct:]]+', ' ', 'g')"
    return [
        "CREATE OR REPLACE FUNCTION contacts_search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE "
        f"PARALLEL SAFE STRICT AS $$ SELECT {fold} $$",
        "CREATE OR REPLACE FUNCTION contacts_search_vector(text, text, text) RETURNS tsvector "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_tsvector('simple'::regconfig, "
        f"coalesce({words.format(x=chr(36) + '1 || ' + chr(39) + ' ' + chr(39) + ' || $2 || ' + chr(39) + ' ' + chr(39) + ' || coalesce($3, ' + chr(39) * 2 + ')')}, '')) $$",
        "CREATE OR REPLACE FUNCTION contacts_search_phone_vector(text) RETURNS tsvector "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_tsvector('simple'::regconfig, "
        "array_to_string(ARRAY(SELECT substr(ltrim($1, '+'), k) "
        "FROM generate_series(1, length(ltrim($1, '+')) - 2) AS k), ' ')) $$",
        "CREATE OR REPLACE FUNCTION contacts_search_org_vector(text) RETURNS tsvector "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
        f"to_tsvector('simple'::regconfig, coalesce({words.format(x='$1')}, '')) $$",
        "ALTER TABLE contacts ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
        "(contacts_search_vector(first_name, last_name, email)) STORED",
        "ALTER TABLE contacts ADD COLUMN IF NOT EXISTS search_phone tsvector GENERATED ALWAYS AS "
        "(contacts_search_phone_vector(phone)) STORED",
        *postgresql_indexes(),
    ]


def postgresql_indexes() -> list[str]:
    return [
        "CREATE INDEX IF NOT EXISTS ix_contacts_search ON contacts USING gin (search_vector)",
        "CREATE INDEX IF NOT EXISTS ix_contacts_search_phone ON contacts USING gin (search_phone)",
        "CREATE INDEX IF NOT EXISTS ix_organizations_search ON organizations USING gin "
        "(contacts_search_org_vector(name))",
    ]


def postgresql_drop() -> list[str]:
    return [
        *(f"DROP INDEX IF EXISTS {name}" for name in PG_INDEXES),
        "ALTER TABLE contacts DROP COLUMN IF EXISTS search_vector",
        "ALTER TABLE contacts DROP COLUMN IF EXISTS search_phone",
        "DROP FUNCTION IF EXISTS contacts_search_org_vector(text)",
        "DROP FUNCTION IF EXISTS contacts_search_phone_vector(text)",
        "DROP FUNCTION IF EXISTS contacts_search_vector(text, text, text)",
        "DROP FUNCTION IF EXISTS contacts_search_fold(text)",
    ]


def install(conn) -> None:
    """Create the search index on ``conn`` (after the contacts and organizations tables exist)."""
    if conn.dialect.name == "sqlite":
        statements = sqlite_ddl()
    elif conn.dialect.name == "postgresql":
        statements = postgresql_ddl(_pg_unaccent_schema(conn))
    else:
        return
    for sql in statements:
        conn.exec_driver_sql(sql)


def uninstall(conn) -> None:
    run_ddl(conn, {"sqlite": sqlite_drop, "postgresql": postgresql_drop})


def suspend_search_index(conn) -> None:
    """For bulk loads: stop maintaining the index (SQLite: drop the triggers and empty the FTS
    table; PostgreSQL: drop the two GIN indexes). Call ``rebuild_search_index`` afterwards."""
    if conn.dialect.name == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        for table in (FTS_TABLE, PHONE_FTS_TABLE, ORG_FTS_TABLE):
            conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('delete-all')")
    elif conn.dialect.name == "postgresql":
        for name in PG_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        similar_search.uninstall(conn)


def rebuild_search_index(conn) -> None:
    """Rebuild the index from the tables (and restore what ``suspend_search_index`` removed)."""
    if conn.dialect.name == "sqlite":
        for sql in sqlite_triggers():
            conn.exec_driver_sql(sql)
        for table in (FTS_TABLE, PHONE_FTS_TABLE, ORG_FTS_TABLE):
            conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
    elif conn.dialect.name == "postgresql":
        for name in PG_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        for sql in postgresql_indexes():
            conn.exec_driver_sql(sql)
        similar_search.rebuild(conn)


@contextmanager
def batch_indexed(conn, table_name: str, ids: list):
    """Around the insert of a batch of rows (bulk_insert.insert_rows) with these ``ids``: on SQLite,
    for contacts, the insert trigger is dropped while the batch goes in, then the batch is indexed
    by one INSERT ... SELECT per index and the trigger put back as it was, all in the same
    transaction (SQLite has one writer; readers see the trigger throughout). Why, at 1M contacts
    (20,000 new ones in batches of 1,000, CPU a row): with the trigger an ``executemany`` opened a
    statement journal per row (any trigger makes SQLite keep one; it copies each page of the
    contacts table and its 12 indexes that the transaction had already changed: ~60 us), and FTS5
    wrote its pending terms to a new segment at each of those savepoints (a segment to merge per
    row); one statement keeps the batch in memory and writes it once (~10 us for both indexes).
    Other connections re-read the schema once after the batch commits (under 1 ms). When the insert
    fails, the trigger is put back and the rows that did go in are indexed all the same."""
    if table_name != "contacts" or conn.dialect.name != "sqlite" or not ids:
        yield
        return
    trigger = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'contacts_search_ai'").scalar()
    if trigger is None:  # the index is suspended (suspend_search_index): nothing to keep in step
        yield
        return
    conn.exec_driver_sql("DROP TRIGGER contacts_search_ai")
    try:
        yield
    finally:
        conn.exec_driver_sql(trigger)
        batch = _index_sql("contacts c WHERE c.id IN (SELECT value FROM json_each(?))")
        for sql in batch.split("; "):
            conn.exec_driver_sql(sql.rstrip(";"), (json.dumps(ids),))


# ---------------------------------------------------------------------------------------------
# Queries


def _words(text_: str) -> list[str]:
    return [w[:MAX_TERM_LENGTH] for w in _WORD.findall(unicodedata.normalize("NFC", text_))]


class Parsed:
    """What the user typed, cut into safe pieces."""

    def __init__(self, q: str):
        # Control characters (NUL above all: PostgreSQL refuses it in a string) separate words.
        q = unicodedata.normalize("NFC", _CONTROL.sub(" ", q or ""))
        self.terms: list[str] = []  # plain words: prefixes, any column
        self.emails: list[tuple[str, list[str]]] = []  # (typed word lower-cased, its words)
        for raw in q.split()[: MAX_TERMS * 2]:
            words = _words(raw)
            if "@" in raw and words:
                self.emails.append((raw.lower()[:254], words))
            else:
                self.terms.extend(words)
        self.terms = self.terms[:MAX_TERMS]
        self.emails = self.emails[:MAX_TERMS]
        digits = "".join(ch for ch in q if ch.isdigit() and ch.isascii())
        self.phone = digits[:20] if len(digits) >= 3 and _PHONE_QUERY.match(q.strip()) else ""

    @property
    def empty(self) -> bool:
        return not (self.terms or self.emails)


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _any_column(term: str) -> str:
    """The column filter a word needs: none unless it has LEAD_MARK (lead tokens start with it;
    phones have an index of their own); else name and email. A filter costs: FTS5 then reads every
    hit's positions ("smith"*: 9 ms instead of 6 at 1M contacts)."""
    return "{name email} : " if LEAD_MARK in term else ""


def fts5_query(parsed: Parsed) -> str:
    """The FTS5 MATCH string on the names and email (``phone_query``: the phone's): each piece a
    quoted string (so no operator, column name or NEAR can be injected), a prefix (``*``), all ANDed."""
    parts = [_any_column(t) + _fts_string(t) + "*" for t in parsed.terms]
    for _raw, words in parsed.emails:
        parts.extend("email : " + _fts_string(w) + "*" for w in words)
    return " ".join(parts)


def phone_query(digits: str) -> str:
    """The MATCH string on PHONE_FTS_TABLE for numbers holding these 3+ consecutive digits: one
    quoted string, which the trigram tokenizer matches as a substring."""
    return _fts_string(digits)


def _tsquery_term(word: str) -> str:
    """A quoted lexeme with a prefix mark."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*"


def tsquery_string(words: list[str]) -> str:
    """A to_tsquery('simple', ...) string: each word a quoted lexeme with a prefix mark, ANDed."""
    return " & ".join(_tsquery_term(w) for w in words)


COMMON_HITS = 20_000  # below this, reading the hits and sorting them takes ~25 ms at most


def _very_common(match: str, table: str = FTS_TABLE, tops: dict | None = None) -> bool:
    """Whether ``match`` hits at least a tenth of the contacts (and COMMON_HITS; PostgreSQL's tag
    and custom-value hits, ``table`` one of PG_CONTACTS: PG_COMMON_HITS contacts): a bounded count,
    remembered for a few minutes (it only picks the plan; "load more" pages and repeated searches
    would otherwise count the hits again: 10-35 ms at 1M contacts). ``tops``: one search's memo of
    the contacts' max(id), read once for its several probes (contacts, tags, custom values)."""
    cap = PG_COMMON_HITS if table in PG_CONTACTS else COMMON_HITS
    key = f"search-common:{table}:{cap}:" + hashlib.sha1(match.encode(), usedforsecurity=False).hexdigest()
    return cache_keys.plan_choice(key, lambda: _count_very_common(match, table, tops))


# PostgreSQL: the tag and custom-value hits (tag_search.py, custom_search.py) are ids to look up
# and sort up to this many contacts, an EXISTS probed on each row of the list's sort index above it
# (as the list filtered by a tag, taxonomy.COMMON_MEMBERS). At 200,000 contacts: ids cost ~2.5 µs
# each (10,000: 68 ms), the walk a few ms for anything on more than ~2 % of the contacts.
PG_COMMON_HITS = 5_000
PG_CONTACTS = {
    tag_search.PG_INDEX: tag_search.POSTGRESQL_CONTACTS,
    custom_search.PG_INDEX: custom_search.POSTGRESQL_CONTACTS,
}


def _count_very_common(match: str, table: str = FTS_TABLE, tops: dict | None = None) -> bool:
    session = db.session
    if table in PG_CONTACTS:  # the contacts with matching tags or custom values
        probe = text(f"SELECT count(*) FROM ({PG_CONTACTS[table]} LIMIT :cap) AS hits")
        return session.execute(probe, {"m": match, "cap": PG_COMMON_HITS}).scalar() >= PG_COMMON_HITS
    tops = {} if tops is None else tops
    if "top" not in tops:
        tops["top"] = session.execute(text("SELECT max(id) FROM contacts")).scalar() or 0
    top = tops["top"]
    cap = max(COMMON_HITS, top // 10)
    if top < cap:
        return False
    fts = PHONE_FTS_TABLE if table == PHONE_FTS_TABLE else FTS_TABLE
    probe = text(f"SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH :m LIMIT :cap)")
    if table == tag_search.TAG_FTS_TABLE:  # contacts carrying the matching tags
        probe = text(f"SELECT count(*) FROM ({tag_search.SQLITE_CONTACTS} LIMIT :cap)")
    if table == custom_search.FTS_TABLE:  # contacts with matching custom values
        probe = text(f"SELECT count(*) FROM ({custom_search.SQLITE_CONTACTS} LIMIT :cap)")
    return session.execute(probe, {"m": match, "cap": cap}).scalar() >= cap


def search_condition(q: str):
    """The WHERE clause for contacts matching ``q`` (None when ``q`` has nothing to look for)."""
    return search_plan(q)[0]


def search_plan(q: str):
    """(condition, by_hits): the WHERE clause as ``search_condition``, and whether the query should
    read the hits by id and sort them (SQLite: see ``unindexed_deleted_at``)
    rather than walk the list's sort index. SQLite's planner walked the sort index even for a few
    thousand hits clustered in one place of the order ("smith john": 179 ms instead of 32 ms)."""
    return _plan(q)


def unindexed_deleted_at():
    """``+contacts.deleted_at`` for SQLite: the unary plus keeps the planner from using the
    (deleted_at, sort_name, id) indexes, so it looks the hits up by rowid (the INTEGER PRIMARY KEY
    still serves) and sorts those few rows instead of walking the sort order. SQLite only."""
    return literal_column("+contacts.deleted_at")


_FEW = "contacts_few_ids"


def few_contacts(condition):
    """``condition`` (``contacts.id`` among a few ids: a rare tag, group or custom value) marked so
    that ``contacts_statement`` reads those rows by id and sorts them (SQLite:
    ``unindexed_deleted_at``), as for a search's few hits. SQLite's planner otherwise may walk the
    list's sort index and test each row against the ids: at 1M contacts a tag on 1,000 of them cost
    20 ms of SQL a page that way, 1.9 ms by id. Unchanged on PostgreSQL (its plans differ)."""
    if db.session.get_bind().dialect.name != "sqlite":
        return condition
    return condition._annotate({_FEW: True})


def has_few_contacts(stmt) -> bool:
    """One of ``stmt``'s WHERE conditions is a ``few_contacts`` one."""
    return any(c._annotations.get(_FEW) for c in stmt._where_criteria)


def _plan(q: str):
    from ..models import Contact

    if not (q or "").strip():
        return None, False
    parsed = Parsed(q)
    if parsed.empty and not parsed.phone:
        return false(), False  # only punctuation: nothing can match
    email_prefixes = [Contact.email_key.like(escape_like(raw) + "%", escape="\\") for raw, _ in parsed.emails]
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        return _sqlite_plan(parsed, fts5_query(parsed), email_prefixes)
    if dialect == "postgresql":
        return _pg_condition(parsed, email_prefixes), False
    return _like_condition(parsed, email_prefixes), False


def _sqlite_plan(parsed: Parsed, match: str, email_prefixes=()):
    """(condition, by_hits) on SQLite, the contacts' own hits being those of the FTS5 ``match``."""
    from ..models import Contact

    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_query"
    params = [bindparam("fts_query", match)]
    if parsed.phone:  # ... or the digits are in its phone number
        sql += f" UNION ALL SELECT rowid FROM {PHONE_FTS_TABLE} WHERE {PHONE_FTS_TABLE} MATCH :phone_query"
        params.append(bindparam("phone_query", phone_query(parsed.phone)))
    if parsed.terms and not parsed.emails:
        # ... or all the words are in its organization's name. One id list, so that SQLite
        # still looks the hits up by id (an OR beside it would make it walk the list instead).
        sql += (
            f" UNION ALL SELECT c2.id FROM contacts c2 WHERE c2.organization_id IN "
            f"(SELECT rowid FROM {ORG_FTS_TABLE} WHERE {ORG_FTS_TABLE} MATCH :org_query)"
        )
        params.append(bindparam("org_query", " ".join(_fts_string(t) + "*" for t in parsed.terms)))
    # ... or all in one of its tags' names (core/services/tag_search.py): in the id list when
    # the tag is on few contacts, else probed row by row (side_index.SqlitePlan).
    very_common = functools.partial(_very_common, tops={})
    tag_probe = tag_search.sqlite_plan(parsed.terms, _fts_string, very_common) if (
        parsed.terms and not parsed.emails) else None
    # ... or all in one of its custom text values (core/services/custom_search.py), likewise.
    custom_probe = custom_search.sqlite_plan(parsed.terms, _fts_string, very_common) if (
        parsed.terms and not parsed.emails) else None
    probes = [p for p in (tag_probe, custom_probe) if p is not None]
    for probe in probes:
        if not probe.common:
            sql += probe.sql
            params.extend(probe.params)
    hits = text(sql).bindparams(*params).columns(literal_column("rowid"))
    # Few hits: SQLite reads them from the index, then sorts them. Very many (a first letter):
    # "+ 0" keeps it from looking rows up by id, so it walks the list's sort index instead and
    # stops after one page, checking each row against the hits.
    common = (very_common(match) or bool(parsed.phone) and very_common(phone_query(parsed.phone), PHONE_FTS_TABLE)
              or any(p.common for p in probes))
    id_expr = Contact.id + 0 if common else Contact.id
    condition = or_(id_expr.in_(hits), *(p.probe for p in probes if p.common))
    return and_(condition, *email_prefixes), not common


_PLAIN_WORD = re.compile(r"[a-z0-9]+")


def sorted_legs(q: str):
    """The list sorted by name (SQLite; PostgreSQL: ``_pg_sorted_legs``): the hits as parts that are each cheap to read in sort
    order (a list of ``(condition, by_hits)`` like ``search_plan``'s, whose union is its hits);
    None when ``search_plan`` alone serves.

    The contacts whose sort name ("smith james") starts with the typed words, joined by spaces in
    the typed or the reverse order, are a range of the sort index, and all of them are hits when
    the sort name is plain (PLAIN_SORT_NAME: FTS5 cuts it into exactly its words). The other hits
    are the FTS5 hits minus those (``NOT lead : "ǀsmithǀjames"*``: plain sort names are indexed as
    ``lead`` tokens), plus the organization, tag and custom-value hits as in ``search_plan``. So "Smith"
    reads a page of the range and the few other hits, where the plain plan read and sorted the
    73,000 Smiths of 1M contacts (164 ms); the caller merges the parts' first pages."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql") or not (parts := sorted_parts(q)):
        return None
    starts, rest = parts
    if dialect == "postgresql":
        return _pg_sorted_legs(Parsed(q), starts)
    return [(_sort_range(start), False) for start in starts] + [_sqlite_plan(Parsed(q), rest)]


def _pg_sorted_legs(parsed: Parsed, starts: list[str]):
    """PostgreSQL's ``sorted_legs``: each start's range of the list's sort index
    (``ix_contacts_live_sort_pg``) with the hits' condition checked on its rows (a page reads about
    a page of the index), and the other hits: the full-text ones whose sort name is outside the
    ranges, as ids (the GIN index's hits, the few outside the ranges kept), or the organization,
    tag and custom-value hits as in ``search_plan``. The parts overlap; their union is the hits.
    Only where the sort name's collation is byte order (C): there the range is exactly the names
    that start with ``start``; elsewhere None (``search_plan`` alone serves)."""
    if not _pg_byte_order():
        return None
    from ..models import Contact

    ranges = [and_(Contact.sort_name >= start, Contact.sort_name < range_end(start)) for start in starts]
    hits = _pg_condition(parsed, [])
    tsq = tsquery_string(parsed.terms)
    # In a range the hits' condition is checked on each row of the walk, never read from the GIN
    # index: a coalesce() is no index condition (PostgreSQL drops an "IS TRUE"). Otherwise, for two words ("james smith": 2,230 hits
    # at 200k, as many in the ranges as out), the planner read all the hits and sorted them for
    # each range, and again for the other hits (4,389 buffers and 11 ms where the plain plan
    # read 2,084 buffers in 5 ms); a range's page is about a page of the sort index.
    in_range = _pg_condition(parsed, [], text(
        "coalesce(contacts.search_vector @@ to_tsquery('simple', contacts_search_fold(:tsq_range)), false)"
    ).bindparams(bindparam("tsq_range", tsq)))
    legs = [(and_(sort_range, in_range), False) for sort_range in ranges]
    bounds = [bindparam(f"start_{i}", start) for i, start in enumerate(starts)] + [
        bindparam(f"end_{i}", range_end(start)) for i, start in enumerate(starts)]
    outside = " AND ".join(f"NOT (sort_name >= :start_{i} AND sort_name < :end_{i})" for i in range(len(starts)))
    if _pg_many_others(tsq, outside, bounds):  # dense among the rest: the walk finds a page soon
        return [*legs, (hits, False)]
    others = text(
        "contacts.id = ANY(ARRAY(SELECT c2.id FROM contacts c2 WHERE c2.search_vector @@ "
        f"to_tsquery('simple', contacts_search_fold(:tsq_rest)) AND {outside.replace('sort_name', 'c2.sort_name')}))"
    ).bindparams(bindparam("tsq_rest", tsq), *bounds)
    return [*legs, (_pg_condition(parsed, [], others), False)]


# ``_pg_sorted_legs``: the contacts' own full-text hits outside the ranges are read by id (the GIN
# index's hits, each looked up) when fewer than this share of the contacts, else the other hits are
# found by the walk of the sort index as without ranges (under 100 rows walked per hit on the page).
PG_OTHERS_SHARE = 100
PG_OTHERS_MIN = 1000


def _pg_many_others(tsq: str, outside: str, bounds) -> bool:
    """Whether at least 1/PG_OTHERS_SHARE of the contacts (and PG_OTHERS_MIN) are full-text hits of ``tsq``
    outside the ranges: a bounded count, remembered for a few minutes (it only picks the plan). The
    hits are read from the GIN index (MATERIALIZED: with the LIMIT beside it the planner would
    walk the whole table for a rare term), the count stopping at the cap."""
    key = f"search-others:{PG_OTHERS_SHARE}:{PG_OTHERS_MIN}:" + hashlib.sha1(
        (tsq + outside + repr([b.value for b in bounds])).encode(), usedforsecurity=False).hexdigest()

    def count_reaches() -> bool:
        probe = text(
            "WITH hits AS MATERIALIZED (SELECT sort_name FROM contacts WHERE search_vector @@ "
            "to_tsquery('simple', contacts_search_fold(:tsq_probe))), "
            "cap AS (SELECT greatest(:least, coalesce(max(id), 0) / :share) AS n FROM contacts) "
            f"SELECT (SELECT count(*) FROM (SELECT 1 FROM hits WHERE {outside} LIMIT (SELECT n FROM cap)) AS found) "
            ">= (SELECT n FROM cap)"
        ).bindparams(bindparam("tsq_probe", tsq), bindparam("least", PG_OTHERS_MIN), bindparam("share", PG_OTHERS_SHARE),
                     *bounds)
        return bool(db.session.execute(probe).scalar())

    return cache_keys.plan_choice(key, count_reaches)


@functools.cache
def _pg_collation_is_bytes(url: str) -> bool:
    row = db.session.execute(text(
        "SELECT d.datcollate, to_jsonb(d) ->> 'datlocprovider' FROM pg_database d WHERE d.datname = current_database()"
    )).one()
    collate, provider = row
    return provider in (None, "c") and (collate in ("C", "POSIX") or collate.lower() in ("c.utf-8", "c.utf8"))


def _pg_byte_order() -> bool:
    """Whether contacts.sort_name compares as bytes (the database's default collation is C)."""
    return _pg_collation_is_bytes(str(db.session.get_bind().url))


def sorted_parts(q: str) -> tuple[list[str], str] | None:
    """For ``sorted_legs`` (and the bench's SQL floor): the sort-name starts whose ranges hold
    hits, and the FTS5 MATCH string of the other contact hits; None when the words do not allow."""
    parsed = Parsed(q)
    words = [t.lower() for t in parsed.terms if t.isascii()]  # ASCII: FTS5 folds its case as lower() does
    if parsed.emails or parsed.phone or not words or len(words) < len(parsed.terms) or not all(
            _PLAIN_WORD.fullmatch(w) for w in words):
        return None
    starts = list(dict.fromkeys((" ".join(words), " ".join(reversed(words)))))
    leads = " OR ".join(f"lead : {_fts_string(LEAD_MARK + start.replace(' ', LEAD_MARK))}*" for start in starts)
    return starts, f"({fts5_query(parsed)}) NOT ({leads})"


def range_end(start: str) -> str:
    """The first string after every string that starts with ``start`` (plain: [a-z0-9 ])."""
    return start[:-1] + chr(ord(start[-1]) + 1)


def _sort_range(start: str):
    """Contacts whose plain sort name starts with ``start`` (a range of the sort index)."""
    from ..models import Contact

    return and_(Contact.sort_name >= start, Contact.sort_name < range_end(start),
                text(PLAIN_SORT_NAME.format(x="contacts.sort_name")))


def _pg_condition(parsed: Parsed, email_prefixes, own_hits=None):
    """The WHERE clause on PostgreSQL; ``own_hits``: instead of the full-text match on the contact's
    own words (``_pg_sorted_legs``)."""
    words = parsed.terms + [w for _raw, ws in parsed.emails for w in ws]
    words_cond = None
    if words:
        tsq = tsquery_string(words)
        words_cond = own_hits if own_hits is not None else text(
            "contacts.search_vector @@ to_tsquery('simple', contacts_search_fold(:tsq))"
        ).bindparams(bindparam("tsq", tsq))
        if parsed.emails:
            words_cond = and_(words_cond, *email_prefixes)
        else:  # or all the words in its organization's name (= ANY(ARRAY(...)): an index condition)
            orgs = text(
                "contacts.organization_id = ANY(ARRAY(SELECT o.id FROM organizations o WHERE "
                "contacts_search_org_vector(o.name) @@ to_tsquery('simple', contacts_search_fold(:tsq_org))))"
            ).bindparams(bindparam("tsq_org", tsq))
            # ... or in a tag's name, or in a custom value: ids when few contacts have them, else an
            # EXISTS per row of the walk (_count_very_common)
            tags = tag_search.postgresql_condition(tsq, common=_very_common(tsq, tag_search.PG_INDEX))
            custom = custom_search.postgresql_condition(tsq, common=_very_common(tsq, custom_search.PG_INDEX))
            words_cond = or_(words_cond, orgs, tags, custom)
    elif not parsed.empty:
        words_cond = false()
    if parsed.phone:
        phone = text("contacts.search_phone @@ to_tsquery('simple', :tsq_phone)").bindparams(
            bindparam("tsq_phone", _tsquery_term(parsed.phone))
        )
        return or_(phone, words_cond) if words_cond is not None else phone
    return words_cond


def _like_condition(parsed: Parsed, email_prefixes):
    """Other databases: a scan, correct but slow (no index)."""
    from ..models import Contact

    conds = [
        or_(
            Contact.first_name.ilike(escape_like(t) + "%", escape="\\"),
            Contact.last_name.ilike(escape_like(t) + "%", escape="\\"),
            Contact.email_key.like("%" + escape_like(t.lower()) + "%", escape="\\"),
        )
        for t in parsed.terms
    ]
    cond = and_(true(), *conds, *email_prefixes)
    if parsed.phone:
        cond = or_(Contact.phone.like("%" + parsed.phone + "%"), cond)
    return cond
