"""Contacts pages: list with active search, filters, sort and keyset "load more"; create, edit,
delete with undo; the contact page with plugin panels.

Every route answers a plain browser (full page, redirect after POST) and htmx (a fragment,
``HX-Trigger`` events that app.js and listening elements react to, toasts by out-of-band swap).
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ..access import login_required
from ..errors import Conflict, ValidationError
from ..extensions import cache, db, htmx
from ..models import Category, Contact, Team, User
from ..plugins import collect, hook
from ..policy import can, contact_permissions, visible_team_ids, writable_teams
from ..services import audit, cache_keys, contact_rows, custom_field_queries, list_query, stamps, vocabulary
from ..services import contacts as service
from ..services import details as details_service
from ..services import organizations as org_service
from ..services.fields import format_phone
from . import conditional, duplicate_warning, list_chrome, list_page, list_rows, list_state, page_cache, taxonomy_form
from . import contact_form_extras as form_extras
from . import details as details_view
from . import panels as panel_views
from .rendering import fragment_request, link, page, url_parts

bp = Blueprint("contacts", __name__, template_folder="../templates")

# The default sort comes first: the toolbar leaves it out of the URL and falls back to the first option.
# "name" orders by last name, then first name (service.sort_name), while rows show "First Last": say so.
DEFAULT_SORT = "name"
SORT_OPTIONS = [
    ("name", "Last name A–Z"),
    ("-name", "Last name Z–A"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-updated", "Recently updated"),
    ("updated", "Least recently updated"),
]
LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "organization_id": "Organization",
    "type": "Type",
    "status": "Status",
    "owner_team_id": "Owner team",
    "reports_to_id": "Reports to",
    "tags": "Tags",
    "group_ids": "Groups",
    "category_id": "Category",
}
ORG_CHOICES_LIMIT = 200
ID_MAX = 2147483647


@bp.app_template_filter("phone")
def _phone_filter(value):
    return list_rows.phone(value)


@bp.app_template_global("select_options")
def _select_options(options, selected=None):
    return list_rows.select_options(options, selected)


@bp.app_template_global("link")
def _link(endpoint: str, **values) -> str:
    return link(endpoint, **values)


@bp.app_template_global("term_label")
def _term_label(kind: str, key: str) -> str:
    return vocabulary.label(kind, key)


def _user():
    return current_user._get_current_object()


CONTACT_CHANGED = "contact-changed"  # the event contact-page panels reload on (`hx-trigger="contact-changed from:body"`)


def _trigger(response, *names, **events):
    """Add htmx events to ``HX-Trigger`` (merged with any already set); ``names`` for events like "contact-changed"
    that are not Python identifiers."""
    events.update(dict.fromkeys(names, True))
    existing = response.headers.get("HX-Trigger")
    data = json.loads(existing) if existing else {}
    data.update(events)
    response.headers["HX-Trigger"] = json.dumps(data)
    return response


# --- list ---------------------------------------------------------------------------------------


def _organization_choices(selected_id=None, selected=None):
    """Up to ORG_CHOICES_LIMIT organizations for the select, cached per set of visible teams (a query
    and 200 objects on every list page otherwise); organization writes bump the cache generation."""
    user = _user()
    teams = visible_team_ids(user)
    teams_key = "all" if teams is None else ",".join(map(str, sorted(teams)))

    def cached():
        key = cache_keys.key("organizations", "choices", teams_key)
        found = cache.get(key)
        if found is None:
            orgs = org_service.list_organizations(user, limit=ORG_CHOICES_LIMIT).items
            found = [(o.id, o.name) for o in orgs]
            cache.set(key, found)
        return found

    # An organization's write changes the shared stamps too: this process's copy first (stamps.local).
    choices = list(stamps.local("organization-choices", teams_key, make=cached))
    if selected is not None and all(o_id != selected.id for o_id, _ in choices):
        choices.insert(0, (selected.id, selected.name))
    elif selected_id and all(o_id != selected_id for o_id, _ in choices):
        choices.insert(0, (selected_id, f"Organization {selected_id}"))
    return choices


def _row_actions(contacts) -> dict:
    """Plugin buttons per row. The hook is called for every contact (its answer may depend on the
    contact: a plugin's action may be offered only where the user may edit), and not at all when no
    plugin implements it."""
    user = _user()
    relay = hook().contacts_contact_actions
    if not relay.get_hookimpls():
        return {}
    return {c.id: collect(relay(contact=c, user=user)) for c in contacts}


def _row_urls() -> dict:
    """Each row link as (before the id, after the id), from one url_for per page instead of per row."""
    return {
        "show": url_parts("contacts.show", "contact_id"),
        "edit": url_parts("contacts.edit", "contact_id"),
        "delete_form": url_parts("contacts.delete", "contact_id"),
        "delete": url_parts("contacts.delete", "contact_id", _method="DELETE"),
    }


def _rows_html(contacts, context: dict) -> list[str]:
    """The page's rows (``ContactRow``s) as HTML, a string a row (core/views/list_rows.py), with what
    every row needs worked out once: the permissions, the tag chips (one query), the organizations'
    names (one query)."""
    user = _user()
    perms = contact_permissions(user, contacts, ("contact.edit", "contact.delete"))
    chips, organization_names = contact_rows.page_extras(contacts, "organization" in context["columns"])
    return list_rows.render(contacts, {
        **context,
        "actions": _row_actions(contacts),
        "row_perms": perms,
        "row_urls": _row_urls(),
        "row_csrf": generate_csrf() if any(d for _e, d in perms.values()) else "",
        "row_chips": taxonomy_form.row_chips(contacts, chips),
        "organization_names": organization_names,
    })


@bp.get("/")
@login_required
@page_cache.shared
@conditional.lists_contacts
def index():
    user = _user()
    filters = list_query.plugin_filters()  # asked once: the state, the statement and the toolbar share them
    state = list_state.read(user, request.args, filters)  # search, filters, builder, sort, saved view: list_state.py
    errors = state.errors
    cursor = request.args.get("cursor") or None
    contacts, next_cursor, similar = [], None, False
    if not errors:
        try:
            result = service.list_contacts(user, cursor=cursor, sort=state.sort, similar_names=True, rows=True,
                                           **state.query.statement_kwargs(user))
        except ValidationError as exc:
            errors = exc.errors
        else:
            contacts, next_cursor = result.items, result.next_cursor
            similar = bool(result.extra.get("similar"))  # no exact match: similar names (similar_search.py)
    rows = {  # what the rows block shows of this request (the rest is the page's: _page_context)
        "contacts": contacts,
        "next_url": url_for("contacts.index", cursor=next_cursor, **state.url_args()) if next_cursor else None,
        "is_more": bool(cursor),
        "similar": similar,
        "filtered": state.query.filtered,
        # The filter's own problem is shown once, by the builder (beside its field); the rows say
        # only where to look. Problems found while listing are the rows' to show.
        "list_errors": state.other_errors if errors is state.errors else errors,
        "list_invalid": bool(errors),
    }
    fragment_only = fragment_request()
    kind = list_chrome.kind_to_keep(fragment=fragment_only, more=bool(cursor), search=state.query.q)
    if kind and not errors:
        # What is around the rows is kept rendered per user and URL (list_chrome.py): only the rows are rendered.
        chrome = list_chrome.kept(user, kind, lambda: _page_context(
            user, state, filters, full_page=not fragment_only, more=bool(cursor)))
        response = list_chrome.respond(chrome, rows, _rows_html(contacts, chrome.rows))
    else:
        context = rows | _page_context(user, state, filters, full_page=not fragment_only, more=bool(cursor))
        context["rows_html"] = Markup("".join(_rows_html(contacts, context)))  # noqa: S704 - escaped (list_rows.py)
        response = page(list_chrome.TEMPLATE, list_chrome.ROWS_BLOCK, status=422 if errors else 200, **context)
    if state.from_builder and htmx and not errors:
        response.headers["HX-Push-Url"] = state.canonical_url()
    return response


def _page_context(user, state, filters, *, full_page: bool, more: bool) -> dict:
    """The list page's context but its rows: the toolbar, the builder, the views, the columns..."""
    query = state.query
    params = {"q": query.q, "status": query.status, "type": query.type, "organization_id": query.organization_id,
              "sort": state.sort}
    types, statuses = vocabulary.terms("type"), vocabulary.terms("status")
    context = {
        "params": params,
        "plugin_filters": filters,
        "extra_values": {f.key: query.extra.get(f.key, "") for f in filters},
        "user_can": {"create": can(user, "contact.create")},
        "types": types,
        "statuses": statuses,
        "type_labels": dict(types),
        "status_labels": dict(statuses),
        **list_page.context(user, state, full_page=full_page, more=more, search_filters=filters),
    }
    if full_page:
        context.update(
            organizations=_organization_choices(params["organization_id"]),
            sort_options=SORT_OPTIONS + custom_field_queries.sort_options(),
            default_sort=DEFAULT_SORT,
        )
    return context


# --- create and edit ------------------------------------------------------------------------------


def _form_data() -> dict:
    data = {name: request.form.get(name, "") for name in service.FIELDS if name in request.form}
    return (
        data
        | form_extras.form_data(request.form)
        | taxonomy_form.form_data(request.form)
        | details_view.form_data(request.form)
    )


def _version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdecimal() and int(raw) <= ID_MAX else None


def _values_of(contact) -> dict:
    values = {name: getattr(contact, name) for name in service.FIELDS} | {"phone": format_phone(contact.phone)}
    return (
        values
        | form_extras.form_values(contact)
        | taxonomy_form.values_of(_user(), contact)
        | details_view.form_values(contact)
    )


def _form_context(contact=None, values=None, errors=None, version=None, conflict=None):
    user = _user()
    teams = [(t.id, t.name) for t in writable_teams(user)]
    if contact is not None and all(t_id != contact.owner_team_id for t_id, _ in teams):
        teams.insert(0, (contact.owner_team_id, contact.owner_team.name))
    types, statuses = list(vocabulary.terms("type")), list(vocabulary.terms("status"))
    if contact is not None:
        if contact.type not in dict(types):
            types.append((contact.type, contact.type))
        if contact.status not in dict(statuses):
            statuses.append((contact.status, contact.status))
    values = values if values is not None else (_values_of(contact) if contact else {})
    return {
        **taxonomy_form.form_choices(user, values),
        "contact": contact,
        "values": values,
        "errors": errors or {},
        "version": version if version is not None else (contact.version if contact else None),
        "conflict": conflict,
        "teams": teams,
        "types": types,
        "statuses": statuses,
        "organizations": _organization_choices(selected=contact.organization if contact else None),
        "modal": bool(htmx) and not htmx.boosted,
        **form_extras.form_context(user, contact),
    }


def _render_form(status=200, extra=None, **kwargs):
    return page("core/contacts/form.html", "form", status=status, **_form_context(**kwargs), **(extra or {}))


@bp.get("/contacts/new")
@login_required
def new():
    if not can(_user(), "contact.create"):
        abort(403)
    return _render_form(values=form_extras.template_values(_user(), request.args.get("template")))


@bp.post("/contacts/new")
@login_required
def create():
    data = _form_data()
    warning = duplicate_warning.warning(_user(), data)  # look-alikes: a warning with "Create anyway"
    if warning:
        return _render_form(200, extra=warning, values=data)
    try:
        contact = details_service.create_contact(_user(), data)
    except ValidationError as exc:
        return _render_form(
            422, duplicate_warning.email_clash(_user(), data, exc.errors), values=form_extras.redisplay(data),
            errors=exc.errors,
        )
    message = f"{contact.full_name} was created."
    if htmx:
        link = url_for("contacts.show", contact_id=contact.id)
        response = make_response(render_template("core/contacts/_toast.html", message=message, link=link, oob=True))
        return _trigger(response, CONTACT_CHANGED, closeModal=True, contactsChanged=True)
    flash(message, "success")
    return redirect(url_for("contacts.show", contact_id=contact.id))


@bp.get("/contacts/<int(max=2147483647):contact_id>/edit")
@login_required
def edit(contact_id: int):
    contact = service.get_contact(_user(), contact_id)
    if not can(_user(), "contact.edit", contact):
        abort(403)
    return _render_form(contact=contact)


@bp.post("/contacts/<int(max=2147483647):contact_id>/edit")
@login_required
def update(contact_id: int):
    data = _form_data()
    try:
        raw_version = request.form.get("version", "")
        if raw_version and _version() is None:
            raise ValidationError({"version": "This form is damaged; reload the page and try again."})
        contact = details_service.update_contact(_user(), contact_id, data, _version())
    except ValidationError as exc:
        contact = service.get_contact(_user(), contact_id)
        return _render_form(422, contact=contact, values=form_extras.redisplay(data), errors=exc.errors, version=_version())
    except Conflict as exc:
        db.session.rollback()
        contact = service.get_contact(_user(), contact_id)
        changes = [
            {"label": LABELS.get(name, name), "yours": _shown(name, yours), "theirs": _shown(name, theirs)}
            for name, (yours, theirs) in exc.changes.items()
        ]
        conflict = {"message": exc.message, "changes": changes}
        return _render_form(409, contact=contact, values=form_extras.redisplay(data), version=contact.version, conflict=conflict)
    message = f"{contact.full_name} was saved."
    if htmx:
        response = make_response(render_template("core/contacts/_toast.html", message=message, oob=True))
        return _trigger(response, CONTACT_CHANGED, closeModal=True, contactsChanged=True)
    flash(message, "success")
    return redirect(url_for("contacts.show", contact_id=contact.id))


def _shown(field: str, value) -> str:
    """A value as a person reads it, for the conflict box."""
    if value in (None, ""):
        return "(empty)"
    if field == "phone":
        return format_phone(value)
    if field in ("type", "status"):
        return vocabulary.label(field, value)
    if field == "organization_id":
        org = db.session.get(org_service.Organization, value)
        return org.name if org is not None else str(value)
    if field == "owner_team_id":
        team = db.session.get(Team, value)
        return team.name if team is not None else str(value)
    if field == "category_id":
        category = db.session.get(Category, value)
        return category.name if category is not None else str(value)
    if field == "reports_to_id":
        manager = db.session.get(Contact, value)
        return manager.full_name if manager is not None else str(value)
    return str(value)


# --- the contact page -----------------------------------------------------------------------------


@bp.get("/contacts/<int(max=2147483647):contact_id>")
@login_required
@page_cache.shared
def show(contact_id: int):
    user = _user()
    contact = service.get_contact(user, contact_id)
    entries = audit.history("contact", contact.id, limit=10)
    actor_ids = {e.actor_id for e in entries if e.actor_id}
    actors = {}
    if actor_ids:
        actors = {u.id: u.display_name for u in db.session.scalars(db.select(User).where(User.id.in_(actor_ids)))}
    panels = collect(hook().contacts_contact_panels(contact=contact, user=user))
    panels.sort(key=lambda p: (p.order, p.title))
    return page(
        "core/contacts/show.html",
        "details",
        contact=contact,
        history=entries,
        actors=actors,
        labels=LABELS | details_view.HISTORY_LABELS,
        panels=panels,
        panel_bodies={} if fragment_request() else panel_views.inline_bodies(panels),  # not for the details block
        actions=collect(hook().contacts_contact_actions(contact=contact, user=user)),
        may_edit=can(user, "contact.edit", contact),
        may_delete=can(user, "contact.delete", contact),
        has_org_page="organizations.show" in _view_functions(),
        **form_extras.show_context(contact),
        **taxonomy_form.show_context(user, contact),
    )


def _view_functions():
    from flask import current_app

    return current_app.view_functions


# --- delete and restore ---------------------------------------------------------------------------


@bp.route("/contacts/<int(max=2147483647):contact_id>", methods=["DELETE"])
@bp.post("/contacts/<int(max=2147483647):contact_id>/delete")
@login_required
def delete(contact_id: int):
    contact = service.delete_contact(_user(), contact_id)
    message = f"{contact.full_name} was moved to the trash."
    undo = url_for("contacts.restore", contact_id=contact.id)
    if htmx and request.values.get("from") != "page":
        # The row (hx-target) is replaced by nothing; the toast arrives out of band.
        response = make_response(render_template("core/contacts/_toast.html", message=message, undo=undo, oob=True))
        return _trigger(response, CONTACT_CHANGED)
    flash({"text": message, "undo": undo}, "toast")
    target = url_for("contacts.index")
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.post("/contacts/<int(max=2147483647):contact_id>/restore")
@login_required
def restore(contact_id: int):
    contact = service.restore_contact(_user(), contact_id)
    message = f"{contact.full_name} was restored."
    link = url_for("contacts.show", contact_id=contact.id)
    if htmx:
        # The clicked toast or trash row (hx-target) is replaced by nothing; a new toast says so.
        response = make_response(render_template("core/contacts/_toast.html", message=message, link=link, oob=True))
        return _trigger(response, CONTACT_CHANGED, contactsChanged=True)
    flash(message, "success")
    return redirect(link)
