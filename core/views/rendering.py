"""Full page on a normal request, just the fragment on an HTMX one."""

from __future__ import annotations

from flask import make_response, render_template, request, url_for
from flask_htmx import HTMX
from jinja2_fragments.flask import render_block

from ..extensions import htmx


def fragment_request() -> bool:
    """An HTMX request that is not a boosted navigation or a history restore (both need the whole page)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def page(template: str, block: str | None = None, status: int = 200, **context):
    """Render ``template``; for a ``fragment_request``, only ``block``."""
    if block and fragment_request():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def fragment(template: str, block: str, status: int = 200, **context):
    response = make_response(render_block(template, block, **context), status)
    response.vary.add("HX-Request")
    return response


ID_MARK = 2147483647  # the largest id a route accepts; url_for with it, then the real id put in its place


def url_parts(endpoint: str, arg: str, **values) -> tuple[str, str]:
    """``url_for(endpoint, **{arg: <id>}, **values)`` as the text (before, after) the id, built once a
    process (``link``): url_for costs ~20 µs, and a list page wants a link or two per row."""
    before, _, after = link(endpoint, **{arg: ID_MARK}, **values).partition(str(ID_MARK))
    return before, after


_LINKS: dict = {}


def link(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` for a link whose arguments are constants (the navigation, the
    stylesheet, a form's action): the same text on every request under one script root, so built
    once a process. url_for costs ~10-20 µs; a list page has ~20 such links."""
    key = (request.script_root, endpoint, *sorted(values.items()))
    found = _LINKS.get(key)
    if found is None:
        if len(_LINKS) >= 512:  # only templates' constants come here: a bound in case of a mistake
            _LINKS.clear()
        found = _LINKS[key] = url_for(endpoint, **values)
    return found


__all__ = ["HTMX", "fragment", "fragment_request", "link", "page", "url_parts"]
