"""/api/v1/me and the vocabularies a client needs to fill in a contact."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from ..access import login_required
from ..services import vocabulary
from .errors import documented
from .schemas import MeSchema, TermListSchema

bp = Blueprint("api_accounts", __name__, url_prefix="/api/v1", description="The token's user and the vocabularies.")


@bp.route("/me", methods=["GET"], tags=["me"])
@login_required
@bp.response(200, MeSchema)
@documented(bp, 401)
def me():
    """The user the API token belongs to"""
    return current_user._get_current_object()


@bp.route("/contact-types", methods=["GET"], tags=["vocabularies"])
@login_required
@bp.response(200, TermListSchema)
@documented(bp, 401)
def contact_types():
    """Active contact types (the values of a contact's `type`)"""
    return {"items": [{"key": key, "label": label} for key, label in vocabulary.terms("type")]}


@bp.route("/contact-statuses", methods=["GET"], tags=["vocabularies"])
@login_required
@bp.response(200, TermListSchema)
@documented(bp, 401)
def contact_statuses():
    """Active contact statuses (the values of a contact's `status`)"""
    return {"items": [{"key": key, "label": label} for key, label in vocabulary.terms("status")]}
