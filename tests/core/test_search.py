"""Search as you type: prefixes of names in either order, email, phone digits, organization name;
the full-text index stays in step with every change; what the user types is never syntax."""

import flask_migrate
import pytest
from sqlalchemy import text

from core.extensions import db
from core.models import Contact, Organization, User
from core.services import contacts as service
from core.services import organizations as org_service
from core.services import search
from tests import factories
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures


@pytest.fixture
def people(app, team):
    with app.app_context():
        t = db.session.merge(team)
        navy = factories.organization(t, "Navy Research Lab")
        factories.contact(
            t, "Grace", "Hopper", email="grace@navy.example", phone="+14155550123", organization_id=navy.id
        )
        factories.contact(t, "Ada", "Lovelace", email="ada@example.org")
        factories.contact(t, "Grace", "Kelly")
        factories.contact(t, "Ada_x", "100%")
        factories.contact(t, "José", "Álvarez", email="jose.alvarez@correo.example", phone="+390612345678")
        factories.contact(t, "Zoë", "O'Brien-Smith")
        factories.contact(t, "", "", email="OR@and.example")


def _names(member, q, **kw):
    actor = db.session.get(User, member.id)
    return sorted(c.full_name for c in service.list_contacts(actor, q=q, **kw).items)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("hop", ["Grace Hopper"]),
        ("Grace", ["Grace Hopper", "Grace Kelly"]),
        ("grace hop", ["Grace Hopper"]),
        ("hopper grace", ["Grace Hopper"]),
        ("gr ke", ["Grace Kelly"]),
        ("ada@", ["Ada Lovelace"]),
        ("415555", ["Grace Hopper"]),
        ("100%", ["Ada_x 100%"]),
        ("1_0", []),
        ("zzz", []),
        # diacritics, both ways
        ("jose", ["José Álvarez"]),
        ("JOSÉ alv", ["José Álvarez"]),
        ("álvarez", ["José Álvarez"]),
        ("zoe", ["Zoë O'Brien-Smith"]),
        # punctuation inside names separates words
        ("o'brien", ["Zoë O'Brien-Smith"]),
        ("brien", ["Zoë O'Brien-Smith"]),
        ("smith zo", ["Zoë O'Brien-Smith"]),
        ("obrien", []),
        # email: its words, and a word with "@" is a prefix of the address
        ("navy.example", ["Grace Hopper"]),
        ("correo", ["José Álvarez"]),
        ("example", ["Ada Lovelace", "Grace Hopper", "José Álvarez", "OR@and.example"]),
        ("ada@example.org", ["Ada Lovelace"]),
        ("ada@exa", ["Ada Lovelace"]),
        ("ADA@EXA", ["Ada Lovelace"]),
        ("ada@navy", []),
        ("@navy", []),
        ("jose.alvarez@", ["José Álvarez"]),
        # phone: any 3+ consecutive digits of the E.164 number, typed with punctuation or not
        ("+1 415 555", ["Grace Hopper"]),
        ("(415) 555-01", ["Grace Hopper"]),
        ("14155550123", ["Grace Hopper"]),
        ("+14155550123", ["Grace Hopper"]),
        ("0612", ["José Álvarez"]),
        ("+39 06 1234", ["José Álvarez"]),
        ("4155551", []),
        ("5550123", ["Grace Hopper"]),
        ("0123", ["Grace Hopper"]),
        ("555 0123", ["Grace Hopper"]),
        ("123", ["Grace Hopper", "José Álvarez"]),
        ("grace 415", []),  # digits among words are not looked for in phone numbers
        ("12345678", ["José Álvarez"]),
        # organization name
        ("research", ["Grace Hopper"]),
        ("navy lab", ["Grace Hopper"]),
        # prefix means the start of a word
        ("race", []),
        ("ovelace", []),
    ],
)
def test_search(ctx, member, people, q, expected):
    assert _names(member, q) == expected


def test_words_are_all_in_the_contact_or_all_in_its_organization(ctx, member, people):
    assert _names(member, "navy research") == ["Grace Hopper"]
    assert _names(member, "grace hopper") == ["Grace Hopper"]
    assert _names(member, "grace navy") == ["Grace Hopper"]  # both in the contact: "navy" is in her email
    assert _names(member, "hopper research") == []  # one in each: the organization has its own index


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # Nothing the user types is match syntax: operators, column filters, NEAR, quotes, stars.
        ("grace OR kelly", []),
        ("grace AND hopper", []),
        ("NOT kelly", []),
        ("grace NOT kelly", []),
        ("NEAR(grace hopper)", []),
        ("NEAR(grace hopper, 2)", []),
        ("name:grace", []),
        ("email : grace", []),
        ("{name email}: grace", []),
        ("grace -kelly", ["Grace Kelly"]),
        ('"grace', ["Grace Hopper", "Grace Kelly"]),
        ('grace"', ["Grace Hopper", "Grace Kelly"]),
        ('"grace hopper"', ["Grace Hopper"]),
        ("^grace", ["Grace Hopper", "Grace Kelly"]),
        ("gra*", ["Grace Hopper", "Grace Kelly"]),
        ("(grace", ["Grace Hopper", "Grace Kelly"]),
        ("grace)", ["Grace Hopper", "Grace Kelly"]),
        ("hop & !kelly", []),
        ("hop | kelly", []),
        ("grace:*", ["Grace Hopper", "Grace Kelly"]),
        ("grace:* & hop", ["Grace Hopper"]),
        ("'grace'", ["Grace Hopper", "Grace Kelly"]),
        ("gr\\ace", []),
        ("grace\x00hopper", ["Grace Hopper"]),
        ("or", ["Ada Lovelace", "OR@and.example"]),  # "org" in ada@example.org
        ("and", ["OR@and.example"]),
        ("OR@", ["OR@and.example"]),
        ("OR@AND", ["OR@and.example"]),
    ],
)
def test_syntax_is_never_interpreted(ctx, member, people, q, expected):
    assert _names(member, q) == expected


@pytest.mark.parametrize("q", ["!!!", "@", "'", '"', "*", "-", "()", "^", ":", "%", "_", "\\", "+", "@@@", "  ", "…"])
def test_punctuation_only_finds_nothing(ctx, member, people, q):
    expected = ["Ada Lovelace", "Ada_x 100%", "Grace Hopper", "Grace Kelly", "José Álvarez", "OR@and.example",
                "Zoë O'Brien-Smith"]
    assert _names(member, q) == (expected if not q.strip() else [])


def test_very_long_input(ctx, member, people):
    assert _names(member, "grace " * 5000) == ["Grace Hopper", "Grace Kelly"]
    assert _names(member, "x" * 100_000) == []
    assert _names(member, "a@" * 10_000) == []
    assert _names(member, "1" * 5000) == []
    assert _names(member, "\"(*:^" * 5000) == []


def test_search_pages_in_sort_order(ctx, member, team):
    t = db.session.merge(team)
    for first in ("Eve", "Bob", "Dan", "Cat", "Amy"):
        factories.contact(t, first, "Smith")
    factories.contact(t, "Smith", "Zeta")
    factories.contact(t, "Other", "Person")
    actor = db.session.get(User, member.id)
    seen, cursor = [], None
    while True:
        page = service.list_contacts(actor, q="smi", limit=2, cursor=cursor)
        seen += [c.full_name for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == ["Amy Smith", "Bob Smith", "Cat Smith", "Dan Smith", "Eve Smith", "Smith Zeta"]
    backwards = service.list_contacts(actor, q="smith", sort="-name", limit=3)
    assert [c.full_name for c in backwards.items] == ["Smith Zeta", "Eve Smith", "Dan Smith"]


def _check_index():
    """SQLite: FTS5's own consistency check of the external-content index against its source."""
    if db.session.get_bind().dialect.name == "sqlite":
        for table in ("contacts_fts", "contacts_phone_fts", "organizations_fts"):
            db.session.execute(text(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"))


def test_index_follows_every_change(ctx, member, team, people):
    actor = db.session.get(User, member.id)
    grace = db.session.scalars(db.select(Contact).filter_by(last_name="Hopper")).one()
    service.update_contact(
        actor, grace.id, {"last_name": "Murray", "email": "gm@fleet.example", "phone": "+442079460958"}, None
    )
    assert _names(member, "hopper") == []
    assert _names(member, "murray") == ["Grace Murray"]
    assert _names(member, "fleet") == ["Grace Murray"]
    assert _names(member, "grace@") == []
    assert _names(member, "415555") == []
    assert _names(member, "2079") == ["Grace Murray"]
    assert _names(member, "+44 20 79") == ["Grace Murray"]
    _check_index()

    org = db.session.get(Organization, grace.organization_id)
    org_service.update_organization(actor, org.id, {"name": "Harvard Computation Lab"}, None)
    assert _names(member, "navy") == []
    assert _names(member, "harvard") == ["Grace Murray"]
    _check_index()

    other = org_service.create_organization(actor, {"name": "Eckert Mauchly", "owner_team_id": team.id})
    service.update_contact(actor, grace.id, {"organization_id": other.id}, None)
    assert _names(member, "harvard") == []
    assert _names(member, "mauchly") == ["Grace Murray"]
    service.update_contact(actor, grace.id, {"organization_id": None}, None)
    assert _names(member, "mauchly") == []
    _check_index()

    created = service.create_contact(actor, {"first_name": "Katherine", "last_name": "Johnson", "owner_team_id": team.id})
    assert _names(member, "kath") == ["Katherine Johnson"]
    service.delete_contact(actor, created.id)
    assert _names(member, "kath") == []
    assert _names(member, "kath", deleted=True) == ["Katherine Johnson"]
    service.restore_contact(actor, created.id)
    assert _names(member, "kath") == ["Katherine Johnson"]

    db.session.delete(db.session.get(Contact, created.id))  # a hard delete (the trash being emptied)
    db.session.commit()
    assert _names(member, "kath", deleted=True) == [] and _names(member, "kath") == []
    _check_index()


def test_a_contact_without_a_phone_has_no_row_in_the_phone_index(ctx, member, team):
    """SQLite: an empty phone holds no term, but an index row for it was counted all the same (FTS5
    rewrote the index's totals: a page of the log each create without a phone). Creating such a
    contact, and deleting one, leaves the phone index as it was; a phone given later is found, and
    not once it is emptied; FTS5's check agrees throughout."""
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("the SQLite search index")

    def pages():
        return db.session.execute(text(f"SELECT id, block FROM {search.PHONE_FTS_TABLE}_data ORDER BY id")).all()

    actor = db.session.get(User, member.id)
    factories.contact(db.session.merge(team), "Grace", "Hopper", phone="+14155550123")
    before = pages()
    ida = service.create_contact(actor, {"first_name": "Ida", "last_name": "Rhodes", "owner_team_id": team.id}).id
    assert pages() == before
    service.update_contact(actor, ida, {"phone": "+14155550199"}, None)
    assert _names(member, "5550199") == ["Ida Rhodes"]
    service.update_contact(actor, ida, {"phone": ""}, None)
    assert _names(member, "5550199") == [] and _names(member, "555") == ["Grace Hopper"]
    _check_index()
    emptied = pages()
    db.session.delete(db.session.get(Contact, ida))  # a hard delete (the trash being emptied)
    db.session.commit()
    assert pages() == emptied
    _check_index()


def test_search_keeps_the_other_filters(ctx, member, outsider, team, other_team):
    factories.contact(db.session.merge(team), "Grace", "Ours")
    factories.contact(db.session.merge(other_team), "Grace", "Theirs")
    assert _names(member, "grace") == ["Grace Ours"]
    assert _names(outsider, "grace") == ["Grace Theirs"]


def test_rebuild_search_index(ctx, member, people):
    conn = db.session.connection()
    search.suspend_search_index(conn)
    factories.contact(db.session.merge(db.session.get(User, member.id).teams[0]), "Late", "Arrival")
    search.rebuild_search_index(db.session.connection())
    db.session.commit()
    assert _names(member, "late arr") == ["Late Arrival"]
    assert _names(member, "grace hop") == ["Grace Hopper"]
    _check_index()


def _insert_trigger():
    if db.session.get_bind().dialect.name != "sqlite":
        return None
    return db.session.execute(text("SELECT sql FROM sqlite_master WHERE name = 'contacts_search_ai'")).scalar()


def test_a_batch_of_new_contacts_is_indexed_and_the_trigger_put_back(ctx, member, team, people):
    """bulk_insert.insert_rows (the import's write): on SQLite the batch is indexed by one statement
    per index, the insert trigger dropped meanwhile and put back as it was, also when the insert
    fails (the rows that went in are indexed); on PostgreSQL the generated columns do it."""
    from sqlalchemy.exc import IntegrityError

    from core.models import utcnow
    from core.services.bulk_insert import insert_rows

    t = db.session.merge(team)
    top = db.session.scalar(db.select(db.func.max(Contact.id)))
    now = utcnow()

    sqlite = db.session.get_bind().dialect.name == "sqlite"

    def row(i, first, last, email, phone):  # ids as the import allocates them (PostgreSQL: its sequence)
        return {**({"id": top + i} if sqlite else {}), "first_name": first, "last_name": last, "sort_name": f"{last} {first}".lower(),
                "email": email, "email_key": email, "phone": phone, "type": "person", "status": "active",
                "owner_team_id": t.id, "version": 1, "created_at": now, "updated_at": now}

    trigger = _insert_trigger()
    assert trigger is not None or not sqlite
    insert_rows(Contact.__table__, [row(1, "Batch", "Alpha", "ba@x.example", "+16175550101"),
                                    row(2, "Batch", "Beta", None, "")])
    db.session.commit()
    assert _insert_trigger() == trigger
    assert _names(member, "batch al") == ["Batch Alpha"]
    assert _names(member, "555-0101") == ["Batch Alpha"]
    assert _names(member, "beta batch") == ["Batch Beta"]
    _check_index()
    if sqlite:  # PostgreSQL aborts the transaction at the error
        with pytest.raises(IntegrityError):
            insert_rows(Contact.__table__, [row(3, "Batch", "Gamma", "bg@x.example", "+16175550102"),
                                            row(4, "Batch", "Dup", "ba@x.example", "")])
        assert _insert_trigger() == trigger
        db.session.commit()  # what went in stays indexed
        assert _names(member, "gamma") == ["Batch Gamma"] and _names(member, "5550102") == ["Batch Gamma"]
        _check_index()
    factories.contact(t, "After", "Batch", phone="+16175550199")  # one by one: the trigger indexes it
    assert _names(member, "after batch") == ["After Batch"] and _names(member, "0199") == ["After Batch"]
    _check_index()


def test_the_migration_builds_and_backfills_the_index(app, make_app):  # noqa: F811
    """Also: on SQLite the migration builds exactly what create_all builds (the session's database)."""
    built_by_create_all = migrated = None
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            built_by_create_all = _search_ddl()
            # 2 views, 4 FTS tables (contacts, organizations, tags, custom values) with 4 shadow tables
            # each, the phones' FTS table with 3 (no column sizes), 13 triggers; the settings: each FTS
            # table's version, the two contact indexes' automerge
            assert len(built_by_create_all) == 46
    app = make_app([])
    with app.app_context():
        flask_migrate.upgrade(revision="core_0001")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name, created_at, updated_at) VALUES (1, 'T', :t, :t)"),
                         {"t": "2026-01-01 00:00:00"})
            conn.execute(text(
                "INSERT INTO contacts (first_name, last_name, sort_name, email, email_key, phone, type, status, "
                "owner_team_id, version, created_at, updated_at) VALUES ('José', 'Núñez', 'núñez josé', "
                "'jn@old.example', 'jn@old.example', '+14155550123', 'person', 'active', 1, 1, :t, :t)"
            ), {"t": "2026-01-01 00:00:00"})
        flask_migrate.upgrade(revision="heads")
        with app.test_request_context():
            cond = search.search_condition("nunez jose")
            assert db.session.scalars(db.select(Contact.last_name).where(cond)).all() == ["Núñez"]
            cond = search.search_condition("415 555")
            assert db.session.scalars(db.select(Contact.last_name).where(cond)).all() == ["Núñez"]
            if db.engine.dialect.name == "sqlite":
                migrated = _search_ddl()
                _check_index()
            db.session.remove()
        flask_migrate.downgrade(revision="core_0001")
        with db.engine.connect() as conn:
            left = conn.execute(text(
                "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_fts%' OR name LIKE '%search%'"
                if db.engine.dialect.name == "sqlite" else
                "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname LIKE 'ix_%search%'"
            )).scalar()
        assert left == 0
    if migrated is not None:
        assert migrated == built_by_create_all


def test_core_0029_goes_back_to_indexing_empty_phones(make_app):  # noqa: F811
    """Its downgrade puts core_0020's three contact triggers back; upgrading again gives head's."""
    app = make_app([])
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite triggers")

        def triggers() -> dict:
            with db.engine.connect() as conn:
                return dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())

        flask_migrate.upgrade(revision="heads")
        head = triggers()
        flask_migrate.downgrade(revision="core_0028_list_sql")
        before = triggers()
        changed = {"contacts_search_ai", "contacts_search_ad", "contacts_phone_search_au"}
        assert {name for name in head if head[name] != before[name]} == changed
        assert not any("phone <> ''" in before[name] for name in changed)
        flask_migrate.upgrade(revision="heads")
        assert triggers() == head


def _search_ddl() -> dict:
    rows = db.session.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE name LIKE '%_fts%' OR name LIKE '%search%'"
    ))
    found = {name: " ".join((sql or "").split()) for name, sql in rows}
    for name in [n for n in found if n.endswith("_fts_config")]:  # the FTS tables' settings too (core_0026)
        found |= {f"{name}:{k}": v for k, v in db.session.execute(text(f"SELECT k, v FROM {name}"))}
    return found


def test_the_contact_indexes_merge_eight_segments_at_a_time(ctx):
    """FTS5's merges run inside the write that crosses its work unit; with 8 segments a level (its
    default is 4) they are rarer and cheaper in all (core/services/search.py CONTACT_INDEX_AUTOMERGE).
    The migration sets the same (test_the_migration_builds_and_backfills_the_index)."""
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("an FTS5 setting")
    for table in (search.FTS_TABLE, search.PHONE_FTS_TABLE):
        assert db.session.execute(text(f"SELECT v FROM {table}_config WHERE k = 'automerge'")).scalar() == 8
    assert db.session.execute(text(f"SELECT v FROM {search.ORG_FTS_TABLE}_config WHERE k = 'automerge'")).scalar() is None


def test_very_common_words_walk_the_sort_index(ctx, member, team, monkeypatch):
    """SQLite: when a word hits at least a tenth of the contacts (and COMMON_HITS), the query walks
    the list's index in sort order instead of sorting every hit; the answer is the same."""
    t = db.session.merge(team)
    for first in ("Mia", "Max", "Mo", "Amy", "Mel"):
        factories.contact(t, first, "Moss" if first != "Amy" else "Lee")
    actor = db.session.get(User, member.id)
    answers = {}
    for common in (10**9, 2):
        monkeypatch.setattr(search, "COMMON_HITS", common)
        seen, cursor = [], None
        while True:
            page = service.list_contacts(actor, q="m", limit=2, cursor=cursor)
            seen += [c.full_name for c in page.items]
            if not (cursor := page.next_cursor):
                break
        answers[common] = seen
    assert answers[2] == answers[10**9] == ["Max Moss", "Mel Moss", "Mia Moss", "Mo Moss"]
    if db.session.get_bind().dialect.name == "sqlite":
        assert search._very_common(search.fts5_query(search.Parsed("m")))
        assert not search._very_common(search.fts5_query(search.Parsed("amy")))
