"""Full page on a normal request, just the fragment on an HTMX one."""

from __future__ import annotations

from flask import make_response, render_template
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


__all__ = ["HTMX", "fragment", "fragment_request", "page"]
