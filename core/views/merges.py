"""Duplicates and merges in the UI: the review queue (merge, "not a duplicate", later), starting a
scan, the side-by-side merge page, the merge history (global and per contact) and undo."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import login_required, role_required
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db, htmx
from ..models import Contact, parse_id
from ..policy import can
from ..services import contacts as contact_service
from ..services import duplicate_scan, duplicates, merges
from .contacts import CONTACT_CHANGED, LABELS, _shown, _trigger
from .rendering import page

bp = Blueprint("merges", __name__, template_folder="../templates")

ID = "<int(max=2147483647):{}>"


def _user():
    return current_user._get_current_object()


def _toast(message: str, status: int = 200, kind: str = "info", **kwargs):
    return make_response(render_template("core/contacts/_toast.html", message=message, kind=kind, oob=True, **kwargs),
                         status)


# --- the review queue -----------------------------------------------------------------------------


@bp.get("/duplicates/")
@login_required
def queue():
    user = _user()
    result = duplicates.list_pairs(user, cursor=request.args.get("cursor") or None)
    return page(
        "core/merges/queue.html", "rows",
        pairs=result.items,
        next_url=url_for("merges.queue", cursor=result.next_cursor) if result.next_cursor else None,
        is_more=bool(request.args.get("cursor")),
        may_scan=user.role in ("admin", "manager"),
        labels=duplicates.REASON_LABELS,
    )


@bp.post("/duplicates/scan")
@role_required("admin", "manager")
def scan():
    job = duplicate_scan.start(_user())
    if htmx:
        response = make_response("")
        response.headers["HX-Redirect"] = url_for("jobs.show", job_id=job.id)
        return response
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.post(f"/duplicates/{ID.format('pair_id')}/dismiss")
@login_required
def dismiss(pair_id: int):
    try:
        duplicates.dismiss(_user(), pair_id)
    except ValidationError as exc:
        message = next(iter(exc.errors.values()))
        if htmx:
            return _toast(str(message), 422, kind="error")
        flash(str(message), "error")
        return redirect(url_for("merges.queue"))
    message = "Marked as not a duplicate: this pair will not be suggested again."
    if htmx:  # the row (hx-target) is replaced by nothing
        return _toast(message)
    flash(message, "success")
    return redirect(url_for("merges.queue"))


# --- merging -----------------------------------------------------------------------------------------


def _rows(target: Contact, source: Contact, picks: dict) -> list[dict]:
    return [
        {
            "name": name,
            "label": LABELS.get(name, name),
            "target": _shown(name, getattr(target, name)),
            "source": _shown(name, getattr(source, name)),
            "differs": getattr(target, name) != getattr(source, name),
            "pick": picks.get(name, "target"),
        }
        for name in merges.CHOICE_FIELDS
    ]


def _source_from(raw) -> Contact | None:
    contact_id = parse_id(raw)
    if contact_id is None:
        return None
    try:
        return contact_service.get_contact(_user(), contact_id)
    except NotFound:
        return None


@bp.get(f"/contacts/{ID.format('contact_id')}/merge")
@login_required
def compare(contact_id: int):
    """Both contacts side by side with a choice per differing field; without ``source``, a picker
    listing the look-alikes."""
    user = _user()
    target = contact_service.get_contact(user, contact_id)
    if not can(user, "contact.edit", target):
        abort(403)
    raw = request.args.get("source", "")
    source = _source_from(raw)
    context = {"target": target, "source": source, "modal": bool(htmx) and not htmx.boosted, "errors": {}}
    if source is None or source.id == target.id:
        if raw:
            context["errors"] = {"source": "Choose another contact you may see (its number, e.g. 42)."}
        values = {n: getattr(target, n) for n in ("first_name", "last_name", "email", "phone", "organization_id")}
        context["similar"] = [s for s in duplicates.find_similar(user, values, exclude_id=target.id)
                              if can(user, "contact.edit", s.contact)]
        return page("core/merges/pick.html", "body", status=422 if raw else 200, **context)
    context["rows"] = _rows(target, source, merges.default_choices(target, source))
    return page("core/merges/compare.html", "body", **context)


@bp.post(f"/contacts/{ID.format('contact_id')}/merge")
@login_required
def merge(contact_id: int):
    user = _user()
    picks = {name: request.form[f"pick_{name}"] for name in merges.CHOICE_FIELDS if f"pick_{name}" in request.form}
    try:
        done = merges.merge_contacts(user, contact_id, request.form.get("source_id", ""), picks)
    except ValidationError as exc:
        db.session.rollback()
        message = " ".join(str(m) for m in exc.errors.values())
        if htmx:
            return _toast(message, 422, kind="error")
        flash(message, "error")
        return redirect(url_for("merges.compare", contact_id=contact_id, source=request.form.get("source_id", "")))
    target, source = done.target, done.source
    flash({"text": " ".join([f"{source.full_name} was merged into {target.full_name}.", *done.after.get("notes", [])]),
           "undo": url_for("merges.undo", merge_id=done.id)}, "toast")
    link = url_for("contacts.show", contact_id=target.id)
    if htmx:
        response = make_response("")
        response.headers["HX-Redirect"] = link
        return response
    return redirect(link)


# --- history and undo ---------------------------------------------------------------------------------


@bp.get("/merges/")
@login_required
def history():
    result = merges.list_merges(_user(), cursor=request.args.get("cursor") or None)
    return page(
        "core/merges/history.html", "rows",
        merges=result.items, is_more=bool(request.args.get("cursor")),
        next_url=url_for("merges.history", cursor=result.next_cursor) if result.next_cursor else None,
        can=can,
    )


@bp.get(f"/contacts/{ID.format('contact_id')}/merges")
@login_required
def contact_panel(contact_id: int):
    contact = contact_service.get_contact(_user(), contact_id)
    result = merges.list_merges(_user(), contact_id=contact.id, limit=10)
    may_merge = can(_user(), "contact.edit", contact)
    return render_template("core/merges/_panel.html", contact=contact, merges=result.items,
                           more=bool(result.next_cursor), may_merge=may_merge, can=can)


@bp.post(f"/merges/{ID.format('merge_id')}/undo")
@login_required
def undo(merge_id: int):
    try:
        done = merges.unmerge(_user(), merge_id)
    except Conflict as exc:
        db.session.rollback()
        if htmx:
            return _toast(exc.message, 409, kind="error")
        flash(exc.message, "error")
        return redirect(request.referrer or url_for("merges.history"))
    message = f"The merge was undone: {done.source.full_name} and {done.target.full_name} are back as they were."
    flash(message, "toast")
    if htmx:  # every list, panel and page showing either contact is stale: reload the page
        response = make_response("")
        response.headers["HX-Refresh"] = "true"
        return _trigger(response, CONTACT_CHANGED)
    return redirect(url_for("contacts.show", contact_id=done.source.id))
