"""/api/v1: a contact's photo and vCard export of a list filter (vCard files are imported with
CSV files at /api/v1/imports)."""

from __future__ import annotations

from flask import make_response, request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from ..access import login_required
from ..downloads import download
from ..errors import NotFound
from ..models import MAX_ID
from ..services import details as service
from ..services import vcard_export
from . import lists
from .errors import documented
from .schemas import ContactQuerySchema

bp = Blueprint("api_details", __name__, url_prefix="/api/v1",
               description="Contact photos and vCard export.")
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
    return download(cards, "contacts.vcf", "text/vcard")
