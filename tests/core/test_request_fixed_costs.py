"""What every request pays, made cheaper without changing an answer: the default headers in one pass
(core/setup.py), session protection skipped for an empty session (core/sessions.py), a contact's
read-backs by ``=`` for one id (core/services/id_lists.py), custom values read on the connection."""

from __future__ import annotations

import pytest
from flask import Response, session
from flask_login import login_user
from sqlalchemy import event

from core.extensions import db, login_manager
from core.models import User
from core.services import custom_fields, details, groups, tags
from core.setup import default_headers
from tests import factories
from tests.core.test_api_contacts import Api, make_token


def _before(response):
    """core/setup.py's hook as it was: the Vary set, three setdefaults, then Cache-Control."""
    from flask import request
    from flask_login import current_user

    response.vary.add("HX-Request")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if "Cache-Control" not in response.headers and not request.path.startswith("/static/") \
            and current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"
    return response


@pytest.mark.parametrize("path", ["/", "/static/app.css", "/api/v1/contacts"])
@pytest.mark.parametrize("logged_in", [False, True])
@pytest.mark.parametrize("headers", [
    {}, {"Vary": "Accept-Encoding"}, {"Vary": "hx-request"}, {"vary": "Cookie, HX-Request"},
    {"X-Frame-Options": "SAMEORIGIN"}, {"cache-control": "no-cache"}, {"Referrer-Policy": "no-referrer", "Vary": ""},
    {"X-Content-Type-Options": "nosniff", "Cache-Control": "public", "Content-Disposition": "attachment"},
])
def test_default_headers_are_the_hook_s_as_before(app, member, path, logged_in, headers):
    answers = []
    for hook in (_before, default_headers):
        with app.test_request_context(path):
            if logged_in:
                login_user(db.session.get(User, member.id))
            answers.append(list(hook(Response("x", headers=headers)).headers.items()))
            db.session.remove()
    assert answers[0] == answers[1]


def test_an_empty_session_is_not_fingerprinted(app, member, monkeypatch):
    made = []
    monkeypatch.setattr(login_manager, "_session_identifier_generator", lambda: made.append(1) or "ident")
    api = Api(app, make_token(app, member))
    assert api.get("/api/v1/me").status_code == 200
    assert made == []
    with app.test_request_context():  # a session with something in it is checked as before
        session["_user_id"] = str(member.id)
        session["_id"] = "another browser"
        assert login_manager._session_protection_failed() is False and session["_fresh"] is False
    assert made == [1]


def test_one_contact_s_read_backs_compare_its_id_with_equals(ctx, team, member, admin):
    custom_fields.create_field(db.session.get(User, admin.id), {"key": "tier", "label": "Tier", "kind": "text"})
    contact = factories.contact(team)
    other = factories.contact(team)
    user = db.session.get(User, member.id)
    _ = user.teams, custom_fields.definitions(), contact.id, other.id
    seen = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        details.details_of([contact.id])
        tags.chips_of([contact.id])
        groups.group_ids_of_many(user, [contact.id])
        custom_fields.values_of([contact.id])
        one = list(seen)
        seen.clear()
        details.details_of([contact.id, other.id])
        tags.chips_of([contact.id, other.id])
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(one) == 4 and all(" IN (" not in s for s in one), one
    assert all(" IN (" in s for s in seen), seen


def test_custom_values_see_what_the_write_has_not_flushed(ctx, team, admin):
    field = custom_fields.create_field(db.session.get(User, admin.id), {"key": "tier", "label": "Tier", "kind": "text"})
    contact = factories.contact(team)
    db.session.add(custom_fields.CustomFieldValue(field_id=field.id, contact_id=contact.id, value_text="gold"))
    assert custom_fields.values_of([contact.id]) == {contact.id: {"tier": "gold"}}
    db.session.rollback()


def test_groups_of_other_teams_stay_hidden(app, team, other_team, member, admin):
    with app.test_request_context():
        owner = db.session.get(User, admin.id)
        mine = groups.create_group(owner, {"name": "Mine", "owner_team_id": team.id})
        theirs = groups.create_group(owner, {"name": "Theirs", "owner_team_id": other_team.id})
        contact = factories.contact(team)
        groups.add_member(owner, mine.id, contact.id)
        groups.add_member(owner, theirs.id, contact.id)
        assert groups.group_ids_of_many(db.session.get(User, member.id), [contact.id]) == {contact.id: [mine.id]}
        assert groups.group_ids_of_many(owner, [contact.id]) == {contact.id: sorted([mine.id, theirs.id])}


def test_hooks_are_checked_for_coroutines_once(app, member, monkeypatch):
    import flask.app

    checked = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda f: checked.append(f) or real(f))
    app._sync_functions.clear()
    api = Api(app, make_token(app, member))
    assert api.get("/api/v1/me").status_code == 200
    first = len(checked)
    assert first > 3  # the hooks and the view, once each
    assert api.get("/api/v1/me").status_code == 200
    assert len(checked) == first

    def view():
        return "x"

    assert app.ensure_sync(view) is view and app.ensure_sync(view) is view


def test_cookies_of_a_request_without_any(app):
    with app.test_request_context("/", headers={"Cookie": "a=1; b=2"}):
        from flask import request

        assert dict(request.cookies) == {"a": "1", "b": "2"}
    with app.test_request_context("/"):
        from flask import request

        request.headers.getlist = None  # not asked: there is no Cookie header to join
        assert not request.cookies and type(request.cookies) is request.dict_storage_class
