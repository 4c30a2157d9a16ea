"""/api/v1: merge two contacts and undo it; the duplicate review queue and the duplicate scan."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..access import login_required
from ..models import MAX_ID
from ..services import duplicate_scan, duplicates, merges
from .errors import documented
from .jobs import JobSchema
from .merge_schemas import (
    MergeInSchema,
    MergePageSchema,
    MergeQuerySchema,
    MergeSchema,
    PageQuerySchema,
    PairPageSchema,
    PairSchema,
)

bp = Blueprint("api_merges", __name__, url_prefix="/api/v1",
               description="Duplicates and merges: review look-alike contacts, merge them, undo a merge.")
ID = f"<int(max={MAX_ID}):{{}}>"


def _actor():
    return current_user._get_current_object()


@bp.route(f"/contacts/{ID.format('contact_id')}/merge", methods=["POST"], tags=["merges"])
@login_required
@bp.arguments(MergeInSchema)
@bp.response(201, MergeSchema)
@documented(bp, 400, 401, 403, 404, 422)
def merge_contact(data, contact_id):
    """Merge another contact into this one

    This contact stays, with the chosen value per field; `source_id` goes to the trash (marked as
    merged) and every record of it (notes, communications, list memberships...) moves over. All in
    one transaction, audited on both contacts, and undoable with `POST /merges/{id}/undo`.
    """
    return merges.merge_contacts(_actor(), contact_id, data["source_id"], data["fields"])


@bp.route("/merges", methods=["GET"], tags=["merges"])
@login_required
@bp.arguments(MergeQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, MergePageSchema)
@documented(bp, 401, 422)
def list_merges(**args):
    """List merges

    Merges of contacts you may see, newest first; with `contact_id`, those of one contact.
    """
    page = merges.list_merges(_actor(), **args)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route(f"/merges/{ID.format('merge_id')}", methods=["GET"], tags=["merges"])
@login_required
@bp.response(200, MergeSchema)
@documented(bp, 401, 404)
def get_merge(merge_id):
    """Read a merge"""
    return merges.get_merge(_actor(), merge_id)


@bp.route(f"/merges/{ID.format('merge_id')}/undo", methods=["POST"], tags=["merges"])
@login_required
@bp.response(200, MergeSchema)
@documented(bp, 401, 403, 404, 409)
def undo_merge(merge_id):
    """Undo a merge

    Both contacts go back to how they were before the merge (their versions go up), and the
    records that moved go back. Refused with 409 and the reason when the kept contact changed
    after the merge, when a later merge of either contact is still in place, or when the merge
    was already undone.
    """
    return merges.unmerge(_actor(), merge_id)


@bp.route("/duplicates", methods=["GET"], tags=["merges"])
@login_required
@bp.arguments(PageQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, PairPageSchema)
@documented(bp, 401, 422)
def list_duplicates(**args):
    """The duplicate review queue

    Open pairs the duplicate scan found, most alike first, where you may edit both contacts.
    """
    page = duplicates.list_pairs(_actor(), **args)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route(f"/duplicates/{ID.format('pair_id')}/dismiss", methods=["POST"], tags=["merges"])
@login_required
@bp.response(200, PairSchema)
@documented(bp, 401, 403, 404, 422)
def dismiss_duplicate(pair_id):
    """Not a duplicate

    The pair leaves the queue and no later scan suggests it again.
    """
    return duplicates.dismiss(_actor(), pair_id)


@bp.route("/duplicate-scans", methods=["POST"], tags=["merges"])
@login_required
@bp.response(202, JobSchema)
@documented(bp, 401, 403)
def start_scan():
    """Start a duplicate scan (admins and managers)

    A background job compares every contact (phone, email, close names at the same organization)
    and fills the queue; follow it at `GET /jobs/{id}`.
    """
    return duplicate_scan.start(_actor())
