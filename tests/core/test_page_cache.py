"""The shared page cache (core/views/page_cache.py): users with the same role and teams share the
rendered contact page, list and search results; nothing of one user shows in another's page; the
next GET after any write the page shows is fresh. On SQLite it uses the file store under the
instance folder, on PostgreSQL + Redis the Redis store (tests/conftest.py picks them)."""

from __future__ import annotations

import os
import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from core.extensions import db, pages
from core.models import Contact, User
from core.page_store import PageFileCache
from core.services import accounts, saved_views, stamps, taxonomy
from core.services import contacts as contact_service
from plugins.collaboration import services as notes
from plugins.collaboration.models import Note
from plugins.communications import services as communications
from tests import factories


@pytest.fixture
def ada(app, team):
    with app.app_context():
        return factories.contact(db.session.merge(team), "Ada", "Lovelace").id


def _write(app, fn):
    with app.test_request_context():
        fn()
        db.session.remove()


def _get(client, url, **headers):
    resp = client.get(url, headers=headers)
    assert resp.status_code in (200, 404), resp.data[:300]
    return resp


ROWS = {"HX-Request": "true"}  # the list's rows: the full page also lists the user's saved views (personal)


def _cached_then(app, first, second, url, write, **headers):
    """``first`` renders ``url``, ``second`` (same rights) is served that entry; then ``write``; the
    answer ``second`` gets next. The list ("/") is asked for its rows."""
    if url.startswith("/?") or url == "/":
        headers = {**ROWS, **headers}
    assert _get(first, url, **headers).headers["X-Cache"] == "miss"
    assert _get(second, url, **headers).headers["X-Cache"] == "hit"
    _write(app, write)
    fresh = _get(second, url, **headers)
    assert fresh.headers.get("X-Cache") != "hit"
    return fresh


def _actor(user):
    return db.session.get(User, user.id)


def test_users_with_the_same_rights_share_the_page_but_not_their_own_parts(app, client_for, ann, ben, ada):
    a, b = client_for(ann), client_for(ben)
    first = _get(a, f"/contacts/{ada}")
    served = _get(b, f"/contacts/{ada}")
    assert (first.headers["X-Cache"], served.headers["X-Cache"]) == ("miss", "hit")
    assert b"Ada" in served.data
    assert b"Ben Bolt" in served.data and b"Ann Anders" not in served.data
    assert b"Ann Anders" in first.data and b"Ben Bolt" not in first.data
    with app.test_request_context():
        marks = [m.decode() for m in __import__("core.views.page_cache", fromlist=["x"])._placeholders()]
    for resp, client in ((first, a), (served, b)):
        text = resp.get_data(as_text=True)
        assert not any(m in text for m in marks)
        tokens = set(re.findall(r'"X-CSRFToken": "([^"]+)"', text))
        assert len(tokens) == 1
        with client.session_transaction() as sess:
            raw = sess["csrf_token"]
        signer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
        assert signer.loads(tokens.pop()) == raw  # the viewer's own token, valid for their session
    # the HTMX fragment is another answer
    assert _get(b, f"/contacts/{ada}", **{"HX-Request": "true"}).headers["X-Cache"] == "miss"


def test_other_rights_get_their_own_entry(app, client_for, ann, viewer, outsider, ada):
    assert _get(client_for(ann), f"/contacts/{ada}").headers["X-Cache"] == "miss"
    seen = _get(client_for(viewer), f"/contacts/{ada}")
    assert seen.headers["X-Cache"] == "miss" and b">Edit</a>" not in seen.data
    assert _get(client_for(outsider), f"/contacts/{ada}").status_code == 404


def test_a_list_with_filters_and_search_is_shared(app, client_for, ann, ben, ada):
    for url in ("/?q=Lovelace", "/?status=active&sort=-created"):
        assert _get(client_for(ann), url, **{"HX-Request": "true"}).headers["X-Cache"] == "miss"
        hit = _get(client_for(ben), url, **{"HX-Request": "true"})
        assert hit.headers["X-Cache"] == "hit" and f"/contacts/{ada}".encode() in hit.data


def test_no_cache_bypasses_the_cache(app, client_for, ann, ada):
    a = client_for(ann)
    assert _get(a, f"/contacts/{ada}", **{"Cache-Control": "no-cache"}).headers["X-Cache"] == "bypass"
    assert _get(a, f"/contacts/{ada}").headers["X-Cache"] == "miss"  # the bypass stored nothing


def test_pending_flashes_skip_the_cache(app, client_for, ann, ben, ada):
    _get(client_for(ann), f"/contacts/{ada}")
    b = client_for(ben)
    with b.session_transaction() as sess:
        sess["_flashes"] = [("success", "Saved just now.")]
    shown = _get(b, f"/contacts/{ada}")
    assert b"Saved just now." in shown.data and shown.headers.get("X-Cache") != "hit"
    again = _get(b, f"/contacts/{ada}")
    assert again.headers["X-Cache"] == "hit" and b"Saved just now." not in again.data


def test_personal_saved_views_stay_with_their_owner(app, client_for, ann, ben, ada):
    _write(app, lambda: saved_views.create_view(_actor(ann), {"name": "Anns secret view", "query": "status=lead"}))
    a, b = client_for(ann), client_for(ben)
    assert b"Anns secret view" in _get(a, "/").data
    theirs = _get(b, "/")
    assert b"Anns secret view" not in theirs.data and theirs.headers["X-Cache"] == "miss"
    assert _get(a, "/").headers["X-Cache"] == "hit"  # each user's own entry
    # the rows of a search do not show saved views: shared
    assert _get(a, "/?q=Ada", **{"HX-Request": "true"}).headers["X-Cache"] == "miss"
    assert _get(b, "/?q=Ada", **{"HX-Request": "true"}).headers["X-Cache"] == "hit"


def test_the_views_menu_makes_a_page_personal_whatever_was_cached(app, client_for, ann, ben):
    """The saved views shown (list_choices.menus, kept per user) make the page personal even when the
    menus come from a cache: ann's second list page must not go to ben through the shared page cache."""
    _write(app, lambda: saved_views.create_view(_actor(ann), {"name": "Anns secret view", "query": "status=lead"}))
    a, b = client_for(ann), client_for(ben)
    assert b"Anns secret view" in a.get("/").data
    assert b"Anns secret view" in a.get("/?status=lead").data  # the menus from the process's copy
    theirs = b.get("/?status=lead")
    assert b"Anns secret view" not in theirs.data and b"Ben Bolt" in theirs.data


def test_note_buttons_only_for_their_author(app, client_for, ann, ben, ada):
    _write(app, lambda: notes.add_note(_actor(ann), ada, "Written by Ann"))
    own = _get(client_for(ann), f"/contacts/{ada}")
    other = _get(client_for(ben), f"/contacts/{ada}")
    assert b"Written by Ann" in own.data and b"Written by Ann" in other.data
    assert b">Edit</button>" in own.data
    assert b">Edit</button>" not in other.data


# --- never stale: the next GET after each kind of write shows it ---------------------------------


def test_fresh_after_an_edit(app, client_for, ann, ben, ada):
    for url in (f"/contacts/{ada}", "/"):
        fresh = _cached_then(
            app,
            client_for(ann),
            client_for(ben),
            url,
            lambda url=url: contact_service.update_contact(
                _actor(ann), ada, {"first_name": f"Augusta{len(url)}"}, None
            ),
        )
        assert f"Augusta{len(url)}".encode() in fresh.data


def test_fresh_after_a_tag_change(app, client_for, ann, ben, ada):
    for url in (f"/contacts/{ada}", "/"):
        fresh = _cached_then(
            app,
            client_for(ann),
            client_for(ben),
            url,
            lambda url=url: taxonomy.add_tags(_actor(ann), [ada], [f"vip{len(url)}"]),
        )
        assert f"vip{len(url)}".encode() in fresh.data


def test_fresh_after_a_communication(app, client_for, ann, ben, ada):
    fresh = _cached_then(
        app,
        client_for(ann),
        client_for(ben),
        f"/contacts/{ada}",
        lambda: communications.log_communication(
            _actor(ann), ada, {"type": "call", "subject": "Ring back about the offer"}
        ),
    )
    assert b"Ring back about the offer" in fresh.data


def test_fresh_after_a_note(app, client_for, ann, ben, ada):
    fresh = _cached_then(
        app,
        client_for(ann),
        client_for(ben),
        f"/contacts/{ada}",
        lambda: notes.add_note(_actor(ann), ada, "Prefers mornings"),
    )
    assert b"Prefers mornings" in fresh.data


def test_fresh_after_a_team_membership_change(app, client_for, admin, ann, ben, team, ada):
    for url in (f"/contacts/{ada}", "/?q=Lovelace"):
        fresh = _cached_then(
            app,
            client_for(ann),
            client_for(ben),
            url,
            lambda: accounts.set_team_membership(_actor(admin), team.id, ben.id, False),
        )
        assert fresh.status_code == 404 or f"/contacts/{ada}".encode() not in fresh.data
        _write(app, lambda: accounts.set_team_membership(_actor(admin), team.id, ben.id, True))


def test_fresh_after_a_permission_change(app, client_for, admin, ann, ben, other_team, ada):
    """The contact moves to a team the readers are not in; then a reader is made a viewer."""
    fresh = _cached_then(
        app,
        client_for(ann),
        client_for(ben),
        f"/contacts/{ada}",
        lambda: contact_service.update_contact(_actor(admin), ada, {"owner_team_id": other_team.id}, None),
    )
    assert fresh.status_code == 404
    _write(app, lambda: contact_service.update_contact(_actor(admin), ada, {"owner_team_id": ann.team_ids[0]}, None))
    assert b">Edit</a>" in _get(client_for(ann), f"/contacts/{ada}").data
    _write(app, lambda: accounts.update_user(_actor(admin), ben.id, {"role": "viewer"}))
    with app.app_context():
        demoted = db.session.get(User, ben.id)
        _ = demoted.teams
        db.session.expunge_all()
    page = _get(client_for(demoted), f"/contacts/{ada}")
    assert page.status_code == 200 and b">Edit</a>" not in page.data


def test_fresh_after_a_delete(app, client_for, ann, ben, ada):
    for url in ("/", f"/contacts/{ada}"):
        fresh = _cached_then(
            app, client_for(ann), client_for(ben), url, lambda: contact_service.delete_contact(_actor(ann), ada)
        )
        assert fresh.status_code == 404 or f'/contacts/{ada}"'.encode() not in fresh.data
        _write(app, lambda: contact_service.restore_contact(_actor(ann), ada))


def test_fresh_after_a_contact_is_created(app, client_for, ann, ben, team, ada):
    fresh = _cached_then(
        app,
        client_for(ann),
        client_for(ben),
        "/",
        lambda: contact_service.create_contact(
            _actor(ann), {"first_name": "Newly", "last_name": "Made", "owner_team_id": team.id}
        ),
    )
    assert b"Newly" in fresh.data


# --- the stamps and the store -----------------------------------------------------------------


def test_a_write_changes_one_stripe_of_its_kind(app, ctx, member, team):
    cid = factories.contact(db.session.merge(team), "Stripe", "Test").id
    db.session.remove()
    before = stamps.read(stamps.page_scopes(None) + (stamps.contact_scope(cid),))
    db.session.add(Note(contact_id=cid, author_id=member.id, body="Stamped"))  # one transaction
    db.session.commit()
    after = stamps.read(before)
    changed = {n for n in before if before[n] != after[n]}
    assert stamps.contact_scope(cid) in changed
    assert len(changed & set(stamps.CONTACTS_STRIPES)) == 1 and not changed & set(stamps.SHARED_STRIPES)
    contact = db.session.get(Contact, cid)
    contact.first_name = "Renamed"  # its name shows on other pages: a shared stripe
    db.session.commit()
    again = stamps.read(before)
    assert len({n for n in stamps.SHARED_STRIPES if again[n] != after[n]}) == 1


def test_the_file_store_prunes_a_fifth_at_once(tmp_path):
    store = PageFileCache(str(tmp_path), threshold=10, default_timeout=0)
    for i in range(12):  # the 12th set finds 11 entries: over the threshold
        if i == 11:
            for k in range(11):  # written one second apart (file times may be coarser than a loop)
                os.utime(store._get_filename(f"k{k}"), (1_000_000 + k, 1_000_000 + k))
        store.set(f"k{i}", i)
    assert len([p for p in tmp_path.iterdir() if not store._is_mgmt(p.name)]) == 9  # 8 kept + the new one
    assert store._file_count == 9
    assert store.get("k11") == 11 and store.get("k10") == 10 and store.get("k0") is None


def test_a_restart_reads_the_count_the_folder_keeps(tmp_path):
    """Every worker's start used to count the files (~80 ms at 34,000 entries); the count is kept."""
    store = PageFileCache(str(tmp_path), threshold=10, default_timeout=0)
    for i in range(3):
        store.set(f"k{i}", i)
    (tmp_path / "written-by-hand").write_bytes(b"")  # not counted: the next start reads the count
    again = PageFileCache(str(tmp_path), threshold=10, default_timeout=0)
    assert again._file_count == 3 and again._threshold == 10
    again.delete(again._fs_count_file, mgmt_element=True)
    assert PageFileCache(str(tmp_path), threshold=10, default_timeout=0)._file_count == 4  # none kept: counted


def test_the_cache_is_shared_by_every_worker_of_the_host(app):
    backend = app.extensions["cache"][pages]
    assert type(backend).__name__ == ("RedisCache" if app.config.get("REDIS_URL") else "PageFileCache")


def test_an_unreachable_store_is_a_miss_not_an_error(app, client_for, ann, ada, monkeypatch):
    def down(*_args, **_kwargs):
        raise ConnectionError("store down")

    monkeypatch.setattr(pages, "get", down)
    monkeypatch.setattr(pages, "set", down)
    page = _get(client_for(ann), f"/contacts/{ada}")
    assert page.status_code == 200 and page.headers["X-Cache"] == "miss" and b"Ann Anders" in page.data


def test_templates_reading_who_the_viewer_is_make_the_page_personal(app, ann):
    from flask import g

    from core.views.page_cache import Viewer

    with app.test_request_context():
        user = db.session.get(User, ann.id)
        viewer = Viewer(user, "placeholder")
        assert (viewer.role, viewer.team_ids, viewer.display_name) == ("member", user.team_ids, "placeholder")
        assert not g.get("contacts_personal")
        assert viewer.email == user.email
        assert g.contacts_personal
