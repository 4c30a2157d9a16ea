"""Panels (``core.ui.Panel``, from ``contacts_contact_panels`` and ``contacts_dashboard_widgets``) whose
body is rendered into the page itself.

A lazy panel is a request of its own after the page: session, user, permissions and the record loaded
again, ~1 ms of Python before the panel does any work, twelve times on a contact page. A panel marked
``inline=True`` is answered by calling its own view in the page's request instead, so the page arrives
complete and the panel's URL keeps serving its reloads (``hx-trigger`` inside the body). Whatever
cannot be rendered that way (a query string, an access rule other than "logged in", an error or a
non-200 answer) is left to load lazily as before, so an inline panel never breaks the page.
"""

from __future__ import annotations

import logging

from flask import current_app, request
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from ..access import rule_of

log = logging.getLogger(__name__)
INLINE_RULES = ("login", "public")  # a panel view with a stricter rule is checked by its own request


def inline_bodies(panels) -> dict[str, Markup]:
    """panel key -> its body's HTML, for the panels marked ``inline`` that rendered."""
    wanted = [p for p in panels if getattr(p, "inline", False)]
    if not wanted or request.args:  # panel views read their own query string (cursor, filters), not the page's
        return {}
    adapter = current_app.url_map.bind_to_environ(request.environ)
    bodies = {}
    for panel in wanted:
        body = _render(adapter, panel)
        if body is not None:
            bodies[panel.key] = body
    return bodies


def _render(adapter, panel) -> Markup | None:
    path, _, query = panel.url.partition("?")
    if query:
        return None
    try:
        endpoint, args = adapter.match(path, method="GET")
    except HTTPException:
        return None
    view = current_app.view_functions.get(endpoint)
    if view is None or rule_of(view) not in INLINE_RULES:
        return None
    try:
        response = current_app.make_response(view(**args))
    except Exception:  # noqa: BLE001 - a panel must not break the page; its lazy load shows the error
        log.warning("inline panel %s failed; left to load lazily", panel.key, exc_info=True)
        return None
    if response.status_code != 200:
        return None
    return Markup(response.get_data(as_text=True))  # noqa: S704 - the panel view rendered it with autoescape
