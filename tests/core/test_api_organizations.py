"""The REST API for organizations: CRUD, search, pages, If-Match, permissions."""

from __future__ import annotations

import pytest

from core.extensions import db
from tests import factories
from tests.core.test_api_contacts import Api, make_token


@pytest.fixture
def member_api(app, member):
    return Api(app, make_token(app, member))


def _org(app, team, name) -> int:
    with app.app_context():
        return factories.organization(db.session.merge(team), name).id


def test_organization_crud(member_api):
    created = member_api.post(
        "/api/v1/organizations",
        json={"name": "Analytical Engines", "website": "example.org", "phone": "+1 202 555 0143"},
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["website"] == "https://example.org"
    assert body["phone"] == "+12025550143"
    url = created.headers["Location"]
    assert url == f"/api/v1/organizations/{body['id']}"
    assert created.headers["ETag"] == f'"{body["id"]}-{body["version"]}"'

    read = member_api.get(url)
    assert read.status_code == 200 and read.json["name"] == "Analytical Engines"
    assert member_api.patch(url, json={"notes": "x"}).status_code == 428
    changed = member_api.patch(url, json={"notes": "Met in 1843."}, headers={"If-Match": read.headers["ETag"]})
    assert changed.status_code == 200 and changed.json["notes"] == "Met in 1843."
    stale = member_api.patch(url, json={"notes": "Older"}, headers={"If-Match": read.headers["ETag"]})
    assert stale.status_code == 409
    assert stale.json["current"]["notes"] == "Met in 1843."
    assert stale.json["changes"] == {"notes": {"yours": "Older", "current": "Met in 1843."}}

    contact = member_api.post("/api/v1/contacts", json={"first_name": "Ada", "organization_id": body["id"]})
    assert contact.status_code == 201 and contact.json["organization_id"] == body["id"]

    assert member_api.delete(url).status_code == 204
    assert member_api.get(url).status_code == 404
    assert [o["id"] for o in member_api.get("/api/v1/organizations?deleted=1").json["items"]] == [body["id"]]
    refused = member_api.post("/api/v1/contacts", json={"first_name": "Bob", "organization_id": body["id"]})
    assert refused.status_code == 422 and "organization_id" in refused.json["errors"]["json"]
    assert member_api.post(url + "/restore").status_code == 200
    assert member_api.get(url).status_code == 200


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "X", "website": "not a site"}, "website"),
        ({"name": "X", "phone": "555"}, "phone"),
        ({"name": 12}, "name"),
        ({"name": "X", "owner_team_id": "1"}, "owner_team_id"),
        ({"name": "X", "version": 1}, "version"),
    ],
)
def test_invalid_organization_fields(member_api, payload, field):
    response = member_api.post("/api/v1/organizations", json=payload)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]


def test_search_and_pages(app, member_api, team):
    ids = {_org(app, team, f"Acme {i:02d}") for i in range(7)}
    _org(app, team, "Zenith")
    assert [o["name"] for o in member_api.get("/api/v1/organizations?q=zen").json["items"]] == ["Zenith"]
    seen, cursor = [], None
    while True:
        params = {"q": "acme", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = member_api.get("/api/v1/organizations", query_string=params).json
        seen.extend(o["id"] for o in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7 and set(seen) == ids
    assert member_api.get("/api/v1/organizations?limit=500").status_code == 422


def test_permissions(app, viewer, outsider, team):
    org_id = _org(app, team, "Acme")
    url = f"/api/v1/organizations/{org_id}"
    viewer_api = Api(app, make_token(app, viewer))
    assert viewer_api.get(url).status_code == 200
    assert viewer_api.post("/api/v1/organizations", json={"name": "New"}).status_code == 403
    assert viewer_api.patch(url, json={"name": "New"}, headers={"If-Match": f'"{org_id}-1"'}).status_code == 403
    assert viewer_api.delete(url).status_code == 403
    outsider_api = Api(app, make_token(app, outsider))
    assert outsider_api.get(url).status_code == 404
    assert outsider_api.delete(url).status_code == 404
    assert outsider_api.get("/api/v1/organizations").json["items"] == []
