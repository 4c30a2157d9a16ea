"""Tags: the manage page (list with capped counts, rename, recolour, delete) and the
autocomplete fragment the contact form's tag input asks as the user types."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, request, url_for
from flask_login import current_user

from ..access import login_required
from ..errors import ValidationError
from ..extensions import htmx
from ..models import MAX_ID
from ..policy import can
from ..services import tags as service
from .rendering import fragment, page

bp = Blueprint("tags", __name__, template_folder="../templates")
ID = f"<int(max={MAX_ID}):tag_id>"
PAGE_SIZE = 50


@bp.app_template_global("tag_style")
def tag_style(color: str) -> str:
    """The inline style of a chip of this colour (the palette's own values; autoescaped)."""
    _label, background, text = service.PALETTE.get(color, service.PALETTE["gray"])
    return f"background:{background};color:{text}"


def _rows(q: str, cursor: str | None, errors=None, status=200, edited=None):
    result = service.list_tags(current_user, q=q, cursor=cursor, limit=PAGE_SIZE)
    counts = service.counts([t.id for t in result.items])
    return page("core/tags/index.html", "rows", status=status, items=result.items, next_cursor=result.next_cursor,
                counts=counts, cap=service.COUNT_CAP, q=q, palette=service.PALETTE, errors=errors or {},
                may_manage=can(current_user, "tag.manage"), edited=edited)


@bp.get("/tags")
@login_required
def index():
    q = request.args.get("q", "").strip()[:service.MAX_NAME]
    return _rows(q, request.args.get("cursor") or None)


@bp.get("/tags/options")
@login_required
def options():
    """The autocomplete: tags whose name starts with ``q``, and "Create" when none is exactly it."""
    q = " ".join(request.args.get("q", "").split())[:service.MAX_NAME]
    found = service.options(current_user, q, limit=8) if q else []
    exact = any(t.name_key == q.lower() for t in found)
    creatable = bool(q) and not exact and "," not in q and can(current_user, "tag.create")
    return fragment("core/tags/options.html", "options", found=found, q=q, creatable=creatable)


def _row(tag, errors=None, status=200):
    counts = service.counts([tag.id])
    return fragment("core/tags/index.html", "row", status=status, t=tag, counts=counts, cap=service.COUNT_CAP,
                    palette=service.PALETTE, errors={tag.id: errors or {}}, may_manage=can(current_user, "tag.manage"))


@bp.post(f"/tags/{ID}/edit")
@login_required
def update(tag_id: int):
    data = {k: v for k, v in request.form.items() if k in ("name", "color")}
    try:
        tag = service.update_tag(current_user, tag_id, data)
    except ValidationError as exc:
        tag = service.get_tag(current_user, tag_id)
        if not htmx:
            return _rows("", None, errors={tag.id: exc.errors}, status=422)
        return _row(tag, errors=exc.errors, status=422)
    if not htmx:
        return redirect(url_for("tags.index"))
    return _row(tag)


@bp.post(f"/tags/{ID}/delete")
@login_required
def delete(tag_id: int):
    service.delete_tag(current_user, tag_id)
    if not htmx:
        return redirect(url_for("tags.index"))
    return make_response("", 200)
