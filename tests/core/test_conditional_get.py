"""Conditional GET of contact pages and panels (core/views/conditional.py, core/services/stamps.py):
a browser that sends back the ETag gets a 304 until something the page shows changes; then the
next answer is fresh. Each write goes through its own service, the way the UI, API and plugins do."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.models import Tag, Team, User
from core.services import accounts, stamps, tags, taxonomy
from core.services import contacts as contact_service
from plugins.collaboration import services as notes
from plugins.communications import services as communications
from tests import factories
from tests.statements import captured

PANELS = ("/communications/contacts/{id}/timeline", "/collaboration/contacts/{id}/notes")


@pytest.fixture
def people(app, team, member):
    with app.app_context():
        a = factories.contact(db.session.merge(team), "Ada", "Lovelace")
        b = factories.contact(db.session.merge(team), "Bob", "Other")
        return a.id, b.id


def _get(client, url, etag=None, **headers):
    if etag:
        headers["If-None-Match"] = etag
    return client.get(url, headers=headers)


def _actor(member_id):
    return db.session.get(User, member_id)


def _fresh_after(app, client, url, write):
    """GET ``url`` (200 with an ETag), check the ETag gives a 304, run ``write``, then return the
    answer the old ETag gets now."""
    first = _get(client, url)
    assert first.status_code == 200, first.data[:300]
    assert first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    assert _get(client, url, etag).status_code == 304
    with app.test_request_context():
        write()
        db.session.remove()
    return _get(client, url, etag)


def test_an_unchanged_page_is_not_rendered_again(app, member_client, people):
    a, _ = people
    first = _get(member_client, f"/contacts/{a}")
    assert first.headers["X-Cache"] == "miss"
    again = _get(member_client, f"/contacts/{a}", first.headers["ETag"])
    assert again.status_code == 304
    assert again.headers["X-Cache"] == "hit"
    assert again.data == b""
    # the fragment and the full page are different answers
    fragment = _get(member_client, f"/contacts/{a}", first.headers["ETag"], **{"HX-Request": "true"})
    assert fragment.status_code == 200


def test_editing_a_field_refreshes_the_page(app, member_client, member, people):
    a, _ = people

    def write():
        contact_service.update_contact(_actor(member.id), a, {"first_name": "Augusta"}, None)

    fresh = _fresh_after(app, member_client, f"/contacts/{a}", write)
    assert fresh.status_code == 200
    assert b"Augusta" in fresh.data


def test_adding_a_tag_refreshes_the_page(app, member_client, member, people):
    a, _ = people
    fresh = _fresh_after(app, member_client, f"/contacts/{a}",
                         lambda: taxonomy.add_tags(_actor(member.id), [a], ["vip-cached"]))
    assert fresh.status_code == 200
    assert b"vip-cached" in fresh.data


def test_logging_a_communication_refreshes_the_timeline(app, member_client, member, people):
    a, _ = people

    def write():
        communications.log_communication(_actor(member.id), a, {"type": "call", "subject": "Ring back about the offer"})

    fresh = _fresh_after(app, member_client, PANELS[0].format(id=a), write)
    assert fresh.status_code == 200
    assert b"Ring back about the offer" in fresh.data


def test_adding_a_note_refreshes_the_notes_panel(app, member_client, member, people):
    a, _ = people
    fresh = _fresh_after(app, member_client, PANELS[1].format(id=a),
                         lambda: notes.add_note(_actor(member.id), a, "Prefers mornings"))
    assert fresh.status_code == 200
    assert b"Prefers mornings" in fresh.data


def test_a_team_membership_change_refreshes_the_page(app, admin, member_client, member, team, people):
    a, _ = people

    def write():
        accounts.set_team_membership(db.session.get(User, admin.id), team.id, member.id, False)

    fresh = _fresh_after(app, member_client, f"/contacts/{a}", write)
    assert fresh.status_code == 404  # no longer on the contact's team: not a stale 304


def test_another_users_team_change_refreshes_the_page(app, admin, member_client, team, people):
    """Team membership is an association table (no mapped row): the user's changed collection counts."""
    a, _ = people
    with app.app_context():
        colleague = factories.user("member", [])
        colleague_id = colleague.id

    def write():
        accounts.set_team_membership(db.session.get(User, admin.id), team.id, colleague_id, True)

    assert _fresh_after(app, member_client, f"/contacts/{a}", write).status_code == 200


def test_renaming_a_tag_refreshes_every_page_showing_it(app, member_client, member, admin, people):
    a, _ = people
    with app.test_request_context():
        taxonomy.add_tags(_actor(member.id), [a], ["old-name"])
        db.session.remove()

    def write():
        tag = db.session.scalars(db.select(Tag).where(Tag.name == "old-name")).one()
        tags.update_tag(db.session.get(User, admin.id), tag.id, {"name": "new-name"})

    fresh = _fresh_after(app, member_client, f"/contacts/{a}", write)
    assert fresh.status_code == 200
    assert b"new-name" in fresh.data


def test_a_note_on_another_contact_keeps_the_304(app, member_client, member, people):
    a, b = people
    first = _get(member_client, PANELS[1].format(id=a))
    with app.test_request_context():
        notes.add_note(_actor(member.id), b, "About Bob only")
        db.session.remove()
    assert _get(member_client, PANELS[1].format(id=a), first.headers["ETag"]).status_code == 304
    assert _get(member_client, PANELS[1].format(id=b), first.headers["ETag"]).status_code == 200


def test_another_user_never_gets_the_304(app, client_for, member_client, team, people):
    a, _ = people
    etag = _get(member_client, f"/contacts/{a}").headers["ETag"]
    with app.app_context():
        colleague = factories.user("member", [db.session.merge(team)])
        db.session.refresh(colleague)
        _ = colleague.teams
        db.session.expunge_all()
    assert _get(client_for(colleague), f"/contacts/{a}", etag).status_code == 200


def test_pending_flash_messages_are_shown_not_skipped(app, member_client, people):
    a, _ = people
    etag = _get(member_client, f"/contacts/{a}").headers["ETag"]
    with member_client.session_transaction() as sess:
        sess["_flashes"] = [("success", "Saved just now.")]
    shown = _get(member_client, f"/contacts/{a}", etag)
    assert shown.status_code == 200
    assert b"Saved just now." in shown.data


def test_a_write_stamps_its_scopes_in_the_same_transaction(app, ctx, member, people):
    a, b = people
    names = (*stamps.SHARED_STRIPES, stamps.contact_scope(a), stamps.contact_scope(b))
    before = stamps.read(names)
    notes.add_note(_actor(member.id), a, "Stamped")
    db.session.remove()
    after = stamps.read(names)
    assert after[stamps.contact_scope(a)] != before[stamps.contact_scope(a)]
    assert after[stamps.contact_scope(b)] == before[stamps.contact_scope(b)]
    assert all(after[n] == before[n] for n in stamps.SHARED_STRIPES)
    db.session.add(Team(name="Stamps team"))
    db.session.rollback()  # nothing committed: nothing stamped
    assert stamps.read(stamps.SHARED_STRIPES) == {n: after[n] for n in stamps.SHARED_STRIPES}

def test_the_list_answers_304_until_any_contact_changes(app, member_client, member, people):
    a, b = people
    rows = {"HX-Request": "true"}
    first = _get(member_client, "/?q=Lovelace", **rows)
    assert first.status_code == 200
    assert _get(member_client, "/?q=Lovelace", first.headers["ETag"], **rows).status_code == 304
    with app.test_request_context():
        taxonomy.add_tags(_actor(member.id), [a], ["listed-tag"])  # only the contact's own rows change
        db.session.remove()
    fresh = _get(member_client, "/?q=Lovelace", first.headers["ETag"], **rows)
    assert fresh.status_code == 200 and b"listed-tag" in fresh.data


def test_the_shared_version_a_page_read_is_kept_for_its_transaction_only(app, ctx, member, people):
    """``shared_version`` reuses the shared stamps ``page_version`` read in the same transaction (one
    statement less a list page), gives the number its own read would, and forgets it at the end."""
    alone = stamps.shared_version()  # read by itself
    db.session.rollback()
    stamps.page_version()
    with captured(app, selects_only=True) as seen:
        assert stamps.shared_version() == alone
    assert seen == []
    db.session.add(Team(name="Stamps team"))
    db.session.commit()  # a shared write: the next transaction reads the new stamps
    with captured(app, selects_only=True) as seen:
        changed = stamps.shared_version()
    assert len(seen) == 1 and changed != alone
    db.session.rollback()
    assert stamps.page_version() and stamps.shared_version() == changed
