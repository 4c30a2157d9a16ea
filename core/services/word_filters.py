"""The filter builder's text conditions that the search index serves instead of a LIKE scan.

- Name / email "has words starting with" (``name.words.gra hop``): every word of the value
  (runs of letters and digits) starts a word of the contact's name (first and last) or of its
  email address (split at ``@``, dots and other punctuation), in any order, case and accents
  ignored: what the search box does, limited to one column. A ``LIKE '%x%'`` read every row at a
  million contacts; a substring inside a word ("ove" in Lovelace) is therefore not what this
  operator finds, and its label says so. Old links with ``contains`` on these fields are read as
  this operator (``filters._split``).
- Phone "contains" digits: the index holds every suffix of 3+ digits of the number
  (search._phone_sql), so "contains 7946" is exactly "a suffix starts with 7946". Fewer than 3
  digits fall back to the LIKE scan (such a condition matches most numbers anyway).

SQLite: the FTS5 table ``contacts_fts`` with a column filter (``name : "gra"* "hop"*``). Unless the
words are very common (search._very_common), the list reads the hits by id and sorts them
(``by_hits``, as the search box does); for very common ones SQLite walks the list's sort index and
stops after a page, checking each row with a LIKE and FTS5 for that row alone (``_probed``), or
against all the hits (``id + 0 IN``) when a word is not ASCII or is a single letter. PostgreSQL: the GIN-indexed ``search_vector`` (names
and email together) finds the candidates, and a regular expression on the folded column keeps
only the contacts where each word starts a word of that column; the phone uses ``search_phone``.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import String, and_, bindparam, func, literal, literal_column, or_, text

from ..errors import ValidationError
from ..extensions import db
from ..models import Contact
from . import search
from .records import escape_like

FTS_COLUMNS = {"name": "name", "email": "email", "phone": "phone"}
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
    return " ".join(f"{FTS_COLUMNS[field]} : {search._fts_string(t)}*" for t in terms)


def _sqlite_column(field: str):
    """The contact's text that FTS5 indexes as ``field`` (search._sqlite_columns)."""
    if field == "name":
        return Contact.first_name + " " + Contact.last_name
    return func.coalesce(Contact.email if field == "email" else Contact.phone, "")


def _probed(field: str, terms: list[str], match: str, name: str):
    """A very common condition checked on each row of the list's sort index, which stops after a
    page: a cheap ``LIKE '%word%'`` first (a word that starts a word of an ASCII text is in it; a
    text with any other character is not judged by it), then FTS5 for that row alone. Reading all
    the hits instead ("gmail": 178,000) to check the rows against them cost 15-40 ms at 1M."""
    column = _sqlite_column(field)
    likely = and_(*(column.like("%" + escape_like(t) + "%", escape="\\") for t in terms))
    probe = text(
        f"EXISTS (SELECT 1 FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH :{name} AND rowid = contacts.id)"
    ).bindparams(bindparam(name, match))
    return and_(or_(likely, column.op("GLOB")(NOT_ASCII)), probe)


def _sqlite(field: str, terms: list[str]):
    match = _match(field, terms)
    name = _param("fts", match)
    very_common = search._very_common(match)
    # The probe needs each word in ASCII (LIKE folds ASCII case only, FTS5 also accents) and of 2+
    # letters: FTS5 has no index of 1-letter prefixes, and would merge every word so begun per row.
    if very_common and all(t.isascii() and len(t) >= MIN_PROBED for t in terms):
        return _probed(field, terms, match, name)
    hits = text(f"SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH :{name}").bindparams(
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
    return not search._very_common(_match(field, terms))


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
