"""Property tests of the search: no input breaks it (SQLite FTS5 syntax, tsquery syntax, control
characters, very long text), and plain words find exactly what a straightforward model of the
index says they should."""

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.extensions import db
from core.models import User
from core.services import contacts as service
from tests import factories
from tests.core.test_api_contacts import make_token

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SYNTAX = [
    '"', "'", "*", "^", ":", "(", ")", "{", "}", "[", "]", "NEAR", "NEAR(", "AND", "OR", "NOT", "and", "or", "not",
    "&", "|", "!", "<->", "<2>", ":*", ":A", "\\", "@", "+", "-", "%", "_", ",", ".", " ", "  ", "\t", "\n", "\x00",
    "name", "email", "phone", "org", "rank", "rowid", "contacts_fts", "grace", "gr", "hop", "é", "É", "ß", "ﬁ", "ı",
    "415", "1", "0", "+1", "😀", "\u0301", "\u200b", "\ufeff", "ſ", "²", "Ⅻ", "中文", "أحمد",
]

PEOPLE = [
    ("Grace", "Hopper", "grace@navy.example", "+14155550123"),
    ("Ada", "Lovelace", "ada.king@example.org", ""),
    ("José", "Álvarez", None, "+390612345678"),
    ("Zoë", "O'Brien-Smith", "zoe@mail.example", "+442079460958"),
    ("Grace", "Kelly", None, ""),
    ("Åsa", "Grönlund", "asa@x.example", "+46701234567"),
]


@pytest.fixture
def indexed(app, team):
    with app.app_context():
        t = db.session.merge(team)
        for first, last, email, phone in PEOPLE:
            factories.contact(t, first, last, email=email, phone=phone)


@pytest.fixture
def api_token(app, member, indexed):
    return make_token(app, member)  # one for all the examples of a test


def _search(member, q):
    actor = db.session.get(User, member.id)
    return sorted(c.full_name for c in service.list_contacts(actor, q=q, limit=200).items)


@FUZZ
@given(q=st.text(max_size=300))
def test_any_text_is_a_valid_search(ctx, member, indexed, q):
    _search(member, q)  # no exception: no 500


@FUZZ
@given(q=st.lists(st.sampled_from(SYNTAX), max_size=25).map("".join))
def test_match_syntax_is_a_valid_search(ctx, member, indexed, q):
    _search(member, q)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.lists(st.sampled_from(SYNTAX), max_size=20).map("".join))
def test_search_over_http_never_fails(app, member_client, api_token, q):
    assert member_client.get("/", query_string={"q": q}).status_code == 200
    response = app.test_client().get(
        "/api/v1/contacts", query_string={"q": q}, headers={"Authorization": f"Bearer {api_token}"}
    )
    body = response.get_data(as_text=True)
    # The API refuses a NUL character in a query parameter, naming it; nothing else fails.
    assert response.status_code == 200 or (response.status_code == 422 and "\x00" in q and '"q"' in body), body


# --- the model: what the index holds, and what a query of plain words must find --------------------

_WORD = re.compile(r"[^\W_]+")


def _fold(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", s.lower()) if not unicodedata.combining(ch))


def _tokens(first, last, email) -> set[str]:
    return set(_WORD.findall(_fold(f"{first} {last} {email or ''}")))


def _phone_tokens(phone) -> set[str]:
    digits = phone.lstrip("+")
    return {digits[k:] for k in range(len(digits) - 2)}  # every suffix of 3+ digits


def _expected(q: str) -> list[str]:
    terms = _WORD.findall(_fold(q))
    digits = "".join(ch for ch in q if ch.isdigit())
    phone_query = len(digits) >= 3 and re.fullmatch(r"[\d\s+().\-/]+", q.strip()) is not None
    found = []
    for first, last, email, phone in PEOPLE:
        tokens = _tokens(first, last, email)
        by_words = bool(terms) and all(any(tok.startswith(t) for tok in tokens) for t in terms)
        by_phone = phone_query and any(tok.startswith(digits) for tok in _phone_tokens(phone))
        if by_words or by_phone:
            found.append(f"{first} {last}")
    return sorted(found)


PIECES = ["gr", "grace", "hop", "ada", "king", "jos", "jose", "José", "ALV", "zo", "zoë", "o", "brien", "smith",
          "kel", "asa", "åsa", "gron", "grön", "navy", "example", "org", "mail", "x", "415", "4155", "1415", "0612",
          "2079", "4670", "44", "+1", "555"]
SEPARATORS = [" ", "  ", "-", "'", ".", ", ", " (", ") "]


@FUZZ
@given(parts=st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), min_size=1, max_size=4))
def test_words_find_what_the_model_says(ctx, member, indexed, parts):
    q = "".join(word + sep for word, sep in parts)
    assert _search(member, q) == _expected(q), q
