"""The REST API's contact details, photo, vCard export and import."""

from __future__ import annotations

import pytest

from core.extensions import db
from tests import factories
from tests.core.test_api_contacts import Api, make_token


@pytest.fixture
def member_api(app, member):
    return Api(app, make_token(app, member))


@pytest.fixture
def viewer_api(app, viewer):
    return Api(app, make_token(app, viewer))


@pytest.fixture
def outsider_api(app, outsider):
    return Api(app, make_token(app, outsider))


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
BODY = {
    "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
    "emails": [{"label": "work", "value": "ada@work.example.org"}],
    "phones": [{"label": "mobile", "value": "+1 650 253 0000"}],
    "urls": [{"value": "https://example.org"}],
    "addresses": [{"label": "home", "street": "12 St James's Square", "locality": "London", "postcode": "SW1Y 4JH"}],
    "title": "Countess", "birthday": "1815-12-10", "notes": "Hello",
}


def test_create_read_patch_details_and_etag(member_api, team):
    created = member_api.post("/api/v1/contacts", json=BODY)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["emails"] == [{"label": "work", "value": "ada@work.example.org"}]
    assert body["phones"] == [{"label": "mobile", "value": "+16502530000"}]
    assert body["urls"] == [{"label": "other", "value": "https://example.org"}]
    assert body["addresses"][0] == {"label": "home", "street": "12 St James's Square", "locality": "London",
                                    "region": "", "postcode": "SW1Y 4JH", "country": ""}
    assert (body["title"], body["birthday"], body["notes"], body["has_photo"]) == ("Countess", "1815-12-10", "Hello", False)
    url = created.headers["Location"]
    etag = created.headers["ETag"]
    patched = member_api.patch(url, json={"title": "Analyst", "phones": []}, headers={"If-Match": etag})
    assert patched.status_code == 200 and patched.json["title"] == "Analyst" and patched.json["phones"] == []
    assert patched.headers["ETag"] != etag
    stale = member_api.patch(url, json={"title": "Again"}, headers={"If-Match": etag})
    assert stale.status_code == 409
    listed = member_api.get("/api/v1/contacts").json["items"]
    assert listed[0]["title"] == "Analyst" and listed[0]["emails"][0]["value"] == "ada@work.example.org"


def test_bad_details_are_422_naming_the_field(member_api, team):
    for body, field in (({"emails": [{"label": "boss", "value": "a@b.org"}]}, "emails"),
                        ({"emails": [{"label": "work", "value": "nope"}]}, "emails"),
                        ({"birthday": "12/10/1815"}, "birthday"),
                        ({"addresses": [{"town": "London"}]}, "addresses"),
                        ({"phones": [{"label": "home"}]}, "phones")):
        answer = member_api.post("/api/v1/contacts", json={"first_name": "X", **body})
        assert answer.status_code == 422, body
        assert field in answer.json["errors"]["json"], answer.json


def test_photo_put_get_cached_and_delete(member_api, viewer_api, outsider_api, team):
    contact_id = member_api.post("/api/v1/contacts", json={"first_name": "Pic"}).json["id"]
    url = f"/api/v1/contacts/{contact_id}/photo"
    assert member_api.get(url).status_code == 404
    assert member_api.put(url, data=b"nope", headers={"Content-Type": "image/png"}).status_code == 422
    assert viewer_api.put(url, data=PNG, headers={"Content-Type": "image/png"}).status_code == 403
    assert outsider_api.put(url, data=PNG, headers={"Content-Type": "image/png"}).status_code == 404
    assert member_api.put(url, data=PNG, headers={"Content-Type": "image/png"}).status_code == 204
    got = member_api.get(url)
    assert got.status_code == 200 and got.data == PNG and got.mimetype == "image/png"
    assert "max-age" in got.headers["Cache-Control"] and got.headers["ETag"]
    assert member_api.get(url, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    assert member_api.get(f"/api/v1/contacts/{contact_id}").json["has_photo"] is True
    assert member_api.delete(url).status_code == 204
    assert member_api.get(url).status_code == 404


def test_export_with_filters_and_versions(member_api, app, team):
    with app.app_context():
        t = db.session.merge(team)
        factories.contact(t, "Ada", "Lovelace", email="ada@example.org", status="active")
        factories.contact(t, "Grace", "Hopper")
    whole = member_api.get("/api/v1/exports/contacts.vcf?version=3.0")
    assert whole.status_code == 200 and whole.mimetype == "text/vcard"
    text = whole.get_data(as_text=True)
    assert text.count("BEGIN:VCARD") == 2 and "VERSION:3.0" in text
    only = member_api.get("/api/v1/exports/contacts.vcf?q=ada").get_data(as_text=True)
    assert only.count("BEGIN:VCARD") == 1 and "VERSION:4.0" in only and "FN:Ada Lovelace" in only
    assert member_api.get("/api/v1/exports/contacts.vcf?version=2.1").status_code == 422
    assert member_api.get("/api/v1/exports/contacts.vcf?sort=bogus").status_code == 422
    assert member_api.get("/api/v1/exports/contacts.vcf?cursor=x").status_code == 422
