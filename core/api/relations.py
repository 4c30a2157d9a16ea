"""/api/v1/relationship-types, /api/v1/contacts/<id>/relationships and /api/v1/relationships/<id>."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..access import login_required
from ..models import MAX_ID
from ..services import contacts as contact_service
from ..services import relationship_types as types_service
from ..services import relationships as service
from .errors import documented
from .relations_schemas import (
    RelationshipInSchema,
    RelationshipPatchSchema,
    RelationshipSchema,
    RelationshipSideListSchema,
    RelationshipTypeListSchema,
    RelationshipTypeQuerySchema,
)

bp = Blueprint(
    "api_relations",
    __name__,
    url_prefix="/api/v1",
    description="Typed relationships between contacts, and between a contact and an organization.",
)
TAGS = ["relationships"]
ITEM = f"/relationships/<int(max={MAX_ID}):rel_id>"
OF_CONTACT = f"/contacts/<int(max={MAX_ID}):contact_id>/relationships"


def _actor():
    return current_user._get_current_object()


@bp.route("/relationship-types", methods=["GET"], tags=TAGS)
@login_required
@bp.arguments(RelationshipTypeQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, RelationshipTypeListSchema)
@documented(bp, 401, 422)
def list_types(all):  # noqa: A002 - the query parameter's name
    """List relationship types

    Each type reads from the contact that holds it (`name`, "manager of") and from the other side
    (`inverse_label`, "reports to"). Administrators edit them on the admin pages.
    """
    return {"items": types_service.list_types(include_inactive=all)}


@bp.route(OF_CONTACT, methods=["GET"], tags=TAGS)
@login_required
@bp.response(200, RelationshipSideListSchema)
@documented(bp, 401, 404)
def list_relationships(contact_id):
    """List a contact's relationships

    From both sides, each labelled as read from this contact; relationships whose other side
    you may not see are left out.
    """
    contact = contact_service.get_contact(_actor(), contact_id)
    return {"items": service.for_contact(_actor(), contact)}


@bp.route(OF_CONTACT, methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(RelationshipInSchema)
@bp.response(201, RelationshipSchema, headers={
    "Location": {"description": "The new relationship's URL.", "schema": {"type": "string"}}})
@documented(bp, 400, 401, 403, 404, 422)
def create_relationship(data, contact_id):
    """Add a relationship to a contact

    Needs edit rights on the contact and view rights on the other side. Give `other_contact_id`
    for a contact–contact type, `organization_id` for a contact–organization type.
    """
    rel = service.create_relationship(_actor(), contact_id, data)
    return rel, {"Location": url_for(".get_relationship", rel_id=rel.id)}


@bp.route(ITEM, methods=["GET"], tags=TAGS)
@login_required
@bp.response(200, RelationshipSchema)
@documented(bp, 401, 404)
def get_relationship(rel_id):
    """Read a relationship"""
    return service.get_relationship(_actor(), rel_id)


@bp.route(ITEM, methods=["PATCH"], tags=TAGS)
@login_required
@bp.arguments(RelationshipPatchSchema(partial=True))
@bp.response(200, RelationshipSchema)
@documented(bp, 400, 401, 403, 404, 422)
def update_relationship(data, rel_id):
    """Change a relationship's type, dates or note

    To relate other records, delete it and add a new one.
    """
    return service.update_relationship(_actor(), rel_id, data)


@bp.route(ITEM, methods=["DELETE"], tags=TAGS)
@login_required
@bp.response(204, description="Deleted.")
@documented(bp, 401, 403, 404)
def delete_relationship(rel_id):
    """Delete a relationship"""
    service.delete_relationship(_actor(), rel_id)
    return ""
