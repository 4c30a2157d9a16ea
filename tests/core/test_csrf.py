"""CSRF protection: refused without the token, accepted with the X-CSRFToken header htmx sends."""

from __future__ import annotations

import re

import pytest
from flask_login import FlaskLoginClient

from core import create_app
from core.extensions import db
from core.models import Contact
from tests import factories
from tests.conftest import reset_database, test_config


@pytest.fixture(scope="module")
def csrf_app(tmp_path_factory):
    app = create_app(test_config(tmp_path_factory, WTF_CSRF_ENABLED=True), plugins=[])
    app.test_client_class = FlaskLoginClient
    with app.app_context():
        db.create_all()  # on PostgreSQL this is the suite's database: never drop it, only empty it
    reset_database(app)
    yield app
    reset_database(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def csrf_client(csrf_app):
    with csrf_app.app_context():
        team = factories.team()
        user = factories.user("member", [team])
        db.session.refresh(user)
        _ = user.teams
        db.session.expunge_all()
    return csrf_app.test_client(user=user)


def contact_count(app):
    with app.app_context():
        return db.session.query(Contact).count()


def test_post_without_token_is_refused(csrf_app, csrf_client):
    response = csrf_client.post("/contacts/new", data={"first_name": "Ada"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert contact_count(csrf_app) == 0
    wrong = csrf_client.post("/contacts/new", data={"first_name": "Ada"}, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert contact_count(csrf_app) == 0


def test_post_with_header_token_passes(csrf_app, csrf_client):
    page = csrf_client.get("/").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = csrf_client.post("/contacts/new", data={"first_name": "Ada"},
                                headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    assert contact_count(csrf_app) == 1
    # plain forms carry it as a hidden field
    form = csrf_client.get("/contacts/new").get_data(as_text=True)
    field = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert csrf_client.post("/contacts/new", data={"first_name": "Grace", "csrf_token": field}).status_code == 302
    assert contact_count(csrf_app) == 2
