"""Statement COUNTS per page (never timings): a page's queries must not grow with its rows, and the
organization choices of the list's filter come from the cache until an organization changes."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.models import Contact
from core.services import organizations as org_service
from tests import factories
from tests.statements import captured

HX = {"HX-Request": "true", "Cache-Control": "no-cache"}  # the render path, not the shared page cache


@pytest.fixture
def statements(app):
    return lambda: captured(app)


def _selects(seen, table=None):
    out = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    return [s for s in out if f"FROM {table}" in s] if table else out


def _fill(app, team, n, orgs=3):
    with app.app_context():
        t = db.session.merge(team)
        org_ids = [factories.organization(t).id for _ in range(orgs)]
        for i in range(n):
            factories.contact(t, "Ann", f"Row{i:03d}", organization_id=org_ids[i % orgs])


def test_list_page_statements_do_not_grow_with_rows(app, team, member_client, statements):
    _fill(app, team, 3)
    member_client.get("/", headers=HX)
    with statements() as seen:
        assert member_client.get("/", headers=HX).status_code == 200
    few = len(_selects(seen))
    _fill(app, team, 60, orgs=20)
    member_client.get("/", headers=HX)
    with statements() as seen:
        html = member_client.get("/", headers=HX).get_data(as_text=True)
    assert html.count('<tr id="contact-') == 50
    assert len(_selects(seen)) == few
    with statements() as seen:  # a search and a filter: the same number again
        assert member_client.get("/?q=ann&status=active", headers=HX).status_code == 200
    # + the bounded hit counts of a new search: SQLite max(id), count; PostgreSQL: tags, custom
    # values, and the full-text hits outside the sort-index range of "ann" (search._pg_many_others)
    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert len(_selects(seen)) <= few + (3 if postgresql else 2)


def test_full_list_page_reads_organization_choices_from_the_cache(app, team, member, member_client, statements):
    _fill(app, team, 5)
    first = member_client.get("/").get_data(as_text=True)
    assert first.count('<tr id="contact-') == 5
    with statements() as seen:
        again = member_client.get("/").get_data(as_text=True)
    assert again.count("<option") == first.count("<option")
    # Only the page's own organizations (selectinload by id) are read, not the choices list.
    assert all("organizations.id IN" in s for s in _selects(seen, "organizations"))
    with app.test_request_context():
        user = db.session.merge(member)
        org_service.create_organization(user, {"name": "Freshly Made Ltd", "owner_team_id": user.team_ids[0]})
    assert "Freshly Made Ltd" in member_client.get("/").get_data(as_text=True)


def test_row_links_are_those_url_for_builds(app, team, member_client):
    _fill(app, team, 2)
    html = member_client.get("/", headers=HX).get_data(as_text=True)
    with app.app_context():
        cid = db.session.scalars(db.select(Contact.id).order_by(Contact.id)).first()
    with app.test_request_context():
        from flask import url_for

        for url in (
            url_for("contacts.show", contact_id=cid),
            url_for("contacts.edit", contact_id=cid),
            url_for("contacts.delete", contact_id=cid),
        ):
            assert f'"{url}"' in html


def test_contact_page_statements_do_not_grow_with_history(app, team, member, member_client, statements):
    from core.services import contacts as contact_service

    _fill(app, team, 1)
    with app.app_context():
        cid = db.session.scalars(db.select(Contact.id)).first()

    def count():
        member_client.get(f"/contacts/{cid}")
        with statements() as seen:
            assert member_client.get(f"/contacts/{cid}").status_code == 200
        return len(_selects(seen))

    def edit(times):
        with app.test_request_context():
            user = db.session.merge(member)
            for i in range(times):
                c = contact_service.get_contact(user, cid)
                contact_service.update_contact(user, cid, {"first_name": f"Ann{c.version}{i}"}, c.version)

    edit(1)
    before = count()  # one history entry: the actors' names load in one query
    edit(4)
    assert count() == before
