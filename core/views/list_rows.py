"""The contacts list's rows as HTML, built in Python: the page's hottest markup.

A list page prints 50 rows of ~8 cells. Through Jinja each value is an attribute lookup through
the environment's ``getattr``, an ``escape`` into a new ``Markup`` and a join, and every row walks the
columns' ``elif`` chain: about half the CPU of a page. Here what is the same on every row (the
links' prefixes, the CSRF token, the chosen columns' cell builders, the labels) is worked out once
per page, and a row is one string built from pieces, only its own values escaped. The markup is
what the ``_rows.html`` template made, byte for byte; a plugin's row button still comes from the
``action_button`` macro (``_action.html``) the contact page uses. index.html prints ``rows_html``
(the rows joined); a page kept around its rows (list_chrome.py) encodes them one by one.
"""

from __future__ import annotations

import functools
from operator import attrgetter

from flask import get_template_attribute
from markupsafe import Markup, escape

from ..services.fields import format_phone

try:  # markupsafe's escape of a str, without wrapping it in a Markup: ~30 ns instead of ~480 (escape), for
    # the values of each row (name, email, phone, organization: ~200 a page)
    from markupsafe import _escape_inner as escape_text
except ImportError:  # pragma: no cover - a markupsafe without it
    def escape_text(value: str) -> str:
        return str(escape(value))


@functools.lru_cache(maxsize=4096)  # parsing costs ~40 µs a number: 2 ms a list page; the result depends only on it
def phone(value) -> str:
    return format_phone(value or "")


def select_options(options, selected=None) -> Markup:
    """``<option>``s for ``options`` ((value, text) pairs), the one whose value (as text) is ``selected``
    marked. The toolbar's selects hold hundreds (organizations, tags, groups, categories...) and are the
    same on every page: their HTML is kept (``_options_html``), and the selection put in it."""
    try:
        html = _options_html(tuple(options))
    except TypeError:  # unhashable pairs (lists): build them
        html = _options_html.__wrapped__(tuple(options))
    if selected is not None:
        chosen = f'<option value="{escape(str(selected))}">'
        html = html.replace(chosen, chosen[:-1] + " selected>", 1)
    return Markup(html)  # noqa: S704 - every value in it went through escape


@functools.lru_cache(maxsize=256)
def _options_html(options: tuple) -> str:
    return "".join(f'<option value="{escape(key)}">{escape(text)}</option>' for key, text in options)


def _by(key: str, build):
    """A cell that depends on one value of the row only (a status, an organization...): built once
    per value and page, then looked up."""
    read = attrgetter(key)

    def cells(_page):
        built: dict = {}

        def cell(c) -> str:
            value = read(c)
            found = built.get(value)
            if found is None:
                found = built[value] = build(value, _page)
            return found

        return cell

    return cells


def _date(key: str, label: str):
    head = f'  <td data-label="{escape(label)}" class="nowrap"><time datetime="'
    read = attrgetter(key)

    def cell(c) -> str:
        when = read(c)
        return f'{head}{when.isoformat()}Z">{when.strftime("%Y-%m-%d")}</time></td>'

    return lambda _page: cell


def _email(c) -> str:
    if not c.email:
        return '  <td data-label="Email"></td>'
    email = escape_text(c.email)
    return f'  <td data-label="Email"><a href="mailto:{email}">{email}</a></td>'


CELLS = {  # column key -> (page -> (row -> the cell's HTML))
    "email": lambda _page: _email,
    "phone": _by("phone", lambda v, _p: f'  <td data-label="Phone" class="nowrap">{escape_text(phone(v))}</td>'),
    "organization": _by(
        "organization_id",
        lambda v, p: f'  <td data-label="Organization">{escape_text(p["organization_names"].get(v, ""))}</td>',
    ),
    "type": _by(
        "type",
        lambda v, p: f'  <td data-label="Type"><span class="badge">{escape(p["type_labels"].get(v, v))}</span></td>',
    ),
    "status": _by(
        "status",
        lambda v, p: f'  <td data-label="Status"><span class="badge status status-{escape(v)}">'
        f"{escape(p['status_labels'].get(v, v))}</span></td>",
    ),
    "team": _by(
        "owner_team_id", lambda v, p: f'  <td data-label="Owner team">{escape(p["team_labels"].get(v, ""))}</td>'
    ),
    "created": _date("created_at", "Created"),
    "updated": _date("updated_at", "Updated"),
}


def _empty(label: str):
    cell = f'  <td data-label="{escape(label)}"></td>'
    return lambda _page: lambda _c: cell


def render(contacts, page: dict) -> list[str]:
    """The rows of ``contacts`` (``ContactRow``s), one HTML string a row, every value in it escaped.
    ``page``: ``columns``, ``column_labels``, ``may_bulk``,
    ``row_urls`` (each link as the text before and after the id), ``row_perms`` (id -> (may edit,
    may delete)), ``row_chips`` (id -> tag chips HTML), ``actions`` (id -> plugin Actions), ``row_csrf``,
    ``organization_names``, ``type_labels``, ``status_labels`` and (with the team column) ``team_labels``."""
    if not contacts:
        return []
    cells = [(CELLS.get(key) or _empty(page["column_labels"][key]))(page) for key in page["columns"]]
    urls = {key: (escape(before), escape(after)) for key, (before, after) in page["row_urls"].items()}
    show, edit, delete_form, delete = urls["show"], urls["edit"], urls["delete_form"], urls["delete"]
    perms, chips, actions = page["row_perms"], page["row_chips"], page["actions"]
    csrf = escape(page["row_csrf"])
    may_bulk = page["may_bulk"]
    button = get_template_attribute("core/contacts/_action.html", "action_button") if any(actions.values()) else None
    out = []
    for c in contacts:
        cid = c.id
        name = escape_text(c.full_name)
        parts = [f'\n<tr id="contact-{cid}">']
        if may_bulk:
            parts.append(
                f'<td class="select"><input type="checkbox" name="ids" value="{cid}" form="bulk-form" '
                f'aria-label="Select {name}"></td>'
            )
        parts.append(f'\n  <td data-label="Name"><a href="{show[0]}{cid}{show[1]}">{name}</a>{chips.get(cid, "")}</td>')
        for cell in cells:
            parts.append("\n")
            parts.append(cell(c))
        parts.append('\n  <td class="actions">')
        may_edit, may_delete = perms[cid]
        if may_edit:
            url = f"{edit[0]}{cid}{edit[1]}"
            parts.append(
                f'\n    <a class="button small" href="{url}" hx-get="{url}" hx-target="#modal-body" '
                f'hx-swap="innerHTML">Edit</a>'
            )
        for action in actions.get(cid, ()):
            parts.append(button(action))
        if may_delete:
            parts.append(
                f'\n    <form class="inline" method="post" action="{delete_form[0]}{cid}{delete_form[1]}">'
                f'\n      <input type="hidden" name="csrf_token" value="{csrf}">'
                f'\n      <button type="submit" class="small danger" hx-delete="{delete[0]}{cid}{delete[1]}" '
                f'hx-params="none"\n              hx-confirm="Move {name} to the trash?" hx-target="closest tr" '
                f'hx-swap="outerHTML">Delete</button>\n    </form>'
            )
        parts.append("\n  </td>\n</tr>")
        out.append("".join(parts))
    return out
