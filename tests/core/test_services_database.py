"""core.database: the write transaction, after-commit callbacks and engine settings."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from core import database
from core.extensions import db
from core.models import Team


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Team))


def test_a_transaction_commits_and_then_runs_callbacks(ctx):
    seen = []
    with database.transaction() as session:
        session.add(Team(name="One"))
        database.after_commit(lambda: seen.append(_count()))
        assert seen == []
    assert seen == [1]


def test_an_error_rolls_back_and_skips_callbacks(ctx):
    seen = []
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.add(Team(name="One"))
        database.after_commit(lambda: seen.append("ran"))
        raise RuntimeError("boom")
    assert seen == [] and _count() == 0


def test_nested_use_joins_the_outer_transaction(ctx):
    seen = []
    with pytest.raises(RuntimeError), database.transaction():
        with database.transaction() as inner:
            inner.add(Team(name="Inner"))
            database.after_commit(lambda: seen.append("inner"))
        raise RuntimeError("the outer block fails after the inner one finished")
    assert _count() == 0 and seen == []
    with database.transaction():
        with database.transaction() as inner:
            inner.add(Team(name="Inner"))
            database.after_commit(lambda: seen.append("inner"))
        assert seen == []
    assert seen == ["inner"] and _count() == 1


def test_after_commit_outside_a_transaction_runs_at_once(ctx):
    seen = []
    database.after_commit(lambda: seen.append("now"))
    assert seen == ["now"]


def test_an_open_read_is_ended_before_the_write(ctx):
    _count()  # opens a read transaction
    assert db.session().in_transaction()
    with database.transaction() as session:
        session.add(Team(name="After a read"))
    assert _count() == 1


def test_a_write_after_a_read_sees_what_others_committed_since(ctx):
    assert _count() == 0  # a read transaction: on SQLite, a snapshot from here on
    with db.engine.begin() as other:  # another connection (another worker) commits meanwhile
        other.execute(Team.__table__.insert(), {"name": "Theirs"})
    with database.transaction() as session:  # the write ends the snapshot (core/database.py)
        assert _count() == 1
        session.add(Team(name="Ours"))
    assert _count() == 2


def test_a_failed_write_after_a_read_leaves_nothing(ctx):
    _count()
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.add(Team(name="Rolled back"))
        session.flush()
        raise RuntimeError("boom")
    assert _count() == 0
    with database.transaction() as session:  # the session writes again afterwards
        session.add(Team(name="Kept"))
    assert _count() == 1


def test_engine_settings(ctx, app):
    assert database.ping()
    assert database.current_dialect() == db.engine.dialect.name
    assert database.is_sqlite() == (db.engine.dialect.name == "sqlite")
    if database.is_sqlite():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_default_engine_options(app):
    sqlite = type("A", (), {"config": {"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db", "SQLITE_BUSY_TIMEOUT_MS": 5000}})
    assert database.default_sqlalchemy_options(sqlite)["connect_args"]["timeout"] == 5.0
    pg = type("A", (), {"config": {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://h/db"}})
    assert database.default_sqlalchemy_options(pg)["pool_pre_ping"] is True


def test_every_after_commit_callback_runs_even_if_one_raises(app):
    from core.database import after_commit, transaction

    ran = []

    def boom():
        ran.append("boom")
        raise LookupError("first")

    with app.app_context(), pytest.raises(LookupError, match="first"):
        with transaction():
            after_commit(boom)
            after_commit(lambda: ran.append("second"))
    assert ran == ["boom", "second"]


def test_a_larger_page_cache_lasts_until_the_connection_goes_back_to_the_pool(ctx, app):
    """An import's write raises its connection's cache; the pool gets it back at the configured size."""
    if not database.is_sqlite():
        pytest.skip("SQLite's page cache")
    configured = -int(app.config["SQLITE_CACHE_KIB"])
    with database.transaction():
        database.larger_page_cache(db.session, 40_000)
        raised = db.session.connection().connection.dbapi_connection
        assert db.session.execute(text("PRAGMA cache_size")).scalar() == -40_000
    db.session.remove()
    assert raised.execute("PRAGMA cache_size").fetchone()[0] == configured  # back in the pool, as configured
    with db.engine.connect() as conn:  # and so for whichever connection the pool hands out next
        assert conn.execute(text("PRAGMA cache_size")).scalar() == configured


def test_a_write_around_the_unit_of_work_expires_what_it_could_change(ctx, team, member):
    from sqlalchemy import insert, update

    from core.database import transaction
    from core.models import Contact, Tag, User
    from core.models.accounts import team_members
    from tests import factories

    contact = factories.contact(team)
    with transaction():
        tag = Tag(name="vip", name_key="vip", color="red")
        db.session.add(tag)
    user = db.session.get(User, member.id)
    _ = user.teams, contact.first_name, tag.color
    with transaction():  # (a write starts by expiring what the read before it loaded, but the actor)
        _ = contact.first_name, tag.color
        db.session.execute(update(Tag).where(Tag.id == tag.id).values(color="blue"),
                           execution_options={"synchronize_session": False})
    assert "color" not in tag.__dict__ and tag.color == "blue"  # its table was written: read again
    assert "first_name" in contact.__dict__
    assert {"email", "teams"} <= set(user.__dict__), sorted(user.__dict__)  # untouched: kept
    with transaction():  # a contact row written around the unit of work: contacts are expired
        _ = contact.first_name
        db.session.execute(update(Contact).where(Contact.id == contact.id).values(first_name="Grace"),
                           execution_options={"synchronize_session": False})
    assert "first_name" not in contact.__dict__ and contact.first_name == "Grace"
    assert "email" in user.__dict__
    other = Team(name="Elsewhere")
    with transaction():  # a link table: the relationships through it
        db.session.add(other)
        db.session.flush()
        db.session.execute(insert(team_members).values(user_id=user.id, team_id=other.id))
    assert "teams" not in user.__dict__ and "email" in user.__dict__
    assert other.id in [t.id for t in user.teams]
    with transaction():  # raw SQL: everything, as a plain commit
        db.session.execute(text("UPDATE teams SET name = name"))
    assert "email" not in user.__dict__
