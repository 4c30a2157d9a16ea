"""The dashboard: widgets that plugins add (``contacts_dashboard_widgets``), each loaded lazily."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from ..access import login_required
from ..plugins import collect

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@login_required
def index():
    relay = current_app.extensions["contacts_pm"].hook
    widgets = sorted(collect(relay.contacts_dashboard_widgets(user=current_user)), key=lambda w: w.order)
    return render_template("core/dashboard.html", panels=widgets)
