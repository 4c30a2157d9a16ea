"""The old addresses of the planning plugin's contact lists, which are core groups since
planning_0002: ``/planning/lists/<list id>/...`` redirects to ``/groups/<group id>/...`` and a
contacts-list address (page, export, API) filtering on ``list=<id>`` redirects to the same
address filtering on the group. The group routes take the old methods too (DELETE on a group and
on a member), so a 308 keeps an old script working; only the old "Add to list" POST, whose body
names a list id, answers 410 with the address to use instead."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, render_template, request, url_for

from core.access import login_required
from core.models import parse_id

from . import legacy
from .services import group_of

bp = Blueprint("planning", __name__, url_prefix="/planning")

# GET keeps a 301 (browsers and bookmarks); other methods a 308 so a script's POST stays a POST.
ANY = ["GET", "HEAD", "POST", "DELETE"]
# Views that read the contacts list's filters (see core/views/list_state.py and core/api/lists.py).
FILTERED = {"contacts.index", "imports.export", "details.export_vcards", "api_contacts.list_contacts"}


def _moved(url: str):
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return redirect(url, 301 if request.method in ("GET", "HEAD") else 308)


@bp.route("/lists", methods=ANY)
@login_required
def lists():
    return _moved(url_for("groups.index"))


@bp.route("/lists/new", methods=ANY)
@login_required
def new_list():
    return _moved(url_for("groups.new"))


@bp.route("/lists/<int(max=9223372036854775807):list_id>", defaults={"rest": ""}, methods=ANY)
@bp.route("/lists/<int(max=9223372036854775807):list_id>/<path:rest>", methods=ANY)
@login_required
def show(list_id: int, rest: str):
    """The list's page and everything under it (edit, delete, search, members): the same path
    under the group's. The group's own views check who may see it."""
    group_id = group_of(list_id)
    if group_id is None:
        abort(404)
    url = url_for("groups.show", group_id=group_id)
    return _moved(f"{url}/{rest}" if rest else url)


@bp.route("/contacts/<int(max=2147483647):contact_id>/lists", methods=ANY)
@login_required
def contact_panel(contact_id: int):
    return _moved(url_for("groups.contact_groups", contact_id=contact_id))


@bp.get("/contacts/<int(max=2147483647):contact_id>/add")
@login_required
def add_form(contact_id: int):
    return _moved(url_for("contacts.show", contact_id=contact_id))


@bp.post("/contacts/<int(max=2147483647):contact_id>/add")
@login_required
def add_from_contact(contact_id: int):
    """The old "Add to list" form. Not redirected: its body names a list id, which the groups'
    route would not read (it takes ``group_id``, a different number), so a 308 would end in a
    misleading "Choose one"; a 410 names the new address and the group id to send instead."""
    raw = request.form.get("list_id", "")
    group_id = group_of(parse_id(raw)) if parse_id(raw) else None
    target = url_for("groups.add_from_contact", contact_id=contact_id)
    field = f"group_id={group_id}" if group_id else "group_id (the group's id, not the old list's)"
    message = f"Contact lists are groups now: send POST {target} with {field}."
    return render_template("error.html", status=410, message=message), 410


@bp.before_app_request
def list_filter_to_group_filter():
    """``?list=3`` (the old "In list" filter) on the contacts list becomes ``?group=<its group>``."""
    if request.method not in ("GET", "HEAD") or request.endpoint not in FILTERED:
        return None
    args = request.args
    if legacy.LIST_KEY not in args and "f" not in args:  # every list page asks: most have neither
        return None
    pairs = list(args.items(multi=True))
    if not legacy.uses_lists(pairs):
        return None
    return redirect(f"{request.path}?{urlencode(legacy.rewrite_query(pairs, group_of))}", 301)
