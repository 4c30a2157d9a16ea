"""Log in (rate-limited), log out, change password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..access import login_required, public
from ..errors import ValidationError
from ..extensions import limiter
from ..services import accounts

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("contacts.index")


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], error_message="Too many login attempts; wait a minute and try again.")
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    email = request.form.get("email", "")
    if request.method == "POST":
        user = accounts.authenticate(email, request.form.get("password", ""))
        if user is not None:
            login_user(user, remember=bool(request.form.get("remember")))
            if user.must_change_password:
                flash("Choose your own password before you continue.", "info")
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong email or password."
    return render_template("core/login.html", error=error, email=email), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        try:
            accounts.change_password(
                current_user._get_current_object(),
                request.form.get("current_password", ""),
                request.form.get("new_password", ""),
                request.form.get("confirm_password", ""),
            )
        except ValidationError as exc:
            errors = exc.errors
        else:
            login_user(current_user._get_current_object())  # the session token changed
            flash("Your password was changed.", "success")
            return redirect(url_for("contacts.index"))
    return render_template("core/change_password.html", errors=errors), (422 if errors else 200)
