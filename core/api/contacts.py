"""/api/v1/contacts: list, create, read, update (If-Match), delete to the trash, restore."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..access import login_required
from ..models import MAX_ID
from ..services import contacts as service
from ..services import details, duplicates, taxonomy
from ..services.custom_fields import preload as preload_custom_values
from . import lists
from .errors import documented
from .etags import etag_header, etag_of, expected_versions, if_match_parameter, pick_version
from .merge_schemas import ContactCreatedSchema
from .schemas import ContactInSchema, ContactPageSchema, ContactPatchSchema, ContactQuerySchema, ContactSchema

bp = Blueprint(
    "api_contacts",
    __name__,
    url_prefix="/api/v1/contacts",
    description="Contacts: people and companies you deal with. Deletes go to the trash and can be restored.",
)
ITEM = f"/<int(max={MAX_ID}):contact_id>"
TAGS = ["contacts"]


def _actor():
    return current_user._get_current_object()


@bp.route("", methods=["GET"], tags=TAGS)
@login_required
@bp.arguments(ContactQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, ContactPageSchema)
@documented(bp, 401, 422)
def list_contacts(**args):
    """List contacts

    One page of the contacts you may see, filtered like the contacts page. Follow
    `next_cursor` until it is null to walk the whole list once.
    """
    actor = _actor()
    page = service.list_contacts(actor, **lists.list_kwargs(actor, args))  # f= filter and view=: core/api/lists.py
    preload_custom_values(page.items)  # one query for the page's custom field values
    taxonomy.preload(actor, page.items)  # tags and groups of the page: two queries
    return {"items": details.attach(page.items), "next_cursor": page.next_cursor}


@bp.route("", methods=["POST"], tags=TAGS)
@login_required
@bp.arguments(ContactInSchema())  # an instance: given the class, webargs builds (deep-copies) one per request
@bp.response(
    201,
    ContactCreatedSchema,
    headers={
        "Location": {"description": "The new contact's URL.", "schema": {"type": "string"}},
        **etag_header("The contact's ETag."),
    },
)
@documented(bp, 400, 401, 403, 422)
def create_contact(data):
    """Create a contact

    Fields left out take their defaults: the first type and status, your first team.
    Never refused for looking like an existing contact (an identical email is refused: it is
    unique): `possible_duplicates` lists the look-alikes you may see, to merge or ignore.
    """
    contact = details.create_contact(_actor(), data)
    # Its email is unique, so only the phone and the name can look like another contact's.
    look = {k: v for k, v in data.items() if k != "email"}
    contact.possible_duplicates = duplicates.find_similar(_actor(), look, exclude_id=contact.id)
    return contact, {"Location": url_for(".get_contact", contact_id=contact.id), "ETag": etag_of(contact)}


@bp.route(ITEM, methods=["GET"], tags=TAGS)
@login_required
@bp.response(
    200, ContactSchema, headers=etag_header("Send it in If-Match to PATCH.")
)
@documented(bp, 401, 404)
def get_contact(contact_id):
    """Read a contact"""
    contact = service.get_contact(_actor(), contact_id)
    return contact, {"ETag": etag_of(contact)}


@bp.route(ITEM, methods=["PATCH"], tags=TAGS)
@login_required
@bp.arguments(ContactPatchSchema(partial=True))
@bp.response(200, ContactSchema, headers=etag_header("The new ETag."))
@bp.doc(
    parameters=[if_match_parameter("42-3")]
)
@documented(bp, 400, 401, 403, 404, 409, 412, 422, 428)
def update_contact(data, contact_id):
    """Change a contact

    Send only the fields to change, and the ETag you read in `If-Match`. If someone changed
    the contact in between, the answer is 409 with the current record and the differences.
    """
    actor = _actor()
    versions = expected_versions(contact_id)
    expected = pick_version(versions, lambda: service.get_contact(actor, contact_id).version)
    contact = details.update_contact(actor, contact_id, data, expected, read_back=True)  # the answer: no read after the commit
    return contact, {"ETag": etag_of(contact)}


@bp.route(ITEM, methods=["DELETE"], tags=TAGS)
@login_required
@bp.response(204, description="Moved to the trash.")
@documented(bp, 401, 403, 404)
def delete_contact(contact_id):
    """Delete a contact (to the trash)"""
    service.delete_contact(_actor(), contact_id)
    return ""


@bp.route(ITEM + "/restore", methods=["POST"], tags=TAGS)
@login_required
@bp.response(200, ContactSchema, headers=etag_header("The contact's ETag."))
@documented(bp, 401, 403, 404)
def restore_contact(contact_id):
    """Restore a contact from the trash"""
    contact = service.restore_contact(_actor(), contact_id)
    return contact, {"ETag": etag_of(contact)}
