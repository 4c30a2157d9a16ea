"""Similar names (core/services/similar_search.py): on PostgreSQL with pg_trgm, a search of one or
two words (3+ letters) that finds nothing lists the contacts whose name contains the text or
resembles it, and says so; SQLite, other queries, and a database without the extension do not."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import text

from core.extensions import db
from core.models import User
from core.services import contacts as service
from core.services import similar_search
from tests import factories
from tests.core.test_api_contacts import Api, make_token
from tests.core.test_migrations import fresh_url, make_app  # noqa: F401 - fixtures

HX = {"HX-Request": "true"}


@pytest.fixture
def people(app, team, other_team):
    with app.app_context():
        t = db.session.merge(team)
        factories.contact(t, "Grace", "Hopper", email="grace@navy.example")
        factories.contact(t, "Ada", "Lovelace")
        factories.contact(t, "Grace", "Kelly")
        factories.contact(t, "José", "Álvarez")
        factories.contact(db.session.merge(other_team), "Grace", "Hoppe")  # not the member's team


def _pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql" and similar_search.available(db.session) is not None


def _list(member, q, **kw):
    page = service.list_contacts(db.session.get(User, member.id), q=q, similar_names=True, **kw)
    return sorted(c.full_name for c in page.items), bool(page.extra.get("similar")), page


@pytest.mark.parametrize(
    ("q", "similar"),
    [
        ("hoper", ["Grace Hopper"]),  # a typo
        ("lovelase", ["Ada Lovelace"]),
        ("ace", ["Ada Lovelace", "Grace Hopper", "Grace Kelly"]),  # inside a word
        ("ovela", ["Ada Lovelace"]),
        ("race hop", ["Grace Hopper"]),  # across first and last name
        ("alvares", ["José Álvarez"]),  # accents folded
        ("GRACE HOPER", ["Grace Hopper"]),
    ],
)
def test_typos_and_infixes_find_similar_names_on_postgresql_only(ctx, member, people, q, similar):
    names, flagged, _page = _list(member, q)
    if _pg():
        assert (names, flagged) == (similar, True)
    else:
        assert (names, flagged) == ([], False)


@pytest.mark.parametrize("q", ["hop", "grace", "navy", "lov"])
def test_exact_matches_keep_the_normal_search(ctx, member, people, q):
    names, flagged, _page = _list(member, q)
    assert names and not flagged


@pytest.mark.parametrize("q", ["oe", "hoper grace kely", "ace lov hop", "hoper@navy", "zzzzzz", "!!!", "415 555"])
def test_other_queries_get_no_similar_names(ctx, member, people, q):
    """Under 3 letters, 3+ words, an email or phone query, or nothing alike: nothing found."""
    assert _list(member, q)[:2] == ([], False)


def test_other_teams_contacts_stay_hidden(ctx, member, outsider, people):
    if not _pg():
        pytest.skip("similar names are PostgreSQL only")
    assert _list(member, "hopp")[:2] == (["Grace Hopper"], False)  # prefix: "Hoppe" is the outsider's
    assert _list(member, "hoppr")[:2] == (["Grace Hopper"], True)
    assert _list(outsider, "hoppr")[:2] == (["Grace Hoppe"], True)


def test_load_more_stays_similar(ctx, member, people):
    if not _pg():
        pytest.skip("similar names are PostgreSQL only")
    first = _list(member, "ace", limit=1)
    assert first[:2] == (["Grace Hopper"], True) and first[2].next_cursor
    second = _list(member, "ace", limit=1, cursor=first[2].next_cursor)
    assert second[:2] == (["Grace Kelly"], True)


def test_the_api_and_other_callers_get_exact_matches_only(app, member, people):
    with app.test_request_context():
        page = service.list_contacts(db.session.get(User, member.id), q="hoper")
        assert (page.items, page.extra.get("similar")) == ([], None)
        db.session.remove()
    api = Api(app, make_token(app, member))
    assert api.get("/api/v1/contacts?q=hoper").json["items"] == []
    assert [c["last_name"] for c in api.get("/api/v1/contacts?q=hopper").json["items"]] == ["Hopper"]


def test_no_extension_no_similar_names(ctx, member, people, monkeypatch):
    monkeypatch.setattr(similar_search, "trgm_schema", lambda conn: None)
    assert _list(member, "hoper")[:2] == ([], False)
    assert similar_search.postgresql_ddl(None) == []


def test_the_page_says_so(app, member_client, people):
    html = member_client.get("/?q=hoper", headers=HX).get_data(as_text=True)
    with app.app_context():
        pg = _pg()
    if pg:
        assert "No exact matches; showing similar names." in html and "Hopper" in html
        assert "No contact matches" not in html and "Hoppe<" not in html
    else:
        assert "No contact matches" in html and "similar names" not in html
    html = member_client.get("/?q=hopper", headers=HX).get_data(as_text=True)
    assert "similar names" not in html and "Hopper" in html


def test_the_count_describes_the_similar_names_shown(app, member_client, member, people):
    with app.app_context():
        pg = _pg()
    html = member_client.get("/contacts/count?q=hoper").get_data(as_text=True)
    if pg:
        assert "1 similar name<" in html and 'data-similar="1"' in html and "matching" not in html
        assert 'id="select-all-matching"' not in html and "bulk actions apply only to rows you tick" in html
        assert "3 similar names<" in member_client.get("/contacts/count?q=ace").get_data(as_text=True)
    else:
        assert "0 matching" in html and "similar" not in html and 'id="select-all-matching"' not in html
    exact = member_client.get("/contacts/count?q=hopper").get_data(as_text=True)
    assert "1 matching" in exact and 'id="select-all-matching"' in exact and "similar" not in exact


def test_all_matching_stays_exact_while_the_count_says_similar(app, member, people):
    from core.services import list_query

    with app.test_request_context():
        user = db.session.get(User, member.id)
        query = list_query.ListQuery.from_args({"q": "hoper"})
        assert list_query.count(user, query) == (0, False)  # what a bulk "all matching" would act on
        assert list_query.count_shown(user, query) == ((1, False, True) if _pg() else (0, False, False))
        assert list_query.count_shown(user, list_query.ListQuery.from_args({"q": "grace"})) == (2, False, False)


def test_the_fallback_uses_the_trigram_index(ctx, member, team):
    if not _pg():
        pytest.skip("PostgreSQL's plan")
    db.session.execute(text(
        "INSERT INTO contacts (first_name, last_name, sort_name, email_key, phone, type, status, owner_team_id, "
        "version, created_at, updated_at) SELECT substr(md5(g::text), 1, 7), substr(md5((g + 1)::text), 3, 9), 'x', "
        "NULL, '', 'person', 'active', :t, 1, now(), now() FROM generate_series(1, 5000) AS g"
    ), {"t": team.id})
    factories.contact(db.session.merge(team), "Grace", "Hopper")
    db.session.execute(text("ANALYZE contacts"))
    stmt = service.contacts_statement(db.session.get(User, member.id), q="hoper", similar=True)
    compiled = stmt.compile(db.session.get_bind(), compile_kwargs={"render_postcompile": True})
    plan = "\n".join(db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
    assert similar_search.PG_INDEX in plan, plan
    assert [c.last_name for c in db.session.scalars(stmt)] == ["Hopper"]


def test_the_migration_builds_what_create_all_builds(app, make_app):  # noqa: F811
    def index_sql():
        return db.session.execute(text(
            "SELECT replace(regexp_replace(indexdef, ' ON \\S+ ', ' ON contacts '), 'public.', '') FROM pg_indexes "
            "WHERE schemaname = current_schema() AND indexname = :n"), {"n": similar_search.PG_INDEX}).scalar()

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("nothing to build on SQLite")
        built = index_sql()
        assert built
        db.session.remove()
    app = make_app([])
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        assert index_sql() == built
        db.session.remove()
        flask_migrate.downgrade(revision="core_0011")
        assert index_sql() is None
        db.session.remove()


class _NoPrivilege:
    """A PostgreSQL connection on which pg_trgm is available but may not be created."""

    class dialect:  # noqa: N801 - stands in for conn.dialect
        name = "postgresql"

    def __init__(self):
        self.run = []

    def exec_driver_sql(self, sql):
        self.run.append(sql)
        if sql.startswith("CREATE EXTENSION"):
            raise RuntimeError("permission denied to create extension")
        outer = self

        class Result:
            def scalar(self):
                return None if "pg_extension" in sql else outer.run and 1

        return Result()

    def begin_nested(self):
        outer = self

        class Savepoint:
            def rollback(self):
                outer.run.append("ROLLBACK TO SAVEPOINT")

            def commit(self):
                outer.run.append("RELEASE SAVEPOINT")

        return Savepoint()


def test_install_does_nothing_without_the_privilege():
    conn = _NoPrivilege()
    similar_search.install(conn)
    assert "ROLLBACK TO SAVEPOINT" in conn.run
    assert not any(sql.startswith("CREATE INDEX") for sql in conn.run)
