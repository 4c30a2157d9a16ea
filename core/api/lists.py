"""/api/v1/saved-views (saved views of the contacts list) and /api/v1/contacts/bulk (bulk actions),
plus ``list_kwargs``: the contacts list's ``f`` filter and ``?view=<id>`` for GET /api/v1/contacts."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields, validate
from werkzeug.datastructures import MultiDict

from ..access import login_required
from ..errors import NotFound, ValidationError
from ..services import bulk, saved_views
from ..services.list_query import ListQuery, plugin_filters
from .errors import documented
from .jobs import JobSchema
from .schemas import StrictSchema, _id, _text

bp = Blueprint(
    "api_lists", __name__, url_prefix="/api/v1",
    description="Saved views of the contacts list, and bulk actions on contacts.",
)
VIEW = "/saved-views/<int(max=2147483647):view_id>"
FILTER_DOC = (
    "Filter conditions, one per value: `field.operator.value` (e.g. `status.is.active`, `email.contains.acme`, "
    "`created.last.30`, `phone.empty`); `or` starts the next OR group: (a AND b) OR (c AND d)."
)


def _actor():
    return current_user._get_current_object()


def filter_field():
    return fields.List(_text("A condition.", "status.is.active", 400), load_default=list,
                       validate=validate.Length(max=40), metadata={"description": FILTER_DOC, "example": ["status.is.active"]})


def list_kwargs(actor, args: dict) -> dict:
    """GET /api/v1/contacts's arguments for ``contacts.list_contacts``: ``f`` parsed, and a saved
    ``view``'s filter and sort used when no other filter or sort is given."""
    args = dict(args)
    view_id = args.pop("view", None)
    raw_filter = args.pop("f", None) or []
    keys = ("q", "status", "type", "organization_id", *(f.key for f in plugin_filters()))  # tag, group, category...
    base = [(k, str(args[k])) for k in keys if args.get(k) not in (None, "")]
    for k in keys:
        args.pop(k, None)
    if view_id is not None:
        try:
            view = saved_views.get_view(actor, view_id)
        except NotFound:
            raise ValidationError({"view": "No such saved view."}) from None
        if not base and not raw_filter and args.get("sort", "name") == "name":
            args["sort"] = view.sort
            return {**args, **ListQuery.from_string(view.query).statement_kwargs(actor)}
    query = ListQuery.from_args(MultiDict(base + [("f", a) for a in raw_filter]))
    return {**args, **query.statement_kwargs(actor)}


# --- saved views -------------------------------------------------------------------------------------


class SavedViewSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "Identifier.", "example": 3})
    name = fields.String(metadata={"description": "Name.", "example": "Active leads"})
    owner_id = fields.Integer(metadata={"description": "The user who made it.", "example": 1})
    team_id = fields.Integer(allow_none=True, metadata={"description": "Shared with this team; null: personal.", "example": None})
    query = fields.String(metadata={"description": "The list's query string (q, status, type, organization_id, f...).",
                                    "example": "f=status.is.lead&f=created.last.30"})
    sort = fields.String(metadata={"description": "Sort order.", "example": "-created"})
    columns = fields.List(fields.String(), metadata={"description": "Columns shown, in order.", "example": ["email", "status"]})
    url = fields.Function(lambda v: url_for("contacts.index", view=v.id), metadata={"type": "string", "description": "The list page."})


class SavedViewInSchema(StrictSchema):
    name = _text("Name.", "Active leads", 100, required=True)
    team_id = _id("Share with this team of yours; null: personal.", 1, allow_none=True)
    query = _text("The list's query string.", "f=status.is.lead", saved_views.MAX_QUERY)
    sort = _text("Sort order.", "-created", 20)
    columns = fields.List(_text("A column key.", "email", 50), validate=validate.Length(max=50),
                          metadata={"description": "Columns to show: " + ", ".join(saved_views.column_keys())})


class SavedViewPatchSchema(SavedViewInSchema):
    """The fields to change; the rest stay as they are."""


class SavedViewListSchema(ma.Schema):
    items = fields.List(fields.Nested(SavedViewSchema), metadata={"description": "The views, by name."})


@bp.route("/saved-views", methods=["GET"], tags=["saved-views"])
@login_required
@bp.response(200, SavedViewListSchema)
@documented(bp, 401)
def list_views():
    """Your saved views and those shared with your teams"""
    return {"items": saved_views.list_views(_actor())}


@bp.route("/saved-views", methods=["POST"], tags=["saved-views"])
@login_required
@bp.arguments(SavedViewInSchema)
@bp.response(201, SavedViewSchema)
@documented(bp, 400, 401, 403, 422)
def create_view(data):
    """Save a view"""
    return saved_views.create_view(_actor(), data)


@bp.route(VIEW, methods=["GET"], tags=["saved-views"])
@login_required
@bp.response(200, SavedViewSchema)
@documented(bp, 401, 404)
def get_view(view_id):
    """Read a saved view"""
    return saved_views.get_view(_actor(), view_id)


@bp.route(VIEW, methods=["PATCH"], tags=["saved-views"])
@login_required
@bp.arguments(SavedViewPatchSchema(partial=True))
@bp.response(200, SavedViewSchema)
@documented(bp, 400, 401, 403, 404, 422)
def update_view(data, view_id):
    """Change a saved view (its owner, an admin, or a manager of the team it is shared with)"""
    return saved_views.update_view(_actor(), view_id, data)


@bp.route(VIEW, methods=["DELETE"], tags=["saved-views"])
@login_required
@bp.response(204, description="Deleted.")
@documented(bp, 401, 403, 404)
def delete_view(view_id):
    """Delete a saved view"""
    saved_views.delete_view(_actor(), view_id)
    return ""


# --- bulk actions ------------------------------------------------------------------------------------


class BulkFilterSchema(StrictSchema):
    q = _text("Search, as for the list.", "lovelace", 200)
    status = _text("Status key.", "active", 50)
    type = _text("Type key.", "person", 50)
    organization_id = _id("Organization.", 7)
    f = filter_field()


class BulkInSchema(StrictSchema):
    action = _text("The action's key: status, type, owner_team, delete, or a plugin's.", "status", 50, required=True)
    params = fields.Dict(keys=fields.String(validate=validate.Length(max=50)),
                         values=fields.String(validate=validate.Length(max=200)), load_default=dict,
                         metadata={"description": "The action's inputs, e.g. {\"status\": \"inactive\"}.",
                                   "example": {"status": "inactive"}})
    ids = fields.List(_id("A contact id.", 42), validate=validate.Length(min=1, max=bulk.MAX_IDS),
                      metadata={"description": "The contacts; or give `filter`."})
    filter = fields.Nested(BulkFilterSchema, metadata={"description": "Every contact the list filter matches."})


class BulkResultSchema(ma.Schema):
    changed = fields.Integer(metadata={"description": "Contacts changed (when run at once).", "example": 12})
    skipped = fields.Integer(metadata={"description": "Contacts left alone: you may not change them, or they are gone.",
                                       "example": 1})
    total = fields.Integer(metadata={"description": "Contacts chosen.", "example": 13})
    job = fields.Nested(JobSchema, allow_none=True,
                        metadata={"description": "More than 200 contacts: the background job doing it (202)."})


@bp.route("/contacts/bulk", methods=["POST"], tags=["contacts"])
@login_required
@bp.arguments(BulkInSchema)
@bp.response(200, BulkResultSchema)
@bp.alt_response(202, schema=BulkResultSchema, description="Running as a background job: follow `job`.")
@documented(bp, 400, 401, 403, 422)
def bulk_action(data):
    """Act on many contacts

    Change status, type or owner team, move to the trash, or a plugin's action, on the given `ids`
    or on every contact `filter` matches. Each contact is checked: those you may not change are
    skipped and counted. Up to 200 contacts are done at once (200); more run as a job (202).
    """
    actor = _actor()
    if ("ids" in data) == ("filter" in data):
        raise ValidationError({"ids": "Give either ids or filter."})
    query = None
    if "filter" in data:
        flt = data["filter"]
        pairs = [(k, str(v)) for k, v in flt.items() if k != "f" and v not in (None, "")]
        query = ListQuery.from_args(MultiDict(pairs + [("f", a) for a in flt.get("f", [])]))
    result = bulk.start(actor, data["action"], data["params"], ids=data.get("ids"), query=query)
    body = {"changed": result.changed, "skipped": result.skipped, "total": result.total, "job": result.job}
    return (body, 202) if result.job is not None else body
