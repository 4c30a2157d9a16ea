"""Import and export pages: upload a CSV or vCard file, check the column mapping (CSV) and the
options against a dry-run preview, start the import (a background job whose page shows the
progress and the error report); and the CSV export of the contacts list with its current filters."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, url_for
from flask_login import current_user

from ..access import login_required
from ..downloads import download
from ..errors import ValidationError
from ..extensions import htmx
from ..policy import can, writable_teams
from ..services import csv_export, csv_import, import_jobs
from . import list_state
from .rendering import page

bp = Blueprint("imports", __name__, template_folder="../templates")
TOKEN = "<string(maxlength=80):token>"  # noqa: S105 - a URL rule, not a secret


def _user():
    return current_user._get_current_object()


def _errors(exc: ValidationError) -> dict:
    return {k: " ".join(v) if isinstance(v, list) else str(v) for k, v in exc.errors.items()}


@bp.get("/imports/new")
@login_required
def new():
    return page("core/imports/new.html", errors={}, can_import=can(_user(), "contact.create"))


@bp.post("/imports")
@login_required
def upload():
    user = _user()
    upload_file = request.files.get("file")
    try:
        if upload_file is None or not upload_file.filename:
            raise ValidationError({"file": "Choose a CSV or vCard file to upload."})
        token = import_jobs.save_upload(user, upload_file.stream, upload_file.filename)
        import_jobs.inspect(user, token)  # refuse unreadable files here, not on the next page
    except ValidationError as exc:
        return page("core/imports/new.html", status=422, errors=_errors(exc), can_import=True)
    return redirect(url_for("imports.mapping", token=token, name=upload_file.filename[:120]), 303)


def _mapping_from_form(info: dict) -> dict:
    """The column mapping of the form (a CSV file); none for a vCard file."""
    if info["format"] == "vcard":
        return {}
    width = len(info["layout"].headers)
    raw = {str(i): request.form.get(f"col{i}", "") for i in range(width)}
    return csv_import.clean_mapping(raw, width)


def _render(token: str, *, mapping=None, form=None, errors=None, status=200):
    user = _user()
    info = import_jobs.inspect(user, token)
    layout = info["layout"]
    form = form or {}
    errors = dict(errors or {})
    mapping = info["mapping"] if mapping is None else mapping
    vcard = info["format"] == "vcard"  # cards are matched on their UID first
    key = form.get("key") or ("external_id" if vcard or "external_id" in mapping.values() else "email")
    options_data = {"key": key, "source": form.get("source") or info["source"], "team_id": form.get("team_id")}
    outcome = None
    if not errors:
        try:
            options = import_jobs.options_from(user, options_data)
            outcome = import_jobs.dry_run(user, token, mapping, options) if mapping or vcard else None
        except ValidationError as exc:
            errors.update(_errors(exc))
    return page(
        "core/imports/mapping.html", "preview", status=status if not errors else 422,
        token=token, name=request.args.get("name") or form.get("name") or "", layout=layout, mapping=mapping,
        vcard=vcard, rows=info["rows"], targets=csv_import.targets(),
        preset_label=csv_import.PRESET_LABELS[layout.preset] if layout else "vCard",
        options=options_data, teams=[(t.id, t.name) for t in writable_teams(user)], outcome=outcome,
        preview_rows=import_jobs.PREVIEW_ROWS, errors=errors,
    )


@bp.get(f"/imports/{TOKEN}")
@login_required
def mapping(token: str):
    try:
        return _render(token)
    except ValidationError as exc:
        return page("core/imports/new.html", status=422, errors=_errors(exc), can_import=True)


@bp.post(f"/imports/{TOKEN}/preview")
@login_required
def preview(token: str):
    try:
        mapping = _mapping_from_form(import_jobs.inspect(_user(), token))
    except ValidationError as exc:
        return _render(token, mapping={}, form=request.form, errors=_errors(exc))
    return _render(token, mapping=mapping, form=request.form)


@bp.post(f"/imports/{TOKEN}/start")
@login_required
def start(token: str):
    user = _user()
    info = import_jobs.inspect(user, token)
    try:
        mapping = _mapping_from_form(info)
        options = import_jobs.options_from(user, request.form)
    except ValidationError as exc:
        return _render(token, mapping=None, form=request.form, errors=_errors(exc))
    job = import_jobs.start(user, token, mapping, options, filename=request.form.get("name", ""))
    target = url_for("jobs.show", job_id=job.id)
    if htmx:
        response = Response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.get("/contacts/export.csv")
@login_required
def export():
    """The contacts list as CSV, with the list's filters (q, status, type, organization_id, sort
    and plugin filters); ``raw=1`` for values as stored."""
    kwargs = list_state.list_kwargs(_user(), request.args)
    extra = kwargs.pop("extra_filters")
    raw = request.args.get("raw") in ("1", "true", "on")
    chunks = csv_export.stream(_user(), raw=raw, filters=kwargs, extra_filters=extra)
    return download(chunks, f"contacts{'-raw' if raw else ''}.csv", "text/csv")
