"""/api/v1/tags, /api/v1/groups (+ members), /api/v1/categories, and the contact API's tags,
group_ids and category_id."""

from __future__ import annotations

import pytest

from core.extensions import db
from tests import factories
from tests.core.test_api_contacts import Api, make_token


@pytest.fixture
def member_api(app, member):
    return Api(app, make_token(app, member))


@pytest.fixture
def admin_api(app, admin):
    return Api(app, make_token(app, admin))


@pytest.fixture
def outsider_api(app, outsider):
    return Api(app, make_token(app, outsider))


def test_contact_api_reads_and_writes_tags_groups_category(app, member_api, admin_api):
    group = member_api.post("/api/v1/groups", json={"name": "Board"}).get_json()
    cat = admin_api.post("/api/v1/categories", json={"name": "Suppliers"}).get_json()
    created = member_api.post("/api/v1/contacts", json={
        "first_name": "Ada", "tags": ["VIP", "golf"], "group_ids": [group["id"]], "category_id": cat["id"]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["tags"], body["group_ids"], body["category_id"]) == (["golf", "VIP"], [group["id"]], cat["id"])
    url = created.headers["Location"]
    etag = created.headers["ETag"]
    patched = member_api.patch(url, json={"tags": ["vip"]}, headers={"If-Match": etag})
    assert patched.status_code == 200 and patched.get_json()["tags"] == ["VIP"]
    assert patched.headers["ETag"] != etag
    listed = member_api.get("/api/v1/contacts?tag=vip").get_json()["items"]
    assert [c["tags"] for c in listed] == [["VIP"]] and listed[0]["group_ids"] == [group["id"]]
    assert member_api.get(f"/api/v1/contacts?group={group['id']}").get_json()["items"][0]["first_name"] == "Ada"
    assert member_api.get(f"/api/v1/contacts?category={cat['id']}").get_json()["items"][0]["first_name"] == "Ada"
    bad = member_api.patch(url, json={"category_id": 999999}, headers={"If-Match": patched.headers["ETag"]})
    assert bad.status_code == 422 and "category_id" in str(bad.get_json())
    bad = member_api.patch(url, json={"tags": "vip"}, headers={"If-Match": patched.headers["ETag"]})
    assert bad.status_code == 422 and "tags" in str(bad.get_json())
    assert member_api.get("/api/v1/contacts?tag=nope").status_code == 422


def test_tags_api(app, member_api, admin_api):
    created = member_api.post("/api/v1/tags", json={"name": "Lead", "color": "red"})
    assert created.status_code == 201 and created.get_json()["color"] == "red"
    tag_url = created.headers["Location"]
    assert member_api.post("/api/v1/tags", json={"name": "lead"}).status_code == 422
    assert member_api.post("/api/v1/tags", json={"name": "x", "color": "plaid"}).status_code == 422
    assert [t["name"] for t in member_api.get("/api/v1/tags?q=le").get_json()["items"]] == ["Lead"]
    assert member_api.patch(tag_url, json={"name": "Hot"}).status_code == 403
    assert admin_api.patch(tag_url, json={"name": "Hot"}).get_json()["name"] == "Hot"
    assert member_api.delete(tag_url).status_code == 403
    assert admin_api.delete(tag_url).status_code == 204
    assert admin_api.get(tag_url).status_code == 404


def test_groups_and_members_api(app, team, member_api, outsider_api):
    with app.app_context():
        ids = [factories.contact(db.session.merge(team), f"P{i}").id for i in range(3)]
    group = member_api.post("/api/v1/groups", json={"name": "G", "description": "d"})
    assert group.status_code == 201
    gurl = group.headers["Location"]
    for cid in ids:
        assert member_api.post(gurl + "/members", json={"contact_id": cid}).status_code == 204
    assert member_api.post(gurl + "/members", json={"contact_id": 999999}).status_code == 404
    assert member_api.post(gurl + "/members", json={}).status_code == 422
    page = member_api.get(gurl + "/members?limit=2").get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = member_api.get(gurl + f"/members?limit=2&cursor={page['next_cursor']}").get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert member_api.delete(gurl + f"/members/{ids[0]}").status_code == 204
    assert outsider_api.get(gurl).status_code == 404
    assert member_api.patch(gurl, json={"name": "H"}).get_json()["name"] == "H"
    assert [g["name"] for g in member_api.get("/api/v1/groups").get_json()["items"]] == ["H"]
    assert member_api.delete(gurl).status_code == 204


def test_categories_api(admin_api, member_api):
    top = admin_api.post("/api/v1/categories", json={"name": "Top"}).get_json()
    child = admin_api.post("/api/v1/categories", json={"name": "Child", "parent_id": top["id"]}).get_json()
    assert member_api.post("/api/v1/categories", json={"name": "X"}).status_code == 403
    cycle = admin_api.patch(f"/api/v1/categories/{top['id']}", json={"parent_id": child["id"]})
    assert cycle.status_code == 422 and "parent_id" in str(cycle.get_json())
    tree = member_api.get("/api/v1/categories").get_json()["items"]
    assert [(c["name"], c["depth"]) for c in tree] == [("Top", 0), ("Child", 1)]
    admin_api.post("/api/v1/categories", json={"name": "child"})  # beside Top: Child cannot move up
    clash = admin_api.delete(f"/api/v1/categories/{top['id']}")
    assert clash.status_code == 409 and "Rename or move one of them first" in clash.get_json()["message"]
    admin_api.patch(f"/api/v1/categories/{child['id']}", json={"name": "Kid"})
    assert admin_api.delete(f"/api/v1/categories/{top['id']}").status_code == 204
    assert member_api.get(f"/api/v1/categories/{child['id']}").get_json()["parent_id"] is None

