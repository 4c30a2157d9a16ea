"""Search also finds contacts by their custom text values (text, long text, web address, choices):
word prefixes, all words in one value; the index follows every change in the same transaction;
values of archived fields are not found."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import text

from core.extensions import db
from core.models import Contact, User
from core.services import contacts as service
from core.services import custom_fields as cf
from core.services import custom_search, search
from tests import factories
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures


def define(admin, key, kind, **extra):
    return cf.create_field(admin, {"key": key, "label": key.replace("_", " ").title(), "kind": kind, **extra})


@pytest.fixture
def people(ctx, admin, member, team):
    define(admin, "nickname", "text")
    define(admin, "bio", "long_text")
    define(admin, "size", "number")
    define(admin, "tier", "choice", choices="Gold partner\nSilver")
    define(admin, "topics", "multi_choice", choices=["Golf", "Chess club", "Jazz"])
    define(admin, "site", "url")
    t = db.session.merge(team)
    factories.contact(t, "Ada", "Lovelace")
    factories.contact(t, "Grace", "Hopper")
    factories.contact(t, "Alan", "Turing")
    made = {c.first_name: c.id for c in db.session.scalars(db.select(Contact))}
    actor = _u(member)
    service.update_contact(actor, made["Ada"], {"custom_fields": {
        "nickname": "Countess of Lovelace", "bio": "Wrote the first published algorithm for the Analytical Engine.",
        "size": 42, "tier": "Gold partner", "topics": ["Chess club", "Jazz"], "site": "https://analytical.example/ada",
    }}, None)
    service.update_contact(actor, made["Grace"], {"custom_fields": {"nickname": "Amazing Grace", "tier": "Silver"}},
                           None)
    return made


def _u(user):
    return db.session.get(User, user.id)


def _names(member, q):
    return sorted(c.first_name for c in service.list_contacts(_u(member), q=q).items)


def _check_index():
    if db.session.get_bind().dialect.name == "sqlite":
        t = custom_search.FTS_TABLE
        db.session.execute(text(f"INSERT INTO {t}({t}, rank) VALUES ('integrity-check', 1)"))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("countess", ["Ada"]),  # text
        ("COUNT", ["Ada"]),  # a prefix, any case
        ("analyt", ["Ada"]),  # long text and web address
        ("algorithm engine", ["Ada"]),  # several words, any order, in one value
        ("published first", ["Ada"]),
        ("gold", ["Ada"]),  # choice
        ("gold part", ["Ada"]),
        ("silver", ["Grace"]),
        ("chess", ["Ada"]),  # multi choice, one row per option
        ("chess club", ["Ada"]),
        ("jazz", ["Ada"]),
        ("amazing", ["Grace"]),
        ("grace", ["Grace"]),  # the name, and her nickname: found once
        ("42", []),  # numbers are not text
        ("ountess", []),  # a prefix of a word, not any substring
        ("countess jazz", []),  # words in two different values
        ("ada countess", []),  # one in the name, one in a value
        ("turing", ["Alan"]),
        ("golf", []),  # an option nobody chose
        ('"countess" OR *', []),  # no syntax
    ],
)
def test_search_finds_custom_values(people, member, q, expected):
    assert _names(member, q) == expected


def test_the_index_follows_edits_and_clears_in_the_same_transaction(people, member):
    actor = _u(member)
    service.update_contact(actor, people["Alan"], {"custom_fields": {"nickname": "Enigma breaker"}}, None)
    assert _names(member, "enigma") == ["Alan"]
    service.update_contact(actor, people["Alan"], {"custom_fields": {"nickname": "Bombe builder"}}, None)
    assert _names(member, "enigma") == []
    assert _names(member, "bombe build") == ["Alan"]
    service.update_contact(actor, people["Ada"], {"custom_fields": {"topics": ["Golf"], "bio": ""}}, None)
    assert _names(member, "chess") == [] and _names(member, "engine") == []
    assert _names(member, "golf") == ["Ada"]
    service.update_contact(actor, people["Alan"], {"custom_fields": {"nickname": None}}, None)
    assert _names(member, "bombe") == []
    _check_index()

    # Uncommitted: the search sees the new value in the same transaction, and a rollback takes it away.
    contact = db.session.get(Contact, people["Alan"])
    cf.write_values(contact, {cf.by_key()["nickname"]: "Codebreaker"})
    assert _names(member, "codebr") == ["Alan"]
    db.session.rollback()
    assert _names(member, "codebr") == []
    _check_index()

    service.delete_contact(actor, people["Ada"])
    assert _names(member, "countess") == []
    service.restore_contact(actor, people["Ada"])
    assert _names(member, "countess") == ["Ada"]
    db.session.delete(db.session.get(Contact, people["Ada"]))  # a hard delete cascades to the values
    db.session.commit()
    assert _names(member, "countess") == []
    _check_index()


def test_values_of_archived_fields_are_not_found(people, admin, member):
    field = cf.by_key()["nickname"]
    cf.update_field(admin, field.id, {"archived": True})
    assert _names(member, "countess") == []
    assert _names(member, "gold") == ["Ada"]
    cf.update_field(admin, field.id, {"archived": False})
    assert _names(member, "countess") == ["Ada"]


def test_others_teams_contacts_stay_hidden(people, member, outsider):
    assert _names(outsider, "countess") == []


def test_a_value_on_very_many_contacts_is_probed_row_by_row(people, member, team, monkeypatch):
    """SQLite: when the matching values are on at least a tenth of the contacts (PostgreSQL: on
    PG_COMMON_HITS), the query walks the sort index and probes each contact's values instead of
    building the id list; same answer, page after page."""
    t = db.session.merge(team)
    actor = _u(member)
    for first in ("Mia", "Max", "Mo"):
        c = factories.contact(t, first, "Moss")
        service.update_contact(actor, c.id, {"custom_fields": {"tier": "Silver"}}, None)
    answers = {}
    for common in (10**9, 2):
        monkeypatch.setattr(search, "COMMON_HITS", common)
        monkeypatch.setattr(search, "PG_COMMON_HITS", common)
        if db.session.get_bind().dialect.name == "postgresql":  # an id list, or an EXISTS per row of the walk
            sql = str(search.search_condition("silv").compile(db.session.get_bind()))
            assert ("EXISTS (SELECT 1 FROM custom_field_values" in sql) is (common == 2), sql
        seen, cursor = [], None
        while True:
            page = service.list_contacts(actor, q="silv", limit=2, cursor=cursor)
            seen += [c.full_name for c in page.items]
            if not (cursor := page.next_cursor):
                break
        answers[common] = seen
    assert answers[2] == answers[10**9] == ["Grace Hopper", "Max Moss", "Mia Moss", "Mo Moss"]
    if db.session.get_bind().dialect.name == "sqlite":
        assert search._count_very_common('"silv"*', custom_search.FTS_TABLE)
        assert not search._count_very_common('"countess"*', custom_search.FTS_TABLE)
    else:
        assert search._count_very_common("'silv':*", custom_search.PG_INDEX)
        assert not search._count_very_common("'countess':*", custom_search.PG_INDEX)


def test_rebuilding_the_index_gives_the_same_answers(people, member):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's FTS table; PostgreSQL's index is maintained by the database")
    t = custom_search.FTS_TABLE
    db.session.execute(text(f"INSERT INTO {t}({t}) VALUES ('rebuild')"))
    db.session.commit()
    assert _names(member, "countess") == ["Ada"] and _names(member, "42") == []
    _check_index()


def test_the_migration_indexes_existing_values(make_app):  # noqa: F811
    app = make_app([])
    with app.app_context():
        flask_migrate.upgrade(revision="core_0010")
        t = "2026-01-01 00:00:00"
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'T', :t, :t)"), {"t": t})
            conn.execute(text(
                "INSERT INTO contacts (id, first_name, last_name, sort_name, email_key, phone, type, status, "
                "owner_team_id, version, created_at, updated_at) VALUES (1, 'Ada', 'L', 'l ada', '', '', 'person', 'active', 1, 1, :t, :t)"
            ), {"t": t})
            conn.execute(text(
                "INSERT INTO custom_fields (id, key, label, kind, required, choices, position, archived, created_at, "
                "updated_at) VALUES (1, 'bio', 'Bio', 'long_text', :f, '[]', 1, :f, :t, :t)"
            ), {"t": t, "f": False})
            conn.execute(text("INSERT INTO custom_field_values (field_id, contact_id, value_long) "
                              "VALUES (1, 1, 'Née Byron, mathematician')"))
        flask_migrate.upgrade(revision="heads")
        with app.test_request_context():
            for q, expected in (("nee byr", [1]), ("mathem", [1]), ("lovelace", [])):
                assert db.session.scalars(db.select(Contact.id).where(search.search_condition(q))).all() == expected
            _check_index()
            db.session.remove()
        flask_migrate.downgrade(revision="core_0010")
        with db.engine.connect() as conn:
            left = conn.execute(text(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE 'custom_values%'"
                if db.engine.dialect.name == "sqlite" else
                "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :n"
            ), {"n": custom_search.PG_INDEX}).scalar()
        assert left == 0
