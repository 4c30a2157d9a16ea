"""/api/v1/imports (upload a CSV or vCard file, get the import job) and /api/v1/exports/contacts.csv
(the contacts list as CSV, streamed, with the list's filters)."""

from __future__ import annotations

import json

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from ..access import login_required
from ..downloads import download
from ..errors import ValidationError
from ..services import csv_export, csv_import, import_jobs
from . import lists
from .errors import documented
from .jobs import JobSchema
from .schemas import ContactQuerySchema

bp = Blueprint("api_imports", __name__, url_prefix="/api/v1", description="CSV and vCard import, CSV export.")


class ImportFileSchema(ma.Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "The CSV or vCard (.vcf) file."})


class ImportFormSchema(ma.Schema):
    key = fields.String(
        load_default=None, validate=validate.OneOf(["email", "external_id"]),
        metadata={"description": "Match existing contacts on this (default: `email`, or `external_id` for a vCard "
                  "file, whose external id is the card's UID); the other is the fallback.", "example": "email"},
    )
    source = fields.String(
        load_default=None, validate=validate.Length(min=1, max=50),
        metadata={"description": "Where the external ids come from (default: the detected layout; always "
                  "`vcard` for a vCard file).", "example": "hubspot"},
    )
    team_id = fields.Integer(
        load_default=None, validate=validate.Range(min=1, max=2147483647),
        metadata={"description": "Owner team of new contacts (default: your first team).", "example": 1},
    )
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "Only count and show what would happen.", "example": False}
    )
    mapping = fields.String(
        load_default=None, validate=validate.Length(max=20000),
        metadata={"description": 'JSON: column index -> field, e.g. {"0": "first_name", "3": "email"} '
                  "(default: detected from the header; not for a vCard file).",
                  "example": '{"0": "first_name", "1": "email"}'},
    )


class ExportQuerySchema(ContactQuerySchema):
    class Meta:
        exclude = ("cursor", "limit", "deleted")

    raw = fields.Boolean(
        load_default=False,
        metadata={"description": "Values as stored (no formula neutralizing, no BOM), for re-import.", "example": False},
    )


@bp.route("/imports", methods=["POST"], tags=["imports"])
@login_required
@bp.arguments(ImportFileSchema, location="files")
@bp.arguments(ImportFormSchema, location="form")
@bp.response(202, JobSchema)
@documented(bp, 401, 403, 422)
def create_import(files, form):
    """Import contacts from a CSV or vCard file

    Starts a background job (follow it at `/api/v1/jobs/{id}`); with `dry_run` the job's
    `result` holds the counts and the first rows that would be created, updated and rejected.
    A vCard file (2.1 to 4.0) is recognized by its content: each card is a row (its number in the
    file is the row of the error report), its UID the external id.
    """
    actor = current_user._get_current_object()
    upload = files["file"]
    token = import_jobs.save_upload(actor, upload.stream, getattr(upload, "filename", "") or "")
    info = import_jobs.inspect(actor, token)
    if info["format"] == "vcard":
        if form.get("mapping"):
            raise ValidationError({"mapping": "A vCard file has no columns to map; leave mapping out."})
        mapping = {}
    elif form.get("mapping"):
        try:
            raw = json.loads(form["mapping"])
        except ValueError:
            raise ValidationError({"mapping": "Not valid JSON."}) from None
        if not isinstance(raw, dict):
            raise ValidationError({"mapping": "A JSON object: column index -> field."})
        mapping = csv_import.clean_mapping(raw, len(info["layout"].headers))
    else:
        mapping = info["mapping"]
        if not mapping:
            raise ValidationError({"mapping": "No column could be matched to a contact field; send a mapping."})
    defaults = {"source": info["source"], "key": "external_id" if info["format"] == "vcard" else "email"}
    options = import_jobs.options_from(actor, {**form, **{k: v for k, v in defaults.items() if not form.get(k)}})
    job = import_jobs.start(actor, token, mapping, options, filename=getattr(upload, "filename", "") or "")
    return job


@bp.route("/exports/contacts.csv", methods=["GET"], tags=["imports"])
@login_required
@bp.arguments(ExportQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, description="The contacts as CSV (text/csv), streamed.", content_type="text/csv")
@documented(bp, 401, 422)
def export_contacts(raw=False, **filters):
    """Export contacts as CSV

    The contacts list with the same filters, every page, as one CSV file.
    """
    actor = current_user._get_current_object()
    kwargs = lists.list_kwargs(actor, filters)  # the list's filters, f= and view= included
    extra = kwargs.pop("extra_filters")
    chunks = csv_export.stream(actor, raw=raw, filters=kwargs, extra_filters=extra)
    return download(chunks, f"contacts{'-raw' if raw else ''}.csv", "text/csv")
