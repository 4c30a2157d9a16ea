"""``GET /healthz`` for load balancers and monitors: is the app up, can it reach its database?"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .. import database
from ..access import public
from ..extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    try:
        database.ping()
    except Exception:  # noqa: BLE001 - any failure means "not healthy", reported as 503
        current_app.logger.exception("health check: the database did not answer")
        db.session.rollback()
        response = jsonify(status="error", database="error")
        response.status_code = 503
    else:
        response = jsonify(status="ok", database="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
