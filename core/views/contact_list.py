"""The contacts list's helpers: the filter builder's fragment, the lazy "N matching" count, bulk
actions (at once or as a job with a progress bar) and saved views (save, edit, delete)."""

from __future__ import annotations

import json

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..access import login_required
from ..errors import ValidationError
from ..extensions import db, htmx
from ..services import bulk, custom_field_queries, filters, list_query, saved_views
from . import list_state
from .contacts import SORT_OPTIONS
from .rendering import fragment_request, page

bp = Blueprint("contact_list", __name__, template_folder="../templates")
VIEW = "/views/<int(max=2147483647):view_id>"


def _user():
    return current_user._get_current_object()


# --- the filter builder ------------------------------------------------------------------------------


@bp.get("/contacts/filter-builder")
@login_required
def builder():
    """The builder again after a change: a field chosen (its operators), a row added or removed."""
    fields = filters.available_fields()
    rows, _ok = filters.from_rows(request.args, fields)
    for c in rows:
        c.error = ""
        f = fields.get(c.field)
        if f is not None and c.op not in f.operators:
            c.op = f.operators[0]
    remove = request.args.get("remove", "")
    if remove.isdecimal() and int(remove) < len(rows):
        rows.pop(int(remove))
    add = request.args.get("add", "")
    if add.isdecimal() and len(rows) < filters.MAX_CONDITIONS:
        key = filters.CORE_FIELDS[0].key
        rows.append(filters.Condition(key, fields[key].operators[0], "", int(add)))
    rows.sort(key=lambda c: c.group)
    return render_template("core/contacts/_builder.html", **list_state.builder_context(rows, _user()))


# --- the lazy count ----------------------------------------------------------------------------------


@bp.get("/contacts/count")
@login_required
def count():
    try:
        query = list_query.ListQuery.from_args(request.args)
        found, more, similar = list_query.count_shown(_user(), query)
    except ValidationError:
        found, more, similar = None, False, False
    response = make_response(render_template("core/contacts/_count.html", found=found, more=more, similar=similar,
                                              cap=list_query.COUNT_CAP))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- bulk actions ------------------------------------------------------------------------------------


@bp.get("/contacts/bulk/form")
@login_required
def bulk_fields():
    action = bulk.actions().get(request.args.get("action", ""))
    return render_template("core/contacts/_bulk_fields.html", action=action, user=_user())


@bp.post("/contacts/bulk")
@login_required
def bulk_run():
    form = request.form
    user = _user()
    action_key = form.get("action", "")
    params = {k[len("param_"):]: v for k, v in form.items() if k.startswith("param_")}
    try:
        if form.get("scope") == "all":
            state = list_state.read(user, MultiDict([(k, v) for k, v in form.items(multi=True)
                                                     if k not in ("action", "scope", "ids", "csrf_token")]))
            if state.errors:
                raise ValidationError({"filter": "Fix the filter first."})
            result = bulk.start(user, action_key, params, query=state.query)
        else:
            result = bulk.start(user, action_key, params, ids=form.getlist("ids"))
    except ValidationError as exc:
        message = " ".join(m for messages in exc.errors.values() for m in (messages if isinstance(messages, list) else [messages]))
        if not htmx:
            flash(message, "error")
            return redirect(url_for("contacts.index"))
        return render_template("core/contacts/_bulk_result.html", error=message), 422
    if result.job is not None:
        if not htmx:
            return redirect(url_for("jobs.show", job_id=result.job.id))
        job = result.job
        db.session.refresh(job)
        response = make_response(render_template("core/contacts/_bulk_result.html", job=job))
        if job.finished:  # a worker (or the immediate mode) was quicker than the first poll
            response.headers["HX-Trigger"] = json.dumps({"contactsChanged": True})
        return response
    message = f"{result.changed:,} changed" + (
        f", {result.skipped:,} skipped (you may not change them, or they were gone)" if result.skipped else ""
    ) + "."
    if not htmx:
        flash(message, "success")
        return redirect(url_for("contacts.index"))
    response = make_response(render_template("core/contacts/_bulk_result.html", done=True)
                             + render_template("core/contacts/_toast.html", message=message, oob=True))
    response.headers["HX-Trigger"] = json.dumps({"contactsChanged": True})
    return response


# --- saved views -------------------------------------------------------------------------------------


def _view_form(view=None, values=None, errors=None, status=200):
    user = _user()
    values = values if values is not None else (
        {"name": view.name, "team_id": view.team_id or "", "query": view.query, "sort": view.sort, "columns": view.columns}
        if view else {}
    )
    return page(  # a modal's body for HTMX, a page of its own when opened directly
        "core/contacts/view_form.html",
        "form",
        status=status,
        modal=fragment_request(),
        view=view,
        values=values,
        errors=errors or {},
        teams=sorted(user.teams, key=lambda t: t.name),
        columns=saved_views.LIST_COLUMNS,
        sorts=SORT_OPTIONS + custom_field_queries.sort_options(),  # (key, label), as the list's Sort menu
    )


def _view_data() -> dict:
    form = request.form
    return {
        "name": form.get("name", ""),
        "team_id": form.get("team_id", ""),
        "query": form.get("query", ""),
        "sort": form.get("sort", "name"),
        "columns": form.getlist("columns"),
    }


@bp.get("/views/new")
@login_required
def new_view():
    values = {"query": request.args.get("query", ""), "sort": request.args.get("sort") or "name",
              "columns": request.args.getlist("columns") or saved_views.DEFAULT_COLUMNS, "team_id": ""}
    return _view_form(values=values)


@bp.post("/views/new")
@login_required
def create_view():
    data = _view_data()
    try:
        view = saved_views.create_view(_user(), data)
    except ValidationError as exc:
        return _view_form(values=data, errors=exc.errors, status=422)
    return _saved(view, f"View {view.name!r} was saved.")


def _saved(view, message):
    target = url_for("contacts.index", view=view.id)
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        flash(message, "success")
        return response
    flash(message, "success")
    return redirect(target)


@bp.get(VIEW + "/edit")
@login_required
def edit_view(view_id: int):
    view = saved_views.get_view(_user(), view_id)
    return _view_form(view=view)


@bp.post(VIEW + "/edit")
@login_required
def update_view(view_id: int):
    data = _view_data()
    try:
        view = saved_views.update_view(_user(), view_id, data)
    except ValidationError as exc:
        return _view_form(view=saved_views.get_view(_user(), view_id), values=data, errors=exc.errors, status=422)
    return _saved(view, f"View {view.name!r} was saved.")


@bp.post(VIEW + "/delete")
@login_required
def delete_view(view_id: int):
    view = saved_views.get_view(_user(), view_id)
    name = view.name
    saved_views.delete_view(_user(), view_id)
    flash(f"View {name!r} was deleted.", "success")
    target = url_for("contacts.index")
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)
