"""The list sorted by name reads a search's hits in parts (core/services/search.py ``sorted_legs``:
the sort-index range of the typed words, and the other hits); it must show exactly what reading
and sorting every hit shows: the same rows, in the same order, over the same "load more" pages."""

import pytest
from sqlalchemy import text

from core.extensions import cache, db
from core.models import Contact, User
from core.services import contacts as service
from core.services import custom_fields as cf
from core.services import search, tags
from tests import factories, statements


def _u(user):
    return db.session.get(User, user.id)


@pytest.fixture
def crowd(ctx, admin, member, team, other_team):
    t, other = db.session.merge(team), db.session.merge(other_team)
    smiths = factories.organization(t, "Smith & Sons")
    for first in ("James", "Ada", "Zoe", "James", "Bo"):
        factories.contact(t, first, "Smith")
    factories.contact(t, "Jamesina", "Smith")
    factories.contact(t, "Ann", "Smithers")
    factories.contact(t, "Cy", "Smith-Jones")  # not a plain sort name: found by the index only
    factories.contact(t, "Di", "Smíth")  # an accent: found as "smith", sorts elsewhere
    factories.contact(t, "Smith", "Zeta")  # a first name
    factories.contact(t, "Smith", "")  # no last name: its sort name is "smith"
    factories.contact(t, "James", "Adams", email="james.smith@mail.example")  # the email only
    factories.contact(t, "Eve", "Brown", organization_id=smiths.id)  # its organization
    factories.contact(t, "Eve", "Smith", organization_id=smiths.id)  # both
    factories.contact(t, "Fay", "Green")
    factories.contact(t, "Gus", "Smith  James")  # two spaces: not plain
    factories.contact(t, "Smith", "James")
    factories.contact(t, "Hal", "Smith", status="inactive")
    tagged = factories.contact(t, "Ida", "Young")
    valued = factories.contact(t, "Jo", "Kent")
    factories.contact(other, "Kim", "Smith")  # another team's: hidden
    gone = factories.contact(t, "Lu", "Smith")
    service.delete_contact(_u(member), gone.id)  # in the trash: hidden
    tags.add_tags(_u(member), [tagged.id], ["Smith fans"])
    cf.create_field(admin, {"key": "nickname", "label": "Nickname", "kind": "text"})
    service.update_contact(_u(member), valued.id, {"custom_fields": {"nickname": "Smithy James"}}, None)
    db.session.commit()


def _pages(member, q, sort, limit, **filters):
    seen, cursor = [], None
    while True:
        page = service.list_contacts(_u(member), q=q, sort=sort, limit=limit, cursor=cursor, **filters)
        seen.append([c.id for c in page.items])
        if not (cursor := page.next_cursor):
            return seen


QUERIES = ["smith", "Smi", "s", "SMITH james", "james smith", "jam smi", "smith smith", "smithers", "smith zeta",
           "zeta", "eve", "fans", "smithy", "sons", "smíth", "smith-jones", "nobody"]


@pytest.mark.parametrize("sort", ["name", "-name"])
def test_the_parts_give_what_every_hit_sorted_gives(crowd, member, monkeypatch, sort):
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    for q in QUERIES:
        for limit in (1, 2, 50):
            for filters in ({}, {"status": "active"}):
                parts = _pages(member, q, sort, limit, **filters)
                with monkeypatch.context() as m:
                    m.setattr(search, "sorted_legs", lambda _q: None)
                    whole = _pages(member, q, sort, limit, **filters)
                assert parts == whole, (q, limit, filters)
    assert (search.sorted_legs("smith") is not None) is (sqlite or search._pg_byte_order())  # the parts were read
    assert search.sorted_legs("smíth") is None  # not plain: the words need no range
    assert search.sorted_legs("smith@") is None


def test_the_answers(crowd, member):
    names = [c.full_name for c in service.list_contacts(_u(member), q="smith").items]
    assert names == [
        "James Adams", "Eve Brown", "Smith James", "Jo Kent", "Smith", "Gus Smith  James", "Ada Smith", "Bo Smith",
        "Eve Smith", "Hal Smith", "James Smith", "James Smith", "Jamesina Smith", "Zoe Smith", "Cy Smith-Jones",
        "Ann Smithers", "Di Smíth", "Ida Young", "Smith Zeta"]
    assert [c.full_name for c in service.list_contacts(_u(member), q="james smi").items] == [
        "James Adams", "Smith James", "Jo Kent", "Gus Smith  James", "James Smith", "James Smith", "Jamesina Smith"]


def test_very_common_other_hits_still_agree(crowd, member, monkeypatch):
    """The other hits walk the sort index when they are very many (COMMON_HITS; PostgreSQL: the
    full-text hits outside the ranges, PG_OTHERS_MIN, and the tag and custom-value hits,
    PG_COMMON_HITS, an EXISTS per row), as the whole did."""
    for q in ("smith", "s", "james smith", "smithy", "fans"):
        monkeypatch.setattr(search, "COMMON_HITS", 1)
        monkeypatch.setattr(search, "PG_COMMON_HITS", 1)
        monkeypatch.setattr(search, "PG_OTHERS_MIN", 1)  # PostgreSQL: the other hits by the walk
        cache.clear()  # the very-common answers are remembered
        parts = _pages(member, q, "name", 2)
        monkeypatch.setattr(search, "sorted_legs", lambda _q: None)
        assert _pages(member, q, "name", 2) == parts, q
        monkeypatch.undo()


def test_postgresql_reads_ranges_only_where_the_collation_is_byte_order(crowd, member, monkeypatch):
    """PostgreSQL: ``sort_name >= 'smith' AND sort_name < 'smiti'`` is "starts with smith" only under
    the C collation (under en_US "smit hall" falls in it); elsewhere the plain plan serves."""
    if db.session.get_bind().dialect.name != "postgresql":
        assert search.sorted_legs("smith") is not None
        return
    monkeypatch.setattr(search, "_pg_byte_order", lambda: False)
    assert search.sorted_legs("smith") is None
    assert [c.full_name for c in service.list_contacts(_u(member), q="smith zeta").items] == ["Smith Zeta"]
    monkeypatch.undo()
    assert search._pg_byte_order()  # the test database is C (as initdb's default and the bench's)
    legs = search.sorted_legs("james smith")
    assert len(legs) == 3  # "james smith", "smith james" ranges and the other hits
    ids = {c.id for c in service.list_contacts(_u(member), q="james smith", limit=200).items}
    for condition, _by_hits in legs:
        leg = service.contacts_statement(_u(member), search_leg=(condition, False), columns=(Contact.id,))
        assert set(db.session.scalars(leg)) <= ids  # each part holds hits only


def test_renames_move_contacts_in_and_out_of_the_range(crowd, member):
    """The lead token follows the sort name (the update trigger watches it too)."""
    actor = _u(member)
    zoe = next(c for c in service.list_contacts(actor, q="zoe smith").items)
    service.update_contact(actor, zoe.id, {"last_name": "Jones"}, None)
    assert [c.full_name for c in service.list_contacts(actor, q="zoe smith").items] == []
    assert [c.full_name for c in service.list_contacts(actor, q="zoe jon").items] == ["Zoe Jones"]
    service.update_contact(actor, zoe.id, {"last_name": "Smith"}, None)
    assert [c.full_name for c in service.list_contacts(actor, q="smith zo").items] == ["Zoe Smith"]
    db.session.execute(text("UPDATE contacts SET sort_name = 'jones zoe' WHERE id = :id"), {"id": zoe.id})
    if db.session.get_bind().dialect.name == "sqlite":
        for table in ("contacts_fts",):
            db.session.execute(text(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)"))


def test_a_range_is_a_walk_of_the_sort_index_not_a_read_of_every_hit(ctx, member, team):
    """Two words ("james smith"): each range's page walks the sort index and checks the hits'
    condition on the rows it meets; reading every full-text hit (and sorting them) is the other
    hits' part alone. PostgreSQL planned a bitmap over all the hits for each range (the page read
    every hit three times, twice what the plain plan reads)."""
    t = db.session.merge(team)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    n = 20_000 if postgresql else 5_000  # PostgreSQL plans from statistics: a table big enough to mislead it
    numbers = ("generate_series(1, :n) AS value" if postgresql else
               "(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < :n) SELECT value FROM s)")
    # a tenth are Smiths, a tenth James; one in 50 James Smith (the words go together more than by chance)
    db.session.execute(text(
        "INSERT INTO contacts (first_name, last_name, sort_name, email, email_key, phone, type, status, owner_team_id, "
        "version, created_at, updated_at) SELECT f, l, lower(l || ' ' || f), NULL, NULL, '', 'person', 'active', :t, 1, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM (SELECT CASE WHEN g % 10 = 1 OR g % 50 = 0 THEN 'James' "
        "ELSE 'P' || g END AS f, CASE WHEN g % 10 = 0 THEN 'Smith' ELSE 'Q' || g END AS l "
        f"FROM (SELECT value AS g FROM {numbers}) AS n) AS people"), {"t": t.id, "n": n})
    db.session.commit()
    if postgresql:  # the statistics a real table has
        db.session.execute(text("SELECT gin_clean_pending_list('ix_contacts_search'::regclass)"))
        db.session.execute(text("ANALYZE contacts"))
    actor = _u(member)
    legs = search.sorted_legs("james smith")
    assert legs is not None and len(legs) == 3
    for condition, by_hits in legs[:2]:  # the "james smith" and "smith james" ranges
        stmt = service.contacts_statement(actor, search_leg=(condition, by_hits), columns=(Contact.id,))
        plan = statements.plan(stmt.order_by(Contact.sort_name, Contact.id).limit(51))
        assert "contacts_fts" not in plan and "ix_contacts_search" not in plan, plan
    page = service.list_contacts(actor, q="james smith")
    assert len(page.items) == 50 and {c.full_name for c in page.items} == {"James Smith"}

