"""The REST API for hierarchy and relationships: reports_to_id / parent_id in the contact and
organization schemas, relationship types, a contact's relationships, and one relationship."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import RelationshipType
from tests import factories
from tests.core.test_api_contacts import Api, make_token


@pytest.fixture
def api(app, member):
    return Api(app, make_token(app, member))


@pytest.fixture
def viewer_api(app, viewer):
    return Api(app, make_token(app, viewer))


@pytest.fixture
def ids(app, team):
    with app.app_context():
        t = db.session.merge(team)
        people = [factories.contact(t, n, "Test").id for n in ("Ada", "Bob", "Carol")]
        org = factories.organization(t, "Acme").id
        types = {r.name: r.id for r in db.session.scalars(select(RelationshipType))}
        return {"people": people, "org": org, "types": types}


def test_reports_to_and_parent_in_the_schemas(api, ids):
    ada, bob, _ = ids["people"]
    etag = api.get(f"/api/v1/contacts/{bob}").headers["ETag"]
    response = api.patch(f"/api/v1/contacts/{bob}", json={"reports_to_id": ada}, headers={"If-Match": etag})
    assert response.status_code == 200 and response.json["reports_to_id"] == ada
    etag = api.get(f"/api/v1/contacts/{ada}").headers["ETag"]
    cycle = api.patch(f"/api/v1/contacts/{ada}", json={"reports_to_id": bob}, headers={"If-Match": etag})
    assert cycle.status_code == 422
    assert "Bob Test already reports to Ada Test" in cycle.json["errors"]["json"]["reports_to_id"][0]
    created = api.post("/api/v1/organizations", json={"name": "Child", "parent_id": ids["org"]})
    assert created.status_code == 201 and created.json["parent_id"] == ids["org"]
    etag = api.get(f"/api/v1/organizations/{ids['org']}").headers["ETag"]
    bad = api.patch(f"/api/v1/organizations/{ids['org']}", json={"parent_id": created.json["id"]},
                    headers={"If-Match": etag})
    assert bad.status_code == 422 and "parent_id" in bad.json["errors"]["json"]


def test_relationship_types(api):
    items = api.get("/api/v1/relationship-types").json["items"]
    spouse = next(t for t in items if t["name"] == "spouse of")
    assert spouse["symmetric"] and spouse["target_kind"] == "contact" and spouse["active"]
    assert api.get("/api/v1/relationship-types?bogus=1").status_code == 422


def test_relationship_crud_and_both_sides(api, ids):
    ada, bob, _ = ids["people"]
    created = api.post(f"/api/v1/contacts/{ada}/relationships",
                       json={"type_id": ids["types"]["manager of"], "other_contact_id": bob, "start_date": "2024-01-01"})
    assert created.status_code == 201, created.json
    rel = created.json
    assert (rel["contact_id"], rel["other_contact_id"], rel["type_name"]) == (ada, bob, "manager of")
    assert created.headers["Location"].endswith(f"/api/v1/relationships/{rel['id']}")
    bob_side = api.get(f"/api/v1/contacts/{bob}/relationships").json["items"]
    assert [(s["label"], s["other_id"], s["direction"]) for s in bob_side] == [("reports to", ada, "inverse")]
    bad = api.patch(f"/api/v1/relationships/{rel['id']}", json={"end_date": "2023-01-01"})
    assert bad.status_code == 422 and "end_date" in bad.json["errors"]["json"]
    ok = api.patch(f"/api/v1/relationships/{rel['id']}", json={"end_date": "2025-01-01", "note": "done"})
    assert ok.status_code == 200 and ok.json["end_date"] == "2025-01-01"
    assert api.get(f"/api/v1/relationships/{rel['id']}").json["note"] == "done"
    back = api.post(f"/api/v1/contacts/{bob}/relationships",
                    json={"type_id": ids["types"]["manager of"], "other_contact_id": ada, "start_date": "2024-06-01"})
    assert back.status_code == 422 and "cannot also be manager of" in back.json["errors"]["json"]["other_contact_id"][0]
    assert api.delete(f"/api/v1/relationships/{rel['id']}").status_code == 204
    assert api.get(f"/api/v1/relationships/{rel['id']}").status_code == 404


def test_organization_relationship_and_field_errors(api, ids):
    ada = ids["people"][0]
    board = ids["types"]["board member of"]
    wrong = api.post(f"/api/v1/contacts/{ada}/relationships", json={"type_id": board, "other_contact_id": ids["people"][1]})
    assert wrong.status_code == 422 and "organization_id" in wrong.json["errors"]["json"]
    ok = api.post(f"/api/v1/contacts/{ada}/relationships", json={"type_id": board, "organization_id": ids["org"]})
    assert ok.status_code == 201 and ok.json["organization_id"] == ids["org"]
    dup = api.post(f"/api/v1/contacts/{ada}/relationships", json={"type_id": board, "organization_id": ids["org"]})
    assert dup.status_code == 422 and "already" in dup.json["errors"]["json"]["organization_id"][0]
    unknown = api.post(f"/api/v1/contacts/{ada}/relationships", json={"type_id": board, "colour": "red"})
    assert unknown.status_code == 422 and "colour" in unknown.json["errors"]["json"]
    missing = api.post(f"/api/v1/contacts/{ada}/relationships", json={"other_contact_id": ids["people"][1]})
    assert missing.status_code == 422 and "type_id" in missing.json["errors"]["json"]


def test_viewer_reads_but_cannot_write(api, viewer_api, ids):
    ada, bob, _ = ids["people"]
    rel = api.post(f"/api/v1/contacts/{ada}/relationships",
                   json={"type_id": ids["types"]["colleague of"], "other_contact_id": bob}).json
    assert viewer_api.get(f"/api/v1/contacts/{bob}/relationships").json["items"][0]["other_id"] == ada
    assert viewer_api.post(f"/api/v1/contacts/{bob}/relationships",
                           json={"type_id": ids["types"]["spouse of"], "other_contact_id": ada}).status_code == 403
    assert viewer_api.patch(f"/api/v1/relationships/{rel['id']}", json={"note": "x"}).status_code == 403
    assert viewer_api.delete(f"/api/v1/relationships/{rel['id']}").status_code == 403


def test_other_teams_relationships_are_404(app, api, ids, outsider):
    ada, bob, _ = ids["people"]
    rel = api.post(f"/api/v1/contacts/{ada}/relationships",
                   json={"type_id": ids["types"]["colleague of"], "other_contact_id": bob}).json
    outsider_api = Api(app, make_token(app, outsider))
    assert outsider_api.get(f"/api/v1/relationships/{rel['id']}").status_code == 404
    assert outsider_api.get(f"/api/v1/contacts/{ada}/relationships").status_code == 404
    assert outsider_api.delete(f"/api/v1/relationships/{rel['id']}").status_code == 404
