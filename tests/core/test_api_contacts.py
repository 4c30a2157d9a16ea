"""The REST API for contacts: CRUD with a token, filters, cursor pages, ETag/If-Match, field errors."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from core.extensions import db
from core.models import User
from core.services import accounts
from core.services.pagination import encode_cursor
from tests import factories


def make_token(app, user) -> str:
    with app.app_context():
        _, raw = accounts.create_token(db.session.get(User, user.id), "tests")
        return raw


class Api:
    """A test client that sends a bearer token and no cookies."""

    def __init__(self, app, token):
        self.client = app.test_client()
        self.token = token

    def __getattr__(self, method):
        def call(url, headers=None, **kwargs):
            headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
            return getattr(self.client, method)(url, headers=headers, **kwargs)

        return call


@pytest.fixture
def member_api(app, member):
    return Api(app, make_token(app, member))


@pytest.fixture
def viewer_api(app, viewer):
    return Api(app, make_token(app, viewer))


@pytest.fixture
def outsider_api(app, outsider):
    return Api(app, make_token(app, outsider))


@pytest.fixture
def admin_api(app, admin):
    return Api(app, make_token(app, admin))


def team_id(team) -> int:
    """The fixtures' teams are detached and expired; their key is still known."""
    return inspect(team).identity[0]


def _contact(app, team, *args, **kwargs) -> int:
    with app.app_context():
        return factories.contact(db.session.merge(team), *args, **kwargs).id


def test_create_read_update_delete_restore(member_api, team):
    created = member_api.post(
        "/api/v1/contacts",
        json={"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.ORG", "phone": "+44 20 7946 0958"},
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["email"] == "Ada@example.org"
    assert body["phone"] == "+442079460958"
    assert body["phone_display"] == "+44 20 7946 0958"
    assert body["owner_team_id"] == team_id(team)
    assert body["type"] == "person" and body["status"] == "lead"
    assert created.headers["Location"] == f"/api/v1/contacts/{body['id']}"
    assert created.headers["ETag"] == f'"{body["id"]}-{body["version"]}"'

    read = member_api.get(created.headers["Location"])
    assert read.status_code == 200
    assert read.json["full_name"] == "Ada Lovelace"
    assert read.headers["ETag"] == created.headers["ETag"]

    changed = member_api.patch(
        created.headers["Location"], json={"status": "active"}, headers={"If-Match": read.headers["ETag"]}
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["status"] == "active"
    assert changed.json["first_name"] == "Ada"  # partial: untouched fields stay
    assert changed.json["version"] == body["version"] + 1
    assert changed.headers["ETag"] == f'"{body["id"]}-{body["version"] + 1}"'

    assert member_api.delete(created.headers["Location"]).status_code == 204
    assert member_api.get(created.headers["Location"]).status_code == 404
    trash = member_api.get("/api/v1/contacts?deleted=true")
    assert [c["id"] for c in trash.json["items"]] == [body["id"]]
    assert trash.json["items"][0]["deleted_at"] is not None
    assert member_api.get("/api/v1/contacts").json["items"] == []

    restored = member_api.post(f"/api/v1/contacts/{body['id']}/restore")
    assert restored.status_code == 200
    assert restored.json["deleted_at"] is None
    assert member_api.get(created.headers["Location"]).status_code == 200
    assert member_api.post(f"/api/v1/contacts/{body['id']}/restore").status_code == 404  # not in the trash


def test_filters_match_the_ui(app, member_api, team):
    with app.app_context():
        t = db.session.merge(team)
        org = factories.organization(t, "Babbage & Co")
        org_id = org.id
        factories.contact(t, "Ada", "Lovelace", status="active", type="customer", organization_id=org_id)
        factories.contact(t, "Charles", "Babbage", status="lead", type="person", email="charles@example.org")
        factories.contact(t, "Grace", "Hopper", status="active", type="person")

    def names(**params):
        response = member_api.get("/api/v1/contacts", query_string=params)
        assert response.status_code == 200, response.json
        return [c["last_name"] for c in response.json["items"]]

    assert names() == ["Babbage", "Hopper", "Lovelace"]
    assert names(status="active") == ["Hopper", "Lovelace"]
    assert names(type="person") == ["Babbage", "Hopper"]
    assert names(status="active", type="person") == ["Hopper"]
    assert names(organization_id=org_id) == ["Lovelace"]
    assert names(q="love") == ["Lovelace"]
    assert names(q="ada lovelace") == ["Lovelace"]
    assert names(q="charles@") == ["Babbage"]
    assert names(sort="-name") == ["Lovelace", "Hopper", "Babbage"]


@pytest.mark.parametrize("sort", ["name", "-name", "created", "-updated"])
def test_cursor_pages_walk_every_contact_once(app, member_api, team, sort):
    expected = {_contact(app, team, "Same", f"Name{i % 3}") for i in range(11)}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4, "sort": sort, **({"cursor": cursor} if cursor else {})}
        response = member_api.get("/api/v1/contacts", query_string=params)
        assert response.status_code == 200, response.json
        seen.extend(c["id"] for c in response.json["items"])
        cursor = response.json["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 11
    assert set(seen) == expected


def test_if_match_is_required_and_checked(app, member_api, team):
    contact_id = _contact(app, team, "Ada", "Lovelace")
    url = f"/api/v1/contacts/{contact_id}"
    etag = member_api.get(url).headers["ETag"]

    missing = member_api.patch(url, json={"first_name": "Augusta"})
    assert missing.status_code == 428
    assert "If-Match" in missing.json["message"]

    wrong_record = member_api.patch(url, json={"first_name": "Augusta"}, headers={"If-Match": f'"{contact_id + 1}-1"'})
    assert wrong_record.status_code == 412
    garbage = member_api.patch(url, json={"first_name": "Augusta"}, headers={"If-Match": "yesterday"})
    assert garbage.status_code == 412

    first = member_api.patch(url, json={"first_name": "Augusta"}, headers={"If-Match": etag})
    assert first.status_code == 200
    stale = member_api.patch(url, json={"first_name": "Ada", "status": "inactive"}, headers={"If-Match": etag})
    assert stale.status_code == 409
    assert stale.json["code"] == 409
    assert stale.json["current"]["first_name"] == "Augusta"
    assert stale.json["current"]["version"] == first.json["version"]
    assert stale.json["changes"]["first_name"] == {"yours": "Ada", "current": "Augusta"}
    assert stale.headers["ETag"] == first.headers["ETag"]
    assert member_api.get(url).json["first_name"] == "Augusta"  # nothing written

    weak = member_api.patch(url, json={"last_name": "King"}, headers={"If-Match": "W/" + first.headers["ETag"]})
    assert weak.status_code == 200
    listed = member_api.patch(url, json={"last_name": "Byron"}, headers={"If-Match": f"{etag}, {weak.headers['ETag']}"})
    assert listed.status_code == 200
    star = member_api.patch(url, json={"last_name": "Lovelace"}, headers={"If-Match": "*"})
    assert star.status_code == 200 and star.json["last_name"] == "Lovelace"


@pytest.mark.parametrize(
    "payload, field, words",
    [
        ({"first_name": "A", "email": "not-an-email"}, "email", "@"),
        ({"first_name": "A", "phone": "12"}, "phone", "phone number"),
        ({"first_name": "A", "status": "retired"}, "status", "Choose one of"),
        ({"first_name": "A", "type": "alien"}, "type", "Choose one of"),
        ({"first_name": 5}, "first_name", "Not a valid string"),
        ({"first_name": "A", "organization_id": "seven"}, "organization_id", "Not a valid integer"),
        ({"first_name": "A", "organization_id": 2**31}, "organization_id", "less than or equal"),
        ({"first_name": "A", "organization_id": 2**63}, "organization_id", "less than or equal"),
        ({"first_name": "A", "organization_id": 999999}, "organization_id", "No such organization"),
        ({"first_name": "A", "owner_team_id": 999999}, "owner_team_id", "your teams"),
        ({"first_name": None}, "first_name", "null"),
        ({"first_name": "x" * 101}, "first_name", "Length"),
        ({"first_name": "A\x00"}, "first_name", "NUL"),
        ({"first_name": "A", "nickname": "Countess"}, "nickname", "Unknown field"),
        ({"first_name": "A", "id": 3}, "id", "Unknown field"),
        ({}, "first_name", "at least a name"),
    ],
)
def test_invalid_fields_answer_422_naming_the_field(member_api, payload, field, words):
    response = member_api.post("/api/v1/contacts", json=payload)
    assert response.status_code == 422, response.json
    assert response.json["code"] == 422
    assert response.json["status"] == "Unprocessable Entity"
    messages = response.json["errors"]["json"][field]
    assert isinstance(messages, list) and messages
    assert words.lower() in " ".join(messages).lower()


def test_duplicate_email_and_patch_errors_name_the_field(app, member_api, team):
    _contact(app, team, "Ada", "Lovelace", email="ada@example.org")
    other = _contact(app, team, "Grace", "Hopper")
    dup = member_api.post("/api/v1/contacts", json={"first_name": "A", "email": "ADA@example.org"})
    assert dup.status_code == 422 and "email" in dup.json["errors"]["json"]
    url = f"/api/v1/contacts/{other}"
    etag = member_api.get(url).headers["ETag"]
    bad = member_api.patch(url, json={"email": "ada@example.org"}, headers={"If-Match": etag})
    assert bad.status_code == 422 and "email" in bad.json["errors"]["json"]
    bad = member_api.patch(url, json={"phone": "++"}, headers={"If-Match": etag})
    assert bad.status_code == 422 and "phone" in bad.json["errors"]["json"]


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 422),
        ('"text"', "application/json", 422),
        ("null", "application/json", 422),
        ("first_name=Ada", "application/x-www-form-urlencoded", 422),
    ],
)
def test_bodies_that_are_not_json_objects_are_4xx(member_api, data, content_type, status):
    response = member_api.post("/api/v1/contacts", data=data, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.is_json and response.json["code"] == status


@pytest.mark.parametrize(
    "params, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"sort": "email"}, "sort"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "WzEsMl0"}, "cursor"),
        ({"organization_id": "x"}, "organization_id"),
        ({"colour": "red"}, "colour"),
        ({"q": "a\x00b"}, "q"),
        ({"cursor": encode_cursor(["ada", 2**40])}, "cursor"),  # beyond a 32-bit id
        ({"cursor": encode_cursor(["a\x00", 1])}, "cursor"),
        ({"cursor": encode_cursor(["ada", 1]), "sort": "-created"}, "cursor"),  # another sort's cursor
    ],
)
def test_bad_query_parameters_answer_422_naming_the_parameter(member_api, params, field):
    response = member_api.get("/api/v1/contacts", query_string=params)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["query"]


def test_huge_and_unknown_ids_are_404(member_api):
    assert member_api.get("/api/v1/contacts/999999").status_code == 404
    assert member_api.get(f"/api/v1/contacts/{2**31}").status_code == 404  # 32-bit ids on PostgreSQL
    assert member_api.get(f"/api/v1/contacts/{2**63}").status_code == 404
    assert member_api.get("/api/v1/contacts/-1").status_code == 404
    response = member_api.patch("/api/v1/contacts/999999", json={}, headers={"If-Match": '"999999-1"'})
    assert response.status_code == 404 and response.is_json


def test_viewer_reads_but_may_not_write(app, viewer_api, team):
    contact_id = _contact(app, team, "Ada", "Lovelace")
    url = f"/api/v1/contacts/{contact_id}"
    read = viewer_api.get(url)
    assert read.status_code == 200
    assert viewer_api.get("/api/v1/contacts").json["items"][0]["id"] == contact_id
    assert viewer_api.post("/api/v1/contacts", json={"first_name": "Eve"}).status_code == 403
    patched = viewer_api.patch(url, json={"first_name": "Eve"}, headers={"If-Match": read.headers["ETag"]})
    assert patched.status_code == 403 and patched.json["code"] == 403
    assert viewer_api.delete(url).status_code == 403
    assert viewer_api.get(url).json["first_name"] == "Ada"


def test_another_teams_contact_is_not_found(app, outsider_api, team):
    contact_id = _contact(app, team, "Ada", "Lovelace")
    url = f"/api/v1/contacts/{contact_id}"
    assert outsider_api.get(url).status_code == 404
    assert (
        outsider_api.patch(url, json={"first_name": "Eve"}, headers={"If-Match": f'"{contact_id}-1"'}).status_code
        == 404
    )
    assert outsider_api.delete(url).status_code == 404
    assert outsider_api.post(url + "/restore").status_code == 404
    assert outsider_api.get("/api/v1/contacts").json == {"items": [], "next_cursor": None}


def test_admin_sees_every_team(app, admin_api, team, other_team):
    _contact(app, team, "Ada", "Lovelace")
    _contact(app, other_team, "Grace", "Hopper")
    assert len(admin_api.get("/api/v1/contacts").json["items"]) == 2
