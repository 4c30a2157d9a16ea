"""Categories (admins): the tree, create, rename, move a subtree, delete."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user

from ..access import login_required
from ..errors import Conflict, ValidationError
from ..extensions import htmx
from ..models import MAX_ID
from ..policy import can
from ..services import categories as service
from .rendering import page

bp = Blueprint("categories", __name__, template_folder="../templates")
ID = f"<int(max={MAX_ID}):category_id>"


def _page(errors=None, values=None, status=200, editing=None):
    return page("core/categories/index.html", "tree", status=status, tree=service.tree(),
                may_manage=can(current_user, "category.manage"), errors=errors or {}, values=values or {},
                editing=editing)


def _done():
    if htmx:
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url_for("categories.index")
        return response
    return redirect(url_for("categories.index"))


def _data() -> dict:
    return {k: v for k, v in request.form.items() if k in ("name", "parent_id", "position")}


@bp.get("/categories")
@login_required
def index():
    return _page()


@bp.post("/categories")
@login_required
def create():
    data = _data()
    try:
        service.create_category(current_user, data)
    except ValidationError as exc:
        return _page(errors={"new": exc.errors}, values={"new": data}, status=422)
    return _done()


@bp.post(f"/categories/{ID}/edit")
@login_required
def update(category_id: int):
    data = _data()
    try:
        service.update_category(current_user, category_id, data)
    except ValidationError as exc:
        return _page(errors={category_id: exc.errors}, values={category_id: data}, status=422, editing=category_id)
    return _done()


@bp.post(f"/categories/{ID}/delete")
@login_required
def delete(category_id: int):
    try:
        service.delete_category(current_user, category_id)
    except Conflict as exc:
        return _page(errors={category_id: {"delete": [exc.message]}}, status=409)
    return _done()
