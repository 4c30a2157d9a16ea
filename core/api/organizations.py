"""/api/v1/organizations: list, create, read, update (If-Match), delete to the trash, restore."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..access import login_required
from ..models import MAX_ID
from ..services import organizations as service
from .errors import documented
from .etags import etag_header, etag_of, expected_versions, if_match_parameter, pick_version
from .schemas import (
    OrganizationInSchema,
    OrganizationPageSchema,
    OrganizationPatchSchema,
    OrganizationQuerySchema,
    OrganizationSchema,
)

bp = Blueprint(
    "api_organizations",
    __name__,
    url_prefix="/api/v1/organizations",
    description="Organizations that contacts belong to. Deletes go to the trash and can be restored.",
)
ITEM = f"/<int(max={MAX_ID}):org_id>"
TAGS = ["organizations"]


def _actor():
    return current_user._get_current_object()


@bp.route("", methods=["GET"], tags=TAGS)
@login_required
@bp.arguments(OrganizationQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, OrganizationPageSchema)
@documented(bp, 401, 422)
def list_organizations(**args):
    """List organizations

    One page of the organizations you may see, by name; `q` matches a prefix of the name. Follow
    `next_cursor` until it is null to walk the whole list once.
    """
    page = service.list_organizations(_actor(), **args)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(OrganizationInSchema)
@bp.response(
    201,
    OrganizationSchema,
    headers={
        "Location": {"description": "The new organization's URL.", "schema": {"type": "string"}},
        **etag_header("The organization's ETag."),
    },
)
@documented(bp, 400, 401, 403, 422)
def create_organization(data):
    """Create an organization

    `name` is required; the owner team defaults to your first team.
    """
    organization = service.create_organization(_actor(), data)
    return organization, {
        "Location": url_for(".get_organization", org_id=organization.id),
        "ETag": etag_of(organization),
    }


@bp.route(ITEM, methods=["GET"], tags=TAGS)
@login_required
@bp.response(
    200,
    OrganizationSchema,
    headers=etag_header("Send it in If-Match to PATCH."),
)
@documented(bp, 401, 404)
def get_organization(org_id):
    """Read an organization"""
    organization = service.get_organization(_actor(), org_id)
    return organization, {"ETag": etag_of(organization)}


@bp.route(ITEM, methods=["PATCH"], tags=TAGS)
@login_required
@bp.arguments(OrganizationPatchSchema(partial=True))
@bp.response(200, OrganizationSchema, headers=etag_header("The new ETag."))
@bp.doc(
    parameters=[if_match_parameter("7-2")]
)
@documented(bp, 400, 401, 403, 404, 409, 412, 422, 428)
def update_organization(data, org_id):
    """Change an organization

    Send only the fields to change, and the ETag you read in `If-Match`. If someone changed
    the organization in between, the answer is 409 with the current record and the differences.
    """
    actor = _actor()
    versions = expected_versions(org_id)
    expected = pick_version(versions, lambda: service.get_organization(actor, org_id).version)
    organization = service.update_organization(actor, org_id, data, expected)
    return organization, {"ETag": etag_of(organization)}


@bp.route(ITEM, methods=["DELETE"], tags=TAGS)
@login_required
@bp.response(204, description="Moved to the trash.")
@documented(bp, 401, 403, 404)
def delete_organization(org_id):
    """Delete an organization (to the trash)"""
    service.delete_organization(_actor(), org_id)
    return ""


@bp.route(ITEM + "/restore", methods=["POST"], tags=TAGS)
@login_required
@bp.response(
    200, OrganizationSchema, headers=etag_header("The organization's ETag.")
)
@documented(bp, 401, 403, 404)
def restore_organization(org_id):
    """Restore an organization from the trash"""
    organization = service.restore_organization(_actor(), org_id)
    return organization, {"ETag": etag_of(organization)}
