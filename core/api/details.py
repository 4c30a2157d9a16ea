"""/api/v1: a contact's photo, vCard export of a list filter, vCard import as a background job."""

from __future__ import annotations

import marshmallow as ma
from flask import Response, make_response, request, stream_with_context, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from ..access import login_required
from ..errors import NotFound, ValidationError
from ..models import MAX_ID
from ..services import details as service
from ..services import vcard_export, vcard_import
from . import lists
from .errors import documented
from .jobs import JobSchema
from .schemas import ContactQuerySchema

bp = Blueprint("api_details", __name__, url_prefix="/api/v1",
               description="Contact photos, and vCard import and export.")
PHOTO = f"/contacts/<int(max={MAX_ID}):contact_id>/photo"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")


def _actor():
    return current_user._get_current_object()


@bp.route(PHOTO, methods=["GET"], tags=["contacts"])
@login_required
@bp.response(200, description="The photo (JPEG, PNG or GIF), with an ETag; cache it.",
             content_type="image/jpeg")
@documented(bp, 401, 404)
def get_photo(contact_id):
    """Read a contact's photo"""
    row = service.get_photo(_actor(), contact_id)
    if row is None:
        raise NotFound("This contact has no photo.")
    response = make_response(row.data)
    response.mimetype = row.mime
    response.set_etag(row.digest)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response.make_conditional(request)


@bp.route(PHOTO, methods=["PUT"], tags=["contacts"])
@login_required
@bp.doc(requestBody={
    "required": True,
    "description": f"The image itself (JPEG, PNG or GIF, at most {service.PHOTO_MAX_BYTES // 1024} KB).",
    "content": {mime: {"schema": {"type": "string", "format": "binary"}} for mime in IMAGE_TYPES},
})
@bp.response(204, description="Saved.")
@documented(bp, 401, 403, 404, 422)
def put_photo(contact_id):
    """Set a contact's photo"""
    data = request.get_data(cache=False)
    service.set_photo(_actor(), contact_id, data)
    return ""


@bp.route(PHOTO, methods=["DELETE"], tags=["contacts"])
@login_required
@bp.response(204, description="Removed (or there was none).")
@documented(bp, 401, 403, 404)
def delete_photo(contact_id):
    """Remove a contact's photo"""
    service.remove_photo(_actor(), contact_id)
    return ""


class ExportQuerySchema(ContactQuerySchema):
    version = fields.String(load_default="4.0", validate=validate.OneOf(["3.0", "4.0"]),
                            metadata={"description": "vCard version.", "example": "4.0"})

    class Meta:
        exclude = ("cursor", "limit")
        unknown = RAISE


@bp.route("/exports/contacts.vcf", methods=["GET"], tags=["contacts"])
@login_required
@bp.arguments(ExportQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, description="Every contact the filters match, as one vCard file (streamed).",
             content_type="text/vcard")
@documented(bp, 401, 422)
def export_vcards(version, **filters):
    """Export contacts as vCards

    Takes the filters of the contacts list (`q`, `status`, `type`, `organization_id`, `sort`,
    `deleted`); the file is streamed, whatever the number of contacts.
    """
    cards = vcard_export.stream_vcards(_actor(), version, **lists.list_kwargs(_actor(), filters))
    return Response(stream_with_context(cards), mimetype="text/vcard",
                    headers={"Content-Disposition": 'attachment; filename="contacts.vcf"'})


class ImportFormSchema(ma.Schema):
    owner_team_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID), load_default=None, metadata={
        "description": "The team new contacts go to; default: your first team.", "example": 1})


@bp.route("/imports/vcard", methods=["POST"], tags=["contacts"])
@login_required
@bp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "A .vcf file (2.1, 3.0, 4.0)."},
                   "owner_team_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}}}}})
@bp.response(202, JobSchema, headers={"Location": {"description": "The job's URL.", "schema": {"type": "string"}}})
@documented(bp, 401, 403, 422)
def import_vcards():
    """Import a vCard file

    Starts a background job: each card updates the contact with its UID or email, or creates
    one. Follow the job at `Location`; cards that could not be imported are in its `errors`.
    """
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError({"file": "Send the .vcf file as the multipart field `file`."})
    team = request.form.get("owner_team_id") or None
    job = vcard_import.start_import(_actor(), upload.filename or "", upload.read(vcard_import.MAX_FILE_BYTES + 1), team)
    return job, 202, {"Location": url_for("api_jobs.get_job", job_id=job.id)}
