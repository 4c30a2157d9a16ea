"""Administration: plugins and their permissions, users, teams, vocabularies and the audit log.

Every page needs the admin role, except a team's page, which the team's managers may also use
to manage its members (the service checks ``team.manage``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..access import login_required, role_required
from ..errors import NotFound, ValidationError
from ..extensions import htmx
from ..models import ROLES
from ..services import accounts, audit, vocabulary
from .rendering import fragment, page

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="../templates")

ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]
KINDS = {"type": "Contact types", "status": "Contact statuses"}
AUDIT_PAGE = 50


def _actor():
    return current_user._get_current_object()


def _is_fragment_request() -> bool:
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _declared_permissions(pm) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """``(plugin, action, description)`` rows from each ``contacts_permissions`` implementation,
    and ``(plugin, error)`` for any implementation that raised."""
    rows, failures = [], []
    for impl in pm.hook.contacts_permissions.get_hookimpls():
        try:
            declared = impl.function() or {}
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the admin page
            failures.append((impl.plugin_name, f"{type(exc).__name__}: {exc}"))
            continue
        rows.extend((impl.plugin_name, action, str(text)) for action, text in sorted(declared.items()))
    return sorted(rows), failures


@bp.get("/")
@role_required("admin")
def index():
    plugins = sorted(current_app.extensions.get("contacts_plugins", {}).values(), key=lambda p: p.name)
    permissions, failures = _declared_permissions(current_app.extensions["contacts_pm"])
    return page("core/admin/index.html", None, plugins=plugins, permissions=permissions, permission_failures=failures)


# --- users -----------------------------------------------------------------------------------


def _user_form() -> dict:
    return {
        "email": request.form.get("email", ""),
        "name": request.form.get("name", ""),
        "role": request.form.get("role", ""),
        "team_ids": request.form.getlist("team_ids"),
    }


def _users_page(values=None, errors=None, status=200):
    return page(
        "core/admin/users.html",
        None,
        status=status,
        users=accounts.list_users(),
        teams=accounts.list_teams(),
        role_choices=ROLE_CHOICES,
        values=values or {"role": "member", "team_ids": []},
        errors=errors or {},
    )


@bp.get("/users")
@role_required("admin")
def users():
    return _users_page()


@bp.post("/users")
@role_required("admin")
def create_user():
    values = _user_form()
    try:
        user, one_time = accounts.create_user(_actor(), values)
    except ValidationError as exc:
        return _users_page(values, exc.errors, status=422)
    return page("core/admin/password.html", None, user=user, password=one_time, created=True)


def _edit_page(user, values=None, errors=None, status=200):
    if values is None:
        values = {"role": user.role, "active": user.active, "name": user.name, "team_ids": [str(t) for t in user.team_ids]}
    return page(
        "core/admin/user.html", None, status=status, user=user, teams=accounts.list_teams(), role_choices=ROLE_CHOICES,
        values=values, errors=errors or {},
    )


@bp.get("/users/<int(max=2147483647):user_id>")
@role_required("admin")
def user(user_id: int):
    return _edit_page(accounts.get_user(_actor(), user_id))


@bp.post("/users/<int(max=2147483647):user_id>")
@role_required("admin")
def update_user(user_id: int):
    values = {
        "name": request.form.get("name", ""),
        "role": request.form.get("role", ""),
        "active": bool(request.form.get("active")),
        "team_ids": request.form.getlist("team_ids"),
    }
    try:
        user = accounts.update_user(_actor(), user_id, values)
    except ValidationError as exc:
        return _edit_page(accounts.get_user(_actor(), user_id), values, exc.errors, status=422)
    flash(f"{user.email} was saved.", "success")
    return redirect(url_for(".users"))


@bp.post("/users/<int(max=2147483647):user_id>/reset-password")
@role_required("admin")
def reset_password(user_id: int):
    one_time = accounts.reset_password(_actor(), user_id)
    user = accounts.get_user(_actor(), user_id)
    return page("core/admin/password.html", None, user=user, password=one_time, created=False)


# --- teams -----------------------------------------------------------------------------------


def _teams_page(name="", errors=None, status=200):
    return page("core/admin/teams.html", None, status=status, teams=accounts.list_teams(), name=name, errors=errors or {})


@bp.get("/teams")
@role_required("admin")
def teams():
    return _teams_page()


@bp.post("/teams")
@role_required("admin")
def create_team():
    name = request.form.get("name", "")
    try:
        team = accounts.create_team(_actor(), name)
    except ValidationError as exc:
        return _teams_page(name, exc.errors, status=422)
    flash(f"Team “{team.name}” was created.", "success")
    return redirect(url_for(".team", team_id=team.id))


def _team_context(team, errors=None):
    members = sorted(team.members, key=lambda u: u.email)
    member_ids = {u.id for u in members}
    candidates = [u for u in accounts.list_users() if u.id not in member_ids and u.active]
    choices = [(u.id, f"{u.email} ({u.name})" if u.name else u.email) for u in candidates]
    return {"team": team, "members": members, "candidates": candidates, "candidate_choices": choices,
            "errors": errors or {}}


@bp.get("/teams/<int(max=2147483647):team_id>")
@login_required
def team(team_id: int):
    """A team's members: for administrators and for the team's managers."""
    return page("core/admin/team.html", None, **_team_context(accounts.get_team(_actor(), team_id)))


@bp.post("/teams/<int(max=2147483647):team_id>/members")
@login_required
def membership(team_id: int):
    errors = {}
    raw = request.form.get("user_id", "")
    member = request.form.get("action", "add") != "remove"
    try:
        if not raw.isdecimal() or len(raw) > 10:
            raise ValidationError({"user_id": "Choose a user."})
        accounts.set_team_membership(_actor(), team_id, int(raw), member)
    except ValidationError as exc:
        errors = exc.errors
    team = accounts.get_team(_actor(), team_id)
    status = 422 if errors else 200
    if _is_fragment_request():
        return fragment("core/admin/team.html", "members", status=status, **_team_context(team, errors))
    if errors:
        return page("core/admin/team.html", None, status=status, **_team_context(team, errors))
    flash("Membership was updated.", "success")
    return redirect(url_for(".team", team_id=team_id))


# --- vocabularies ----------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound("No such vocabulary.")
    return kind


def _vocab_page(form_kind=None, values=None, errors=None, status=200):
    sections = [(kind, title, vocabulary.all_terms(kind)) for kind, title in KINDS.items()]
    return page(
        "core/admin/vocabularies.html", None, status=status, sections=sections,
        form_kind=form_kind, values=values or {}, errors=errors or {},
    )


@bp.get("/vocabularies")
@role_required("admin")
def vocabularies():
    return _vocab_page()


@bp.post("/vocabularies/<kind>")
@role_required("admin")
def add_term(kind: str):
    kind = _kind(kind)
    values = {"key": request.form.get("key", ""), "label": request.form.get("label", "")}
    try:
        vocabulary.add_term(_actor(), kind, values["key"], values["label"])
    except ValidationError as exc:
        return _vocab_page(kind, values, exc.errors, status=422)
    flash(f"“{values['label'].strip()}” was added.", "success")
    return redirect(url_for(".vocabularies"))


@bp.post("/vocabularies/<kind>/<int(max=2147483647):term_id>/active")
@role_required("admin")
def set_term_active(kind: str, term_id: int):
    kind = _kind(kind)
    active = request.form.get("active") == "1"
    vocabulary.set_active(_actor(), kind, term_id, active)
    if _is_fragment_request():
        term = next(t for t in vocabulary.all_terms(kind) if t.id == term_id)
        return fragment("core/admin/vocabularies.html", "term_row", kind=kind, term=term)
    flash("The vocabulary was updated.", "success")
    return redirect(url_for(".vocabularies"))


# --- audit log -------------------------------------------------------------------------------


@bp.get("/audit")
@role_required("admin")
def audit_log():
    cursor = request.args.get("cursor") or None
    result = audit.latest(cursor, limit=AUDIT_PAGE)
    context = {"entries": result.items, "next_cursor": result.next_cursor, "actors": result.extra["actors"],
               "cursor": cursor, "result": None}
    if _is_fragment_request():
        return fragment("core/admin/audit.html", "rows", **context)
    return page("core/admin/audit.html", None, **context)


@bp.post("/audit/verify")
@role_required("admin")
def verify_audit():
    result = audit.verify()
    if _is_fragment_request():
        return fragment("core/admin/audit.html", "verify", result=result)
    page_ = audit.latest(None, limit=AUDIT_PAGE)
    return page(
        "core/admin/audit.html", None, entries=page_.items, next_cursor=page_.next_cursor,
        actors=page_.extra["actors"], cursor=None, result=result,
    )
