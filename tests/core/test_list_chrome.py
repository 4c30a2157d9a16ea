"""The contacts list's full page around its rows, kept rendered per user and URL in the process
(core/views/list_chrome.py): the same page as one rendered whole; made again after any write that
changes what it shows; never another user's; flashes, the CSRF token and the user's own saved views
stay per request; the shared page cache's rendering is kept apart."""

from __future__ import annotations

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from core.extensions import db, pages
from core.models import User
from core.services import accounts, groups, organizations, saved_views, tags, vocabulary
from core.views import list_chrome
from tests import factories

FRESH = {"Cache-Control": "no-cache"}  # the render path: the shared page cache neither read nor written
TOKEN = re.compile(r'(name="csrf_token" value="|"X-CSRFToken": ")([^"]+)"')


@pytest.fixture
def made(monkeypatch):
    """How many times the chrome was rendered (not taken from the kept copy)."""
    calls = []
    render = list_chrome._render

    def counted(kind, make_context):
        calls.append(kind)
        return render(kind, make_context)

    monkeypatch.setattr(list_chrome, "_render", counted)
    return calls


def _write(app, fn):
    with app.test_request_context():
        fn()
        db.session.remove()


def _actor(user):
    return db.session.get(User, user.id)


def _page(client, url="/", **headers) -> str:
    resp = client.get(url, headers={**FRESH, **headers})
    assert resp.status_code == 200, resp.data[:300]
    return resp.get_data(as_text=True)


def _forget_pages(app) -> None:
    with app.app_context():  # this app's store (outside one, the cache's last app)
        pages.clear()


def _masked(html: str) -> str:
    return TOKEN.sub(r"\1<csrf>", html)


def _fresh_user(app, user_id):
    """The user as the database has them now (a role change logs them out: a new session token)."""
    with app.app_context():
        found = db.session.get(User, user_id)
        _ = found.teams
        db.session.expunge_all()
        return found


HX = {"HX-Request": "true"}
URLS = ("/", "/?status=lead&sort=-created", "/?f=status.is.lead&f=or&f=type.is.person", "/?tag={tag}&q=ada",
        "/?b=1&r0_field=status&r0_op=is&r0_value=lead&r0_group=0&r1_field=type&r1_op=is&r1_value=person&r1_group=1")


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "fragment"])
@pytest.mark.parametrize("url", URLS)
def test_the_kept_page_is_the_page_rendered_whole(app, client_for, team, ann, made, monkeypatch, url, headers):
    with app.app_context():
        t = db.session.merge(team)
        factories.contact(t, "Ada", "Lovelace", status="lead")
        factories.contact(t, "Alan", "Turing")
    _write(app, lambda: saved_views.create_view(_actor(ann), {"name": "Leads", "query": "status=lead"}))
    _write(app, lambda: tags.create_tag(_actor(ann), {"name": "Gold"}))
    with app.app_context():
        url = url.format(tag=db.session.scalar(db.select(tags.Tag.id)))
    client = client_for(ann)
    first, kept = client.get(url, headers={**FRESH, **headers}), client.get(url, headers={**FRESH, **headers})
    searching = "q=" in url and headers
    assert len(made) == (0 if searching else 1)  # the second from the kept chrome (not for active search)
    monkeypatch.setattr(list_chrome, "kind_to_keep", lambda **_: None)  # rendered whole, as before the chrome was kept
    whole = client.get(url, headers={**FRESH, **headers})
    assert first.status_code == kept.status_code == whole.status_code == 200
    assert first.headers.get("HX-Push-Url") == kept.headers.get("HX-Push-Url") == whole.headers.get("HX-Push-Url")
    assert ("HX-Push-Url" in whole.headers) == ("b=1" in url and bool(headers))
    first, kept, whole = (r.get_data(as_text=True) for r in (first, kept, whole))
    assert _masked(first) == _masked(kept) == _masked(whole)
    if headers:
        assert 'id="filter-builder"' in kept and "Ann Anders" not in kept
    else:
        assert "Ann Anders" in kept and "Leads" in kept
    with app.test_request_context():
        marks = list_chrome._marks()
    assert not any(m in kept for m in marks)


def test_load_more_pages_share_one_entry(app, client_for, team, ann, made):
    with app.app_context():
        t = db.session.merge(team)
        for i in range(120):
            factories.contact(t, "Ann", f"Name{i:03d}")
    client = client_for(ann)
    html = _page(client, "/?sort=-created", **HX)
    cursors = []
    for _ in range(2):
        next_url = re.search(r'<tr class="more" hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
        cursors.append(next_url)
        html = _page(client, next_url, **HX)
        assert 'id="filter-builder"' not in html and html.count("<tr id=") > 0
    assert made == ["oob", "rows"]  # the first fragment's parts, then one for every "load more" of this list


def test_active_search_fragments_keep_nothing(app, client_for, ann, made):
    client = client_for(ann)
    for q in ("a", "ad", "ada", "ada"):
        assert 'id="filter-builder"' in _page(client, f"/?q={q}", **HX)
    assert made == []


def test_each_url_and_each_user_their_own(app, client_for, ann, ben, made):
    _write(app, lambda: saved_views.create_view(_actor(ann), {"name": "Anns secret view", "query": "status=lead"}))
    a, b = client_for(ann), client_for(ben)
    assert "Anns secret view" in _page(a) and "Ann Anders" in _page(a)
    theirs = _page(b)
    assert "Anns secret view" not in theirs and "Ann Anders" not in theirs and "Ben Bolt" in theirs
    _page(a, "/?status=lead")
    assert len(made) == 3  # ann's "/", ben's "/", ann's "/?status=lead"
    for _ in range(2):
        assert "Anns secret view" not in _page(b) and "Anns secret view" in _page(a)
    assert len(made) == 3


def test_the_csrf_token_is_the_sessions_own(app, client_for, ann, made):
    """Two sessions of one user share the kept chrome; each page carries its own session's token."""
    signer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    for client in (client_for(ann), client_for(ann)):
        html = _page(client)
        tokens = {token for _before, token in TOKEN.findall(html)}
        assert len(tokens) == 1 and len(TOKEN.findall(html)) >= 3  # page header, log out, bulk actions
        with client.session_transaction() as sess:
            assert signer.loads(tokens.pop()) == sess["csrf_token"]
    assert len(made) == 1


def test_a_kept_page_posts_with_its_token(app, client_for, team, ann):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = client_for(ann)
        _page(client)
        token = TOKEN.findall(_page(client))[0][1]  # from the kept chrome
        created = client.post("/contacts/new", data={"first_name": "Kim", "last_name": "Kept", "csrf_token": token,
                                                     "owner_team_id": team.id})
        assert created.status_code in (200, 302, 303) and b"form expired" not in created.data
        refused = client.post("/contacts/new", data={"first_name": "Kim", "last_name": "Kept", "csrf_token": "forged"})
        assert refused.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_flash_is_shown_once(app, client_for, ann, made):
    client = client_for(ann)
    _page(client)
    with client.session_transaction() as sess:
        sess["_flashes"] = [("success", "Saved just now.")]
    assert "Saved just now." in _page(client)  # rendered whole: the kept chrome has no flash in it
    assert len(made) == 1
    assert "Saved just now." not in _page(client)
    with client.session_transaction() as sess:
        assert not sess.get("_flashes")


def test_a_page_with_a_problem_is_rendered_whole(app, client_for, ann, made):
    client = client_for(ann)
    for _ in range(2):
        resp = client.get("/?sort=nonsense", headers=FRESH)
        assert resp.status_code == 422 and b"This sort does not exist" in resp.data
    assert made == []


def _made_again_after(app, client, made, write, url="/") -> str:
    _page(client, url)
    _page(client, url)
    before = len(made)
    _write(app, write)
    html = _page(client, url)
    assert len(made) == before + 1, "the chrome was not made again after the write"
    return html


def test_made_again_after_a_status_is_added(app, client_for, admin, ann, made):
    html = _made_again_after(app, client_for(ann), made,
                             lambda: vocabulary.add_term(_actor(admin), "status", "dormant", "Dormant"))
    assert '<option value="dormant">Dormant</option>' in html


def test_a_fragments_builder_made_again_after_a_status_is_added(app, client_for, admin, ann, made):
    client = client_for(ann)
    _page(client, "/?f=status.is.lead", **HX)
    _page(client, "/?f=status.is.lead", **HX)
    assert len(made) == 1
    _write(app, lambda: vocabulary.add_term(_actor(admin), "status", "dormant", "Dormant"))
    html = _page(client, "/?f=status.is.lead", **HX)
    assert len(made) == 2 and '<option value="dormant">Dormant</option>' in html  # the builder's value select


def test_made_again_after_a_saved_view_is_created_renamed_and_deleted(app, client_for, ann, made):
    client = client_for(ann)
    assert "Hot leads" in _made_again_after(
        app, client, made, lambda: saved_views.create_view(_actor(ann), {"name": "Hot leads", "query": "status=lead"}))
    with app.app_context():
        view_id = db.session.scalar(db.select(saved_views.SavedView.id))
    html = _made_again_after(app, client, made, lambda: saved_views.update_view(_actor(ann), view_id, {"name": "Cold leads"}))
    assert "Cold leads" in html and "Hot leads" not in html
    shown = _made_again_after(app, client, made, lambda: saved_views.update_view(_actor(ann), view_id, {"name": "Warm"}),
                              url=f"/?view={view_id}")
    assert 'view-name">· Warm</span>' in shown
    assert "Warm" not in _made_again_after(app, client, made, lambda: saved_views.delete_view(_actor(ann), view_id))


def test_made_again_after_a_tag_group_or_organization_is_added(app, client_for, ann, team, made):
    client = client_for(ann)
    html = _made_again_after(app, client, made, lambda: tags.create_tag(_actor(ann), {"name": "Gold"}))
    assert ">Gold</option>" in html
    html = _made_again_after(app, client, made,
                             lambda: groups.create_group(_actor(ann), {"name": "Board", "owner_team_id": team.id}))
    assert ">Board</option>" in html
    html = _made_again_after(app, client, made,
                             lambda: organizations.create_organization(_actor(ann), {"name": "Initech", "owner_team_id": team.id}))
    assert ">Initech</option>" in html


def test_made_again_after_a_team_or_role_change(app, client_for, admin, ann, other_team, made):
    _write(app, lambda: groups.create_group(_actor(admin), {"name": "Far group", "owner_team_id": other_team.id}))
    client = client_for(ann)
    assert "Far group" not in _page(client)
    html = _made_again_after(app, client, made,
                             lambda: accounts.set_team_membership(_actor(admin), other_team.id, ann.id, True))
    assert ">Far group</option>" in html  # the group filter offers the new team's groups
    assert ">New contact</a>" in html and 'id="bulk-form"' in html
    _write(app, lambda: accounts.update_user(_actor(admin), ann.id, {"role": "viewer"}))
    demoted = client_for(_fresh_user(app, ann.id))  # a role change ends the user's sessions
    html = _page(demoted)
    assert ">New contact</a>" not in html and 'id="bulk-form"' not in html


# --- with the shared page cache (core/views/page_cache.py) ------------------------------------------


def test_the_shared_page_caches_rendering_is_kept_apart(app, client_for, ann, made):
    client = client_for(ann)
    cached = client.get("/")  # rendered for the shared cache: placeholders for the token and the name
    assert cached.headers["X-Cache"] == "miss"
    fresh = _page(client)  # no-cache: the real token and name
    assert len(made) == 2
    assert _masked(cached.get_data(as_text=True)) == _masked(fresh)
    _forget_pages(app)
    again = client.get("/")
    assert again.headers["X-Cache"] == "miss" and len(made) == 2  # its own kept chrome, served with its placeholders
    assert _masked(again.get_data(as_text=True)) == _masked(fresh)


def test_a_kept_chrome_with_personal_views_keeps_the_page_personal(app, client_for, ann, ben, made):
    """Served from the kept chrome, a page showing ann's own saved views is still kept for ann only."""
    _write(app, lambda: saved_views.create_view(_actor(ann), {"name": "Anns secret view", "query": "status=lead"}))
    a, b = client_for(ann), client_for(ben)
    assert b"Anns secret view" in a.get("/").data
    _forget_pages(app)  # the page cache forgets; the kept chrome stays
    assert b"Anns secret view" in a.get("/").data and len(made) == 1
    theirs = b.get("/")
    assert b"Anns secret view" not in theirs.data and b"Ben Bolt" in theirs.data

