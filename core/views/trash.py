"""The trash: soft-deleted contacts and organizations, each restorable, with keyset "load more"."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required
from ..errors import ValidationError
from ..extensions import db, htmx
from ..models import User
from ..policy import can
from ..services import contacts as contact_service
from ..services import organizations as org_service
from .rendering import page

bp = Blueprint("trash", __name__, url_prefix="/trash", template_folder="../templates")

PAGE_SIZE = 50
TEMPLATE = "core/trash/index.html"


def _user():
    return current_user._get_current_object()


def _deleted_by(records) -> dict:
    ids = {r.deleted_by_id for r in records if r.deleted_by_id}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}


def _contacts(cursor):
    result = contact_service.list_contacts(_user(), deleted=True, cursor=cursor, limit=PAGE_SIZE, sort="-updated")
    more = url_for("trash.index", kind="contacts", cursor=result.next_cursor) if result.next_cursor else None
    return {"contacts": result.items, "contacts_more": more}


def _organizations(cursor):
    result = org_service.list_organizations(_user(), deleted=True, cursor=cursor, limit=PAGE_SIZE)
    more = url_for("trash.index", kind="organizations", cursor=result.next_cursor) if result.next_cursor else None
    return {"organizations": result.items, "organizations_more": more}


@bp.get("")
@login_required
def index():
    kind = request.args.get("kind", "")
    cursor = request.args.get("cursor") or None
    context = {"can": can, "is_more": bool(cursor), "error": None}
    try:
        if kind == "organizations":
            context.update(_organizations(cursor), contacts=[], contacts_more=None)
            block = "organization_rows"
        elif kind == "contacts":
            context.update(_contacts(cursor), organizations=[], organizations_more=None)
            block = "contact_rows"
        else:
            context.update(_contacts(None), **_organizations(None), is_more=False)
            block = None
    except ValidationError as exc:
        message = " ".join(" ".join(m) for m in exc.errors.values())
        return render_template("error.html", status=422, message=message), 422
    context["deleted_by"] = _deleted_by([*context["contacts"], *context["organizations"]])
    return page(TEMPLATE, block, **context)


@bp.post("/organizations/<int(max=2147483647):org_id>/restore")
@login_required
def restore_organization(org_id: int):
    org = org_service.restore_organization(_user(), org_id)
    message = f"{org.name} was restored."
    link = url_for("organizations.show", org_id=org.id) if "organizations.show" in _endpoints() else None
    if htmx:
        # The trash row (hx-target) is replaced by nothing; the toast arrives out of band.
        return make_response(render_template("core/contacts/_toast.html", message=message, link=link, oob=True))
    flash(message, "success")
    return redirect(url_for("trash.index"))


def _endpoints():
    from flask import current_app

    return current_app.view_functions
