"""Deny by default: every view declares who may reach it.

A view without one of these decorators answers 403 (checked in ``enforce`` before every
request), and a test walks ``app.url_map`` to make sure none is missing.
"""

from __future__ import annotations

from flask import abort, current_app, request
from flask_login import current_user

ATTR = "_contacts_access"


def _mark(view, rule: str):
    setattr(view, ATTR, rule)
    return view


def public(view):
    """Anyone, logged in or not (login page, health check, static files)."""
    return _mark(view, "public")


def login_required(view):
    """Any logged-in user; finer checks happen in the services."""
    return _mark(view, "login")


def role_required(*roles):
    def decorator(view):
        return _mark(view, "role:" + ",".join(roles))

    return decorator


def rule_of(view) -> str | None:
    while view is not None:
        rule = getattr(view, ATTR, None)
        if rule:
            return rule
        view = getattr(view, "__wrapped__", None)
    return None


def enforce():
    """before_request: apply the view's rule; refuse views that have none."""
    if request.endpoint is None:  # 404/405: let Flask answer
        return None
    view = current_app.view_functions.get(request.endpoint)
    rule = rule_of(view)
    if rule is None:
        current_app.logger.error("route %s has no access rule; refused", request.endpoint)
        abort(403)
    if rule == "public":
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if current_user.must_change_password and request.endpoint not in ("auth.change_password", "auth.logout") and not request.path.startswith("/api/"):
        from flask import redirect, url_for

        return redirect(url_for("auth.change_password"))
    if rule.startswith("role:") and current_user.role not in rule[5:].split(","):
        abort(403)
    return None

