"""Conditional GET for every page about one contact (the contact page, its panels, its forms) and
for the pages that list contacts (views marked ``@conditional.lists_contacts``: the list, search).

Such a page is a function of: the data of its scopes (``core/services/stamps.py``: the contact's
own stamp and the shared ones, or for a list every contacts stripe and the shared ones, all
changed in the transaction of any write that could change the page); who asks (user, role,
teams, session token, the session's CSRF token that forms embed); what is asked (the URL with its
query, the htmx headers that pick the fragment, but ``HX-Current-URL``: no view reads it, and it
would split the shared page cache by the page a request came from); and the code
(the build: version, enabled plugins, the files' times). The ETag is a hash of all of these,
computed BEFORE the view runs and from one query, so a browser that sends it back in
``If-None-Match`` gets a 304 without anything being rendered. Browsers (and htmx's requests
through them) do this by themselves once the answer says ``Cache-Control: private, no-cache``
(keep it, but ask every time) instead of ``no-store``.

Skipped (the view runs as usual): requests that are not GET/HEAD, the API (its ETags are record
versions for If-Match), anonymous users, a session holding flash messages (the page would show
and consume them), answers other than 200, and views marked with ``@conditional.exempt``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .. import __version__
from ..config import PROJECT_ROOT
from ..services import stamps

_EXEMPT = "_contacts_no_conditional"
_LISTS = "_contacts_lists_contacts"
CACHE_CONTROL = "private, no-cache"
_VERSION = "contacts.page_version"  # request.environ: (scope, page_version(scope))
LIST = "list"  # the page scope of a view marked lists_contacts (a contact page's is its id)


def exempt(view):
    """Never answer this view with a 304 (it depends on something no stamp covers)."""
    setattr(view, _EXEMPT, True)
    return view


def lists_contacts(view):
    """This GET view shows contacts, their chips and what the shared stamps cover, nothing else:
    any write to any contact may change it (``stamps.page_scopes(None)``)."""
    setattr(view, _LISTS, True)
    return view


def marked(view, attr: str) -> bool:
    while view is not None:
        if getattr(view, attr, False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def build_id(app: Flask) -> str:
    """Changes with the code: the version, the enabled plugins and the newest source or template
    file (a deploy touches them); ``CONTACTS_BUILD_ID`` overrides it."""
    explicit = os.environ.get("CONTACTS_BUILD_ID")
    if explicit:
        return explicit
    plugins = sorted((n, i.version) for n, i in app.extensions.get("contacts_plugins", {}).items() if i.enabled)
    roots = {PROJECT_ROOT / "core", PROJECT_ROOT / "templates", PROJECT_ROOT / "plugins"}
    roots |= {Path(bp.root_path) for bp in app.blueprints.values()}
    newest = 0
    for root in roots:
        for folder, _dirs, files in os.walk(root):
            for name in files:
                if name.endswith((".py", ".html")):
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    return hashlib.sha256(repr((__version__, plugins, newest)).encode()).hexdigest()[:16]


def view_scope():
    """The scope of the current request's view, whoever asks: a contact id, ``LIST``, or None."""
    if request.method not in ("GET", "HEAD") or request.path.startswith("/api/"):
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or marked(view, _EXEMPT):
        return None
    contact_id = (request.view_args or {}).get("contact_id")
    if isinstance(contact_id, int):
        return contact_id
    return LIST if marked(view, _LISTS) else None


def page_scope():
    """The scope of the current request's page: a contact id, ``LIST``, or None (not versioned).
    What the view is comes first: most requests are not versioned, and need no user loaded."""
    scope = view_scope()
    if scope is None or not current_user.is_authenticated or session.get("_flashes"):
        return None
    return scope


def read_stamps_first() -> None:
    """For the session's user loader, before it reads the user: a versioned page reads its stamps
    now rather than after the user (``page_version``, kept for the request), so the user's rows
    can come from the process's copy kept under them (core/services/identity_snapshot.py)."""
    scope = view_scope()
    if scope is not None:
        page_version(scope)


def htmx_headers() -> list:
    """The request's htmx headers but the page it was sent from (no view reads that one)."""
    return sorted((k, v) for k, v in request.headers.items()
                  if k.lower().startswith("hx-") and k.lower() != "hx-current-url")


def page_version(scope) -> tuple:
    """What the answer to this request is a function of, but the user: the build, the stamps of the
    scope (read once a request), the URL and the htmx headers."""
    environ = request.environ  # the request's own (g may outlive it: a test's requests share an app context)
    found = environ.get(_VERSION)
    if found is None or found[0] != scope:
        stamped = stamps.page_version(None if scope == LIST else scope)
        found = environ[_VERSION] = (scope, (current_app.extensions["contacts_build"], stamped, request.full_path,
                                             htmx_headers()))
    return found[1]


def etag_for(scope) -> str:
    """The ETag of the current request's answer (see the module's docstring for its parts)."""
    user = current_user._get_current_object()
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field not in session:
        generate_csrf()  # the page would create the session's token: make it part of this first key
    parts = (
        page_version(scope),
        user.id, user.role, sorted(t.id for t in user.teams), user.session_token, session.get(field),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _before():
    scope = g.contacts_page_scope = page_scope()
    if scope is None:
        return None
    tag = g.contacts_etag = etag_for(scope)
    if tag in request.if_none_match:
        response = current_app.response_class(status=304)
        response.headers["X-Cache"] = "hit"
        return _mark(response, tag)
    return None


def after(response):
    tag = g.pop("contacts_etag", None)
    if tag is not None and response.status_code == 200 and not response.direct_passthrough:
        response.headers.setdefault("X-Cache", "miss")
        _mark(response, tag)
    return response


def _mark(response, tag: str):
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.update(("HX-Request", "Cookie"))
    return response


def init_app(app: Flask) -> None:
    """Register after the access check (``access.enforce``): a 304 goes only to whom may see. Its
    answer's half, ``after``, runs in core/setup.py's one after-request hook."""
    app.extensions["contacts_build"] = build_id(app)
    app.before_request(_before)
