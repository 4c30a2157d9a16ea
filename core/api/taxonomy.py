"""/api/v1/tags, /api/v1/groups (+ members) and /api/v1/categories."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE

from ..access import login_required
from ..models import MAX_ID
from ..services import categories, groups, tags
from .errors import DESCRIPTIONS, documented
from .taxonomy_schemas import (
    CategoryInSchema,
    CategoryListSchema,
    CategoryPatchSchema,
    CategorySchema,
    GroupInSchema,
    GroupPageSchema,
    GroupPatchSchema,
    GroupSchema,
    MemberInSchema,
    MemberPageSchema,
    PageQuerySchema,
    TagInSchema,
    TagPageSchema,
    TagPatchSchema,
    TagQuerySchema,
    TagSchema,
)

bp = Blueprint("api_taxonomy", __name__, url_prefix="/api/v1",
               description="Tags, contact groups (with their members) and categories.")
TAG = f"/tags/<int(max={MAX_ID}):tag_id>"
GROUP = f"/groups/<int(max={MAX_ID}):group_id>"
CATEGORY = f"/categories/<int(max={MAX_ID}):category_id>"
LOCATION = {"Location": {"description": "The new record's URL.", "schema": {"type": "string"}}}


def _actor():
    return current_user._get_current_object()


# --- tags ---------------------------------------------------------------------------------------


CATEGORY_CLASH = {**DESCRIPTIONS, 409: "A subcategory would move up beside a category of the same name: "
                                       "rename or move one of them first."}

@bp.route("/tags", methods=["GET"], tags=["tags"])
@login_required
@bp.arguments(TagQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, TagPageSchema)
@documented(bp, 401, 422)
def list_tags(**args):
    """List tags

    By name; `q` keeps the names starting with it (the autocomplete).
    """
    page = tags.list_tags(_actor(), **args)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/tags", methods=["POST"], tags=["tags"])
@login_required
@bp.arguments(TagInSchema)
@bp.response(201, TagSchema, headers=LOCATION)
@documented(bp, 400, 401, 403, 422)
def create_tag(data):
    """Create a tag"""
    tag = tags.create_tag(_actor(), data)
    return tag, {"Location": url_for(".get_tag", tag_id=tag.id)}


@bp.route(TAG, methods=["GET"], tags=["tags"])
@login_required
@bp.response(200, TagSchema)
@documented(bp, 401, 404)
def get_tag(tag_id):
    """Read a tag"""
    return tags.get_tag(_actor(), tag_id)


@bp.route(TAG, methods=["PATCH"], tags=["tags"])
@login_required
@bp.arguments(TagPatchSchema(partial=True))
@bp.response(200, TagSchema)
@documented(bp, 400, 401, 403, 404, 422)
def update_tag(data, tag_id):
    """Rename or recolour a tag (admins)"""
    return tags.update_tag(_actor(), tag_id, data)


@bp.route(TAG, methods=["DELETE"], tags=["tags"])
@login_required
@bp.response(204, description="Deleted, and taken off every contact.")
@documented(bp, 401, 403, 404)
def delete_tag(tag_id):
    """Delete a tag (admins)"""
    tags.delete_tag(_actor(), tag_id)
    return ""


# --- groups -------------------------------------------------------------------------------------


@bp.route("/groups", methods=["GET"], tags=["groups"])
@login_required
@bp.arguments(PageQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, GroupPageSchema)
@documented(bp, 401, 422)
def list_groups(**args):
    """List groups you may see"""
    page = groups.list_groups(_actor(), **args)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/groups", methods=["POST"], tags=["groups"])
@login_required
@bp.arguments(GroupInSchema)
@bp.response(201, GroupSchema, headers=LOCATION)
@documented(bp, 400, 401, 403, 422)
def create_group(data):
    """Create a group"""
    group = groups.create_group(_actor(), data)
    return group, {"Location": url_for(".get_group", group_id=group.id)}


@bp.route(GROUP, methods=["GET"], tags=["groups"])
@login_required
@bp.response(200, GroupSchema)
@documented(bp, 401, 404)
def get_group(group_id):
    """Read a group"""
    return groups.get_group(_actor(), group_id)


@bp.route(GROUP, methods=["PATCH"], tags=["groups"])
@login_required
@bp.arguments(GroupPatchSchema(partial=True))
@bp.response(200, GroupSchema)
@documented(bp, 400, 401, 403, 404, 422)
def update_group(data, group_id):
    """Change a group"""
    return groups.update_group(_actor(), group_id, data)


@bp.route(GROUP, methods=["DELETE"], tags=["groups"])
@login_required
@bp.response(204, description="Deleted; its contacts stay.")
@documented(bp, 401, 403, 404)
def delete_group(group_id):
    """Delete a group"""
    groups.delete_group(_actor(), group_id)
    return ""


@bp.route(GROUP + "/members", methods=["GET"], tags=["groups"])
@login_required
@bp.arguments(PageQuerySchema, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, MemberPageSchema)
@documented(bp, 401, 404, 422)
def list_members(group_id, **args):
    """List a group's members (that you may see), most recently added first"""
    page = groups.members(_actor(), group_id, **args)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route(GROUP + "/members", methods=["POST"], tags=["groups"])
@login_required
@bp.arguments(MemberInSchema)
@bp.response(204, description="The contact is in the group (it may have been already).")
@documented(bp, 400, 401, 403, 404, 422)
def add_member(data, group_id):
    """Add a contact to a group"""
    groups.add_member(_actor(), group_id, data["contact_id"])
    return ""


@bp.route(GROUP + f"/members/<int(max={MAX_ID}):contact_id>", methods=["DELETE"], tags=["groups"])
@login_required
@bp.response(204, description="The contact is not in the group (any more).")
@documented(bp, 401, 403, 404)
def remove_member(group_id, contact_id):
    """Remove a contact from a group"""
    groups.remove_member(_actor(), group_id, contact_id)
    return ""


# --- categories ---------------------------------------------------------------------------------


@bp.route("/categories", methods=["GET"], tags=["categories"])
@login_required
@bp.response(200, CategoryListSchema)
@documented(bp, 401)
def list_categories():
    """List the category tree"""
    from ..policy import require

    require(_actor(), "category.list")
    return {"items": [{"id": c.id, "name": c.name, "parent_id": c.parent_id, "position": c.position, "depth": d}
                      for c, d in categories.tree()]}


@bp.route("/categories", methods=["POST"], tags=["categories"])
@login_required
@bp.arguments(CategoryInSchema)
@bp.response(201, CategorySchema, headers=LOCATION)
@documented(bp, 400, 401, 403, 422)
def create_category(data):
    """Create a category (admins)"""
    cat = categories.create_category(_actor(), data)
    return cat, {"Location": url_for(".get_category", category_id=cat.id)}


@bp.route(CATEGORY, methods=["GET"], tags=["categories"])
@login_required
@bp.response(200, CategorySchema)
@documented(bp, 401, 404)
def get_category(category_id):
    """Read a category"""
    return categories.get_category(_actor(), category_id)


@bp.route(CATEGORY, methods=["PATCH"], tags=["categories"])
@login_required
@bp.arguments(CategoryPatchSchema(partial=True))
@bp.response(200, CategorySchema)
@documented(bp, 400, 401, 403, 404, 422)
def update_category(data, category_id):
    """Rename or move a category (admins); a move takes its subcategories along"""
    return categories.update_category(_actor(), category_id, data)


@bp.route(CATEGORY, methods=["DELETE"], tags=["categories"])
@login_required
@bp.response(204, description="Deleted; subcategories move up, contacts lose it.")
@documented(bp, 401, 403, 404, 409, descriptions=CATEGORY_CLASH)
def delete_category(category_id):
    """Delete a category (admins)

    Refused (409) when a subcategory would move up beside a category of the same name: rename or
    move one of them first."""
    categories.delete_category(_actor(), category_id)
    return ""
