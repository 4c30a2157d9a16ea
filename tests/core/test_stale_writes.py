"""A write that lost a race with another on the same record (PostgreSQL: the version check of the
unit of work matched no row, StaleDataError) answers 409 and says to reload, on a page and on the
API; it was a 500."""

from __future__ import annotations

from sqlalchemy.orm.exc import StaleDataError


def test_a_lost_race_is_a_409_that_says_to_reload(app):
    for path, json_body in (("/api/v1/organizations/1", True), ("/organizations/1/edit", False)):
        with app.test_request_context(path, method="PATCH" if json_body else "POST"):
            response = app.make_response(app.handle_user_exception(StaleDataError("0 rows matched")))
        assert response.status_code == 409, path
        text = response.get_data(as_text=True)
        assert "Reload" in text or "reload" in text
        if json_body:
            assert response.json["code"] == 409
