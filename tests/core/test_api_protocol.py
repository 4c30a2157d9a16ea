"""The API's edges: tokens, the OpenAPI document, JSON errors scoped to /api/, several apps."""

from __future__ import annotations

import json

import pytest
from flask import request
from werkzeug.exceptions import TooManyRequests

from core import create_app
from core.access import rule_of
from core.api.errors import http_error
from core.extensions import db
from core.models import ApiToken, User
from core.services import accounts, vocabulary
from tests import conftest, factories
from tests.core.test_api_contacts import Api, make_token


def test_me_and_vocabularies(app, member):
    api = Api(app, make_token(app, member))
    me = api.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json["email"] == member.email and me.json["role"] == "member"
    assert [t["name"] for t in me.json["teams"]] == ["Sales"]
    types = api.get("/api/v1/contact-types").json["items"]
    assert {"key": "person", "label": "Person"} in types
    statuses = [t["key"] for t in api.get("/api/v1/contact-statuses").json["items"]]
    assert statuses == ["lead", "active", "inactive"]


def test_vocabulary_changes_show_up(app, admin):
    with app.test_request_context():
        vocabulary.add_term(db.session.get(User, admin.id), "status", "dormant", "Dormant")
    api = Api(app, make_token(app, admin))
    assert "dormant" in [t["key"] for t in api.get("/api/v1/contact-statuses").json["items"]]
    assert api.post("/api/v1/contacts", json={"first_name": "A", "status": "dormant"}).status_code == 201


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ctk_nope", "Basic dXNlcjpwYXNz", "ctk_x"])
def test_without_a_valid_token_the_answer_is_json_401(client, header):
    response = client.get("/api/v1/contacts", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.is_json and response.json["code"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Location" not in response.headers


def test_a_revoked_token_is_refused(app, member):
    raw = make_token(app, member)
    api = Api(app, raw)
    assert api.get("/api/v1/me").status_code == 200
    with app.test_request_context():
        token = db.session.scalar(db.select(ApiToken).where(ApiToken.user_id == member.id))
        accounts.revoke_token(db.session.get(User, member.id), token.id)
    assert api.get("/api/v1/me").status_code == 401
    assert api.post("/api/v1/contacts", json={"first_name": "A"}).status_code == 401


def test_an_inactive_users_token_is_refused(app, member):
    api = Api(app, make_token(app, member))
    with app.app_context():
        db.session.get(User, member.id).active = False
        db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_the_session_cookie_does_not_authenticate_the_api(member_client):
    assert member_client.get("/").status_code == 200  # the cookie works on the HTML side
    assert member_client.get("/api/v1/me").status_code == 401


def test_every_api_view_requires_login_and_the_spec_is_public(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            expected = "public" if rule.endpoint.startswith("api-docs.") else "login"
            assert rule_of(app.view_functions[rule.endpoint]) == expected, rule.endpoint


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.data)
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] == "Contacts API"
    paths = spec["paths"]
    for path in (
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/contacts/{contact_id}/restore",
        "/api/v1/organizations",
        "/api/v1/organizations/{org_id}",
        "/api/v1/organizations/{org_id}/restore",
        "/api/v1/me",
        "/api/v1/contact-types",
        "/api/v1/contact-statuses",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/contacts"]) == {"get", "post"}
    assert set(paths["/api/v1/contacts/{contact_id}"]) == {"get", "patch", "delete", "parameters"}
    patch = paths["/api/v1/contacts/{contact_id}"]["patch"]
    assert {"200", "401", "403", "404", "409", "412", "422", "428"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in patch["parameters"])
    id_param = paths["/api/v1/contacts/{contact_id}"]["parameters"][0]
    assert id_param["schema"]["maximum"] == 2**31 - 1
    schemas = spec["components"]["schemas"]
    assert schemas["ContactIn"]["additionalProperties"] is False
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{field} has no description"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    declared = {tag["name"] for tag in spec["tags"]}
    used = {tag for ops in paths.values() for op in ops.values() if isinstance(op, dict) for tag in op["tags"]}
    # The test app runs every plugin: the communications plugin's operations carry their own tag.
    assert used == declared == {"contacts", "organizations", "me", "vocabularies", "jobs", "communications",
                                "custom-fields", "contact-templates", "relationships", "tags", "groups", "categories",
                                "merges", "saved-views", "imports"}


def test_plugin_api_blueprints_are_documented_and_token_only():
    """A flask-smorest blueprint under /api/ registered before init_api (as plugins' blueprints
    are) appears in the document, skips CSRF and answers 401 instead of redirecting."""
    from flask import Flask
    from flask_smorest import Blueprint

    from core.api import init_api
    from core.config import from_environ
    from core.extensions import csrf, login_manager

    extra = Blueprint("extra_api", __name__, url_prefix="/api/v1/extra")

    @extra.route("/ping", methods=["POST"])
    @extra.response(200)
    def ping():
        """Ping"""
        return {"pong": True}

    app = Flask(__name__)
    app.config.update({k: v for k, v in from_environ().items() if k.startswith(("API_", "OPENAPI_"))})
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=True)
    csrf.init_app(app)
    app.register_blueprint(extra)
    init_api(app)
    client = app.test_client()
    assert "/api/v1/extra/ping" in client.get("/api/v1/openapi.json").json["paths"]
    assert client.post("/api/v1/extra/ping").json == {"pong": True}  # no CSRF token needed
    assert "extra_api" in login_manager.blueprint_login_views
    assert login_manager.blueprint_login_views["extra_api"] is None


def test_a_plain_plugin_api_blueprint_answers_json_401(client):
    response = client.get("/api/v1/contacts/1/communications")
    assert response.status_code == 401 and response.is_json


def test_html_routes_keep_html_errors_and_api_routes_answer_json(client, member_client):
    html = member_client.get("/no-such-page")
    assert html.status_code == 404 and html.mimetype == "text/html"
    api = client.get("/api/v1/nope")
    assert api.status_code == 404 and api.is_json and api.json["code"] == 404

    method = client.put("/api/v1/contacts")
    assert method.status_code == 405 and method.is_json
    assert set(method.headers["Allow"].split(", ")) >= {"GET", "POST"}
    html_method = member_client.put("/login")
    assert html_method.status_code == 405 and html_method.mimetype == "text/html"
    assert "POST" in html_method.headers["Allow"]


def test_api_errors_keep_retry_after(app):
    with app.test_request_context("/api/v1/contacts"):
        assert request.path.startswith("/api/")
        response = http_error(TooManyRequests(retry_after=30))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.is_json and response.json["code"] == 429


def test_the_api_works_on_a_second_app_with_csrf_on(app, member, tmp_path_factory):
    """The blueprints are shared; each app gets its own Api object. Cookies don't authenticate
    the API, so it needs no CSRF token even where CSRF is enforced."""
    config = conftest.test_config(tmp_path_factory, WTF_CSRF_ENABLED=True)
    second = create_app(config, plugins=conftest.ALL_PLUGINS)
    try:
        with second.app_context():
            if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
                db.create_all()
            vocabulary.ensure_defaults()
            # The same database on PostgreSQL; a new SQLite file otherwise.
            user = db.session.get(User, member.id) or factories.user("member", [factories.team("Second")])
            _, raw = accounts.create_token(user, "second app")
        client = second.test_client()
        headers = {"Authorization": f"Bearer {raw}"}
        created = client.post("/api/v1/contacts", json={"first_name": "Ada"}, headers=headers)
        assert created.status_code == 201, created.json
        assert (
            client.get("/api/v1/openapi.json").json["paths"].keys()
            == app.test_client().get("/api/v1/openapi.json").json["paths"].keys()
        )
        assert client.get("/api/v1/nope").is_json
        assert client.get("/nope").mimetype == "text/html"
        assert client.post("/login", data={}).status_code == 400  # the HTML side still checks CSRF
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()
    first = Api(app, make_token(app, member))
    assert first.get("/api/v1/me").status_code == 200


def test_a_busy_database_does_not_fail_a_read_for_the_tokens_last_use(tmp_path_factory):
    """The token's last use is written at most once a minute; when a long write (an import batch)
    holds SQLite's lock past the busy timeout, the read still answers and the stamp waits."""
    if conftest.TEST_DB:
        pytest.skip("SQLite's database-wide write lock")
    app = create_app(conftest.test_config(tmp_path_factory, SQLITE_BUSY_TIMEOUT_MS=50), plugins=[])
    with app.app_context():
        db.create_all()
        vocabulary.ensure_defaults()
        member = factories.user("member", [factories.team("Sales")])
        email = member.email
        raw = accounts.create_token(db.session.get(User, member.id), "script")[1]
        path = db.engine.url.database
    import sqlite3

    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's write in progress
        response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["email"] == email
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with app.app_context():
        assert db.session.scalar(db.select(ApiToken.last_used_at)) is None  # written by a later request
        assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
        db.session.remove()
        assert db.session.scalar(db.select(ApiToken.last_used_at)) is not None
        db.session.remove()
        db.engine.dispose()
