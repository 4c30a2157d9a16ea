"""The filter builder's text conditions that the search index serves instead of a LIKE scan.

- Name / email "has words starting with" (``name.words.gra hop``): every word of the value
  (runs of letters and digits) starts a word of the contact's name (first and last) or of its
  email address (split at ``@``, dots and other punctuation), in any order, case and accents
  ignored: what the search box does, limited to one column. A ``LIKE '%x%'`` read every row at a
  million contacts; a substring inside a word ("ove" in Lovelace) is therefore not what this
  operator finds, and its label says so. Old links with ``contains`` on these fields are read as
  this operator (``filters._split``).
- Phone "contains" digits: the phone index matches 3+ consecutive digits anywhere in the number
  (SQLite: trigrams, search.PHONE_FTS_TABLE; PostgreSQL: every suffix of 3+ digits). Fewer than 3
  digits fall back to the LIKE scan (such a condition matches most numbers anyway).

SQLite: the FTS5 table ``contacts_fts`` with a column filter (``name : "gra"* "hop"*``; the phone:
``contacts_phone_fts``, search.phone_query). Unless the
words are very common (search._very_common), the list reads the hits by id and sorts them
(``by_hits``, as the search box does); for very common ones SQLite walks the list's sort index and
stops after a page, checking each row with GLOB (ASCII text) or FTS5 for that row alone (``_probed``),
or against all the hits (``id + 0 IN``) when a word is not ASCII or is a single letter. PostgreSQL: the GIN-indexed ``search_vector`` (names
and email together) finds the candidates, and a regular expression on the folded column keeps
only the contacts where each word starts a word of that column; the phone uses ``search_phone``.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import String, and_, bindparam, func, literal, literal_column, or_, text

from ..errors import ValidationError
from ..extensions import db
from ..models import Contact
from . import search
from .records import escape_like

FTS_COLUMNS = {"name": "name", "email": "email"}
MIN_PHONE_DIGITS = 3
WORD_START = "(^|[^[:alnum:]])"  # PostgreSQL: the start of the text or after a non-letter, non-digit
NOT_ASCII = "*[^ -~]*"  # SQLite GLOB: a text with a character outside printable ASCII
MIN_PROBED = 2  # letters of a word that _probed checks row by row (FTS5's shortest prefix index)


def _param(kind: str, value: str) -> str:
    """A bind name per value: several conditions in one filter must not share one."""
    return "wf_" + kind + "_" + hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:12]


def _pg_folded(field: str):
    if field == "name":
        return func.contacts_search_fold(Contact.first_name + " " + Contact.last_name)
    return func.contacts_search_fold(func.coalesce(Contact.email, ""))


def _match(field: str, terms: list[str]) -> str:
    if field == "phone":
        return search.phone_query(terms[0])
    return " ".join(f"{FTS_COLUMNS[field]} : {search._fts_string(t)}*" for t in terms)


def _table(field: str) -> str:
    return search.PHONE_FTS_TABLE if field == "phone" else search.FTS_TABLE


def _sqlite_column(field: str):
    """The contact's text that FTS5 indexes as ``field`` (search._sqlite_columns)."""
    if field == "name":
        return Contact.first_name + " " + Contact.last_name
    return func.coalesce(Contact.email if field == "email" else Contact.phone, "")


def _glob(expr, pattern: str):
    return expr.op("GLOB", is_comparison=True)(pattern)


def _probed(field: str, terms: list[str], match: str, name: str):
    """A very common condition checked on each row of the list's sort index, which stops after a
    page, rather than against all its hits (reading "gmail"'s 178,000 cost 15-20 ms at 1M). A text
    in printable ASCII is checked by GLOB (each word at the start or after a character that is not
    a letter or digit: where FTS5's unicode61 starts a token); any other text by FTS5 for that row
    alone (it folds accents)."""
    column = _sqlite_column(field)
    folded = func.lower(column)
    if field == "phone":  # the index finds any run of the digits
        starts = and_(*(_glob(column, f"*{t}*") for t in terms))
    else:
        starts = and_(*(or_(_glob(folded, f"{t.lower()}*"), _glob(folded, f"*[^a-z0-9]{t.lower()}*")) for t in terms))
    table = _table(field)
    probe = text(
        f"EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH :{name} AND rowid = contacts.id)"
    ).bindparams(bindparam(name, match))
    other = _glob(column, NOT_ASCII)
    return or_(and_(~other, starts), and_(other, probe))


_ALL_HITS = ContextVar("word_filters_all_hits", default=False)


@contextmanager
def all_hits():
    """Conditions built within check very common words against all their hits, not row by row:
    for the lazy count, which reads up to 1,001 matches rather than a page (at 1M contacts
    "gmail" 22 ms that way, 37 row by row; the page 22 and 6)."""
    token = _ALL_HITS.set(True)
    try:
        yield
    finally:
        _ALL_HITS.reset(token)


def _sqlite(field: str, terms: list[str]):
    match = _match(field, terms)
    name = _param("fts", match)
    table = _table(field)
    very_common = search._very_common(match, table)
    # Each word in ASCII (GLOB knows no accents, FTS5 folds them) and of 2+ letters: FTS5 has no
    # index of 1-letter prefixes, and would merge every word so begun for each row it checks.
    if very_common and not _ALL_HITS.get() and all(t.isascii() and len(t) >= MIN_PROBED for t in terms):
        return _probed(field, terms, match, name)
    hits = text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{name}").bindparams(
        bindparam(name, match)).columns(literal_column("rowid"))
    id_expr = Contact.id + 0 if very_common else Contact.id
    return id_expr.in_(hits)


def _terms(field: str, op: str, value: str) -> list[str] | None:
    """The index terms of a condition this module serves, else None."""
    if op == "words" and field in ("name", "email"):
        return search._words(value)[: search.MAX_TERMS] or None
    if op == "contains" and field == "phone":
        digits = "".join(ch for ch in value if ch.isdigit() and ch.isascii())
        return [digits] if len(digits) >= MIN_PHONE_DIGITS else None
    return None


def by_hits(field: str, op: str, value: str) -> bool:
    """Whether the list should read this condition's hits by id and sort them (SQLite, not very
    common: see search.unindexed_deleted_at) rather than walk its sort index checking each row
    against them: 0.05 ms instead of 260 ms for a rare name at 1M contacts."""
    terms = _terms(field, op, value)
    if terms is None or db.session.get_bind().dialect.name != "sqlite":
        return False
    return not search._very_common(_match(field, terms), _table(field))


def words_condition(field: str, value: str):
    """``field`` (name or email) has words starting with each word of ``value``."""
    terms = search._words(value)[: search.MAX_TERMS]
    if not terms:
        raise ValidationError({field: "Give a word (letters or digits)."})
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        return _sqlite(field, terms)
    if dialect == "postgresql":
        tsq = search.tsquery_string(terms)
        name = _param("tsq", tsq)
        candidates = text(f"contacts.search_vector @@ to_tsquery('simple', contacts_search_fold(:{name}))").bindparams(
            bindparam(name, tsq))
        folded = _pg_folded(field)
        starts = [folded.op("~")((literal(WORD_START, String) + func.contacts_search_fold(
            bindparam(_param("word", t), t), type_=String)).self_group()) for t in terms]  # letters, digits only
        return and_(candidates, *starts)
    column = Contact.sort_name if field == "name" else Contact.email_key  # other databases: a scan
    return and_(*(column.like("%" + escape_like(t.lower()) + "%", escape="\\") for t in terms))


def phone_contains(digits: str):
    """The phone number holds these consecutive digits."""
    if len(digits) < MIN_PHONE_DIGITS:
        return Contact.phone.like("%" + digits + "%")
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        return _sqlite("phone", [digits])
    if dialect == "postgresql":
        name = _param("phone", digits)
        return text(f"contacts.search_phone @@ to_tsquery('simple', :{name})").bindparams(
            bindparam(name, search._tsquery_term(digits)))
    return Contact.phone.like("%" + digits + "%")
