"""The contacts list's page around its rows (its "chrome": the navigation, the toolbar and its
menus, the filter builder, the saved views, the bulk-action bar, the table's head), kept rendered in
this process per user and URL, so that a list page renders only its rows. HTMX answers keep theirs
too: a fragment's out-of-band parts (the builder, the filter's inputs, the count), and for every
answer what the rows read of the page (the columns and their labels, the permissions).

What the chrome shows is decided by the user, the URL and rows only the shared stamps cover
(vocabularies, organizations, tags, groups, categories, custom fields, saved views, teams, the
user's own row: core/services/stamps.py). It is kept with ``stamps.local`` under the user and the
URL: any write that could change it moves it to another key, and nothing has to invalidate it.
What it shows of the request stays the request's:

- the CSRF token: rendered as a mark (derived from the secret key, so no value can plant it) where
  ``csrf_token()`` was, and the request's token (``generate_csrf``: the session's, or the shared
  page cache's placeholder while that renders) put in its place for each answer;
- flashed messages: a request with flashes pending renders the whole page and keeps nothing;
- the user's own parts (their personal saved views, whether they may change the view shown): the
  key holds the user, and a chrome whose making said ``policy.personal()`` says it again each time
  it is served, so the shared page cache keeps such a page for its user only;
- the shared page cache's rendering (core/views/page_cache.py: its placeholders for the token and
  the viewer's name) is kept as another entry.

A page whose listing found a problem (422) is rendered whole.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import NamedTuple

from flask import current_app, g, make_response, render_template, request, session
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from ..policy import personal
from ..services import stamps
from . import page_cache

TEMPLATE = "core/contacts/index.html"
ROWS_BLOCK = "rows"
OOB_BLOCK = "oob"  # a fragment's out-of-band parts: the filter's hidden inputs, the builder, the count
# What the rows block and the rows' HTML read of the page beside the rows themselves: kept with it.
ROW_KEYS = ("columns", "column_labels", "may_bulk", "user_can", "type_labels", "status_labels", "team_labels",
            "oob_parts")
PAGE, OOB, ROWS = "page", "oob", "rows"  # what is kept: a full page; a fragment's parts; "load more"'s nothing
_MARKS = "contacts_list_chrome_marks"  # app.extensions
_PERSONAL = "contacts_personal"  # g, as policy.personal() sets it


class Chrome(NamedTuple):
    before: tuple[bytes, ...]  # the page before its rows, split where the CSRF token goes, encoded (b"" for a fragment)
    after: tuple[bytes, ...]  # and after them
    oob: tuple[str, ...] | None  # a fragment's out-of-band parts (the oob block), split likewise
    rows: dict  # ROW_KEYS' values: read only, shared by every answer
    personal: bool  # its making said policy.personal()


def _marks() -> tuple[str, str]:
    """(where the rows go, where the CSRF token goes), derived from the secret key."""
    found = current_app.extensions.get(_MARKS)
    if found is None:
        secret = current_app.secret_key
        secret = secret if isinstance(secret, bytes) else secret.encode()
        digest = hmac.new(secret, b"contacts list chrome", hashlib.sha256).hexdigest()
        found = current_app.extensions[_MARKS] = (f"<!--rows{digest[:24]}-->", f"csrf{digest[24:48]}")
    return found


def kind_to_keep(*, fragment: bool, more: bool, search: str) -> str | None:
    """What of this answer comes from (and goes to) the kept chrome: nothing with flashes to show, nor
    for active search's fragments (each keystroke asks another URL: their entries would only push
    out those in use; their "load more" pages share one)."""
    if session.get("_flashes"):
        return None
    if not fragment:
        return PAGE
    if more:
        return ROWS
    return None if search else OOB


def kept(user, kind: str, make_context: Callable[[], dict]) -> Chrome:
    """This user's chrome of ``kind`` for this URL: kept, or rendered from ``make_context()`` (the
    page's context but its rows) and kept. "load more" pages (``ROWS``) differ by their cursor only:
    one entry serves them all."""
    url = request.full_path
    if kind == ROWS:
        url = (request.path, tuple((k, v) for k, v in request.args.items(multi=True) if k != "cursor"))
    chrome = stamps.local(
        "list-chrome", kind, user.id, request.script_root, url, page_cache.rendering_shared(),
        make=lambda: _render(kind, make_context),
    )
    if chrome.personal:
        personal()
    return chrome


def _render(kind: str, make_context) -> Chrome:
    rows_mark, csrf_mark = _marks()
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    earlier = g.pop(_PERSONAL, None)  # said by this request before: not the chrome's
    token = g.pop(field, None)  # the request's token (or the page cache's placeholder), if made already
    setattr(g, field, csrf_mark)  # what csrf_token() gives while the chrome renders
    try:
        context = make_context()
        if kind == PAGE:
            html = render_template(TEMPLATE, rows_mark=Markup(rows_mark), **context)  # noqa: S704 - our own constant
        elif kind == OOB:
            html = rows_mark + render_block(TEMPLATE, OOB_BLOCK, **context)
        else:
            html = rows_mark
    finally:
        g.pop(field, None)
        if token is not None:
            setattr(g, field, token)
        own = bool(g.pop(_PERSONAL, None))
        if own or earlier:
            setattr(g, _PERSONAL, True)
    before, found, after = html.partition(rows_mark)
    if not found or rows_mark in after:  # cannot happen: the template prints the mark once
        raise RuntimeError("the list template printed the rows mark other than once")
    rows = {key: context[key] for key in ROW_KEYS if key in context}
    split = tuple(after.split(csrf_mark))
    if kind == OOB:
        return Chrome((b"",), (b"",), split, rows, own)
    return Chrome(tuple(p.encode() for p in before.split(csrf_mark)), tuple(p.encode() for p in split), None, rows, own)


def respond(chrome: Chrome, rows: dict, row_html: list[str]):
    """The answer: the chrome with this request's rows (the template's rows block, from ``rows``,
    ``row_html`` (a string a row) and the chrome's ``rows``) and this request's CSRF token in it.

    Made as bytes: the chrome is kept encoded, and the rows are encoded one by one. A page was one
    string, which a single name beyond Latin-1 made two bytes a character throughout (the chrome
    copied and widened into it), then encoded character by character."""
    parts = (chrome.before, chrome.after, chrome.oob or ("",))
    token = generate_csrf() if any(len(p) > 1 for p in parts) else ""
    oob = {} if chrome.oob is None else {"oob_html": Markup(token.join(chrome.oob))}  # noqa: S704 - rendered
    rows_mark = _marks()[0]
    block = render_block(TEMPLATE, ROWS_BLOCK, **chrome.rows, **oob, **rows, rows_html=Markup(rows_mark))  # noqa: S704
    head, found, tail = block.partition(rows_mark)
    if not found:  # cannot happen: the rows block prints rows_html once
        raise RuntimeError("the list's rows block did not print its rows")
    encoded = token.encode()
    body = b"".join((encoded.join(chrome.before), head.encode(), *(row.encode() for row in row_html), tail.encode(),
                     encoded.join(chrome.after)))
    response = make_response(body, 200)
    response.vary.add("HX-Request")  # as rendering.page says
    return response
