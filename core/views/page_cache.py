"""A cache of rendered pages shared by every user with the same rights, for the pages read most:
views marked ``@page_cache.shared`` (the contact page, the contacts list and its search results).

An entry's key is the page's version as conditional GETs compute it (``conditional.page_version``:
the build, the stamps of the page's scopes, the URL with its query, the htmx headers) and the
viewer's permission scope (role and team ids), so users with the same rights share entries and any
write that could change the page changes the key: an entry is never served stale, it is simply
no longer asked for (entries expire, and the file store is bounded: core/page_store.py).

What a page shows of its viewer is never in an entry:
- the CSRF token (forms, htmx headers) and the name in the header are rendered as placeholders
  (derived from the secret key, so nobody can plant one) and filled in for each answer, a hit or
  the miss that rendered it;
- pending flash messages make the request skip the cache (``conditional.page_scope``), and an
  answer whose rendering changed the session (a flash, a login) is not stored;
- anything else of the viewer's own (their personal saved views, the buttons on notes they wrote)
  is read by code that calls ``policy.personal()``; such an answer is stored under a key that also
  holds the user id, and the shared key holds a marker that sends later lookups there. In
  templates, ``current_user`` is a stand-in that calls it for anything but role and teams.

There is no locale or time zone per user yet: nothing else varies. A request with
``Cache-Control: no-cache`` neither reads nor writes the cache (the bench measures the render path
so). Answers carry ``X-Cache: hit`` or ``miss`` (or ``bypass``), as conditional GETs' 304s do.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import zlib

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from ..extensions import pages
from ..policy import personal
from . import conditional

log = logging.getLogger(__name__)
_SHARED = "_contacts_shared_page"
PERSONAL = "personal"  # stored under the shared key when the answer was the viewer's own
KEPT_HEADERS = ("Content-Type", "HX-Push-Url", "HX-Trigger", "HX-Retarget", "HX-Reswap")


def shared(view):
    """Serve this GET view's answers from the shared page cache (a page about one contact, or a
    view also marked ``conditional.lists_contacts``)."""
    setattr(view, _SHARED, True)
    return view


def _placeholders() -> tuple[bytes, bytes]:
    found = current_app.extensions.get("contacts_page_marks")
    if found is None:
        secret = current_app.secret_key
        secret = secret if isinstance(secret, bytes) else secret.encode()
        digest = hmac.new(secret, b"contacts page cache", hashlib.sha256).hexdigest()
        found = current_app.extensions["contacts_page_marks"] = (
            f"csrf{digest[:24]}".encode(),
            f"name{digest[24:48]}".encode(),
        )
    return found


class Viewer:
    """``current_user`` in templates while a shared page renders: the name is a placeholder, and
    reading anything but what the permission scope holds marks the page personal."""

    SCOPE = frozenset({"role", "team_ids", "teams", "is_authenticated", "is_active", "is_anonymous"})

    def __init__(self, user, name: str):
        self._user = user
        self.display_name = name

    def __getattr__(self, name):
        if name not in self.SCOPE:
            personal()
        return getattr(self._user, name)


def rendering_shared() -> bool:
    """Whether the answer being rendered goes to the shared cache (its placeholders in it)."""
    return g.get("contacts_page_key") is not None


def _viewer() -> dict:
    if not rendering_shared():
        return {}
    return {"current_user": Viewer(current_user._get_current_object(), _placeholders()[1].decode())}


def _key(scope, user, own: bool = False) -> str:
    parts = (conditional.page_version(scope), user.role, sorted(user.team_ids or ()))
    if own:
        parts += (user.id,)
    return "page:" + hashlib.sha256(repr(parts).encode()).hexdigest()[:40]


def _store(method: str, *args):
    """A call to the store that cannot fail the page: an unreachable Redis is a miss, not a 500."""
    try:
        return getattr(pages, method)(*args)
    except Exception:  # noqa: BLE001 - any backend error
        log.warning("page cache %s failed", method, exc_info=True)
        return None


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _fill(body: bytes) -> bytes:
    """The answer for this viewer: their CSRF token and name in place of the placeholders."""
    csrf_mark, name_mark = _placeholders()
    if csrf_mark in body:
        body = body.replace(csrf_mark, generate_csrf().encode())
    if name_mark in body:
        body = body.replace(name_mark, str(escape(current_user.display_name)).encode())
    return body


def _before():
    g.pop("contacts_personal", None)  # as set by policy.personal() in this request only
    scope = g.get("contacts_page_scope")
    if scope is None or not conditional.marked(current_app.view_functions.get(request.endpoint), _SHARED):
        return None
    if request.cache_control.no_cache:
        g.contacts_page_bypass = True
        return None
    user = current_user._get_current_object()
    key = _key(scope, user)
    entry = _store("get", key)
    if entry == PERSONAL:
        entry = _store("get", _key(scope, user, own=True))
    if entry is not None:
        body, headers = entry
        response = current_app.response_class(_fill(zlib.decompress(body)), headers=headers)
        response.headers["X-Cache"] = "hit"
        return response
    g.contacts_page_key = key
    g.contacts_page_session = dict(session)
    g.contacts_page_csrf = g.pop(_csrf_field(), None)  # the real token, if this request made one already
    setattr(g, _csrf_field(), _placeholders()[0].decode())  # what csrf_token() gives while the page renders
    return None


def after(response):
    if g.pop("contacts_page_bypass", False):
        response.headers["X-Cache"] = "bypass"
        return response
    key = g.pop("contacts_page_key", None)
    if key is None:
        return response
    real = g.pop("contacts_page_csrf", None)
    g.pop(_csrf_field(), None)
    if real is not None:
        setattr(g, _csrf_field(), real)
    if response.direct_passthrough:  # a file sent as is: no template, no placeholder
        return response
    body = response.get_data()
    if response.status_code == 200 and dict(session) == g.pop("contacts_page_session", None):
        entry = (zlib.compress(body, 1), [(k, v) for k, v in response.headers.items() if k in KEPT_HEADERS])
        if g.get("contacts_personal"):  # the marker under the shared key, the page under the user's
            user = current_user._get_current_object()
            _store("set_many", {key: PERSONAL, _key(g.contacts_page_scope, user, own=True): entry})
        else:  # the same for everyone with these rights (even where a marker was: it said more than needed)
            _store("set", key, entry)
    response.set_data(_fill(body))
    response.headers["X-Cache"] = "miss"
    return response


def init_app(app: Flask) -> None:
    """Register after ``conditional.init_app``: its 304s come first, and its page scope is reused.
    Its answer's half, ``after``, runs in core/setup.py's one after-request hook (before conditional's)."""
    app.before_request(_before)
    app.context_processor(_viewer)
