"""The user's own account: profile, password change link, personal API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from ..access import login_required
from ..errors import ValidationError
from ..extensions import htmx
from ..services import accounts
from .rendering import fragment, page

bp = Blueprint("account", __name__, url_prefix="/account", template_folder="../templates")
TEMPLATE = "core/account/index.html"


def _actor():
    return current_user._get_current_object()


def _is_fragment_request() -> bool:
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _context(**extra):
    user = _actor()
    context = {
        "user": user,
        "tokens": accounts.list_tokens(user),
        "managed_teams": sorted((t for t in user.teams), key=lambda t: t.name) if user.role == "manager" else [],
        "new_token": None,
        "raw_token": None,
        "token_name": "",
        "errors": {},
    }
    context.update(extra)
    return context


@bp.get("/")
@login_required
def index():
    return page(TEMPLATE, None, **_context())


@bp.post("/tokens")
@login_required
def create_token():
    name = request.form.get("name", "")
    try:
        token, raw = accounts.create_token(_actor(), name)
    except ValidationError as exc:
        context = _context(token_name=name, errors=exc.errors)
        if _is_fragment_request():
            return fragment(TEMPLATE, "tokens", status=422, **context)
        return page(TEMPLATE, None, status=422, **context)
    # The raw token is in this response only: it is never stored, so it cannot be shown again.
    context = _context(new_token=token, raw_token=raw)
    if _is_fragment_request():
        return fragment(TEMPLATE, "tokens", **context)
    return page(TEMPLATE, None, **context)


@bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    accounts.revoke_token(_actor(), token_id)
    if _is_fragment_request():
        return fragment(TEMPLATE, "tokens", **_context())
    flash("The token was revoked.", "success")
    return redirect(url_for(".index"))
