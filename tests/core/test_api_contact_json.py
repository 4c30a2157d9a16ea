"""A contact's API JSON written out without marshmallow (core/api/contact_json.py) is the JSON the
schema's own dump gives, for every kind of contact."""

from __future__ import annotations

import json

import marshmallow as ma
import pytest
from flask_login import login_user

from core.api.merge_schemas import ContactCreatedSchema
from core.api.schemas import ContactPageSchema, ContactSchema
from core.extensions import db
from core.models import User
from core.services import categories, custom_fields
from core.services import contacts as contacts_service
from tests.core.test_api_contacts import Api, make_token, team_id
from tests.core.test_api_details import BODY


@pytest.fixture
def member_api(app, member):
    return Api(app, make_token(app, member))


def _setup(app, admin):
    with app.test_request_context():
        actor = db.session.get(User, admin.id)
        for key, kind, choices in (("tier", "choice", ["gold", "silver"]), ("employees", "number", []),
                                   ("renewal", "date", []), ("interests", "multi_choice", ["golf", "chess", "music"]),
                                   ("site", "url", []), ("active", "boolean", []), ("legacy", "text", [])):
            custom_fields.create_field(actor, {"key": key, "label": key.title(), "kind": kind, "choices": choices})
        return categories.create_category(actor, {"name": "Partners"}).id


def _contacts(app, admin, member_api, team) -> list[int]:
    category = _setup(app, admin)
    bodies = [
        {"first_name": "Plain"},
        {"email": "Only@Example.org"},
        {**BODY, "phone": "+44 20 7946 0958", "tags": ["vip", "Key"], "category_id": category,
         "custom_fields": {"tier": "gold", "employees": 12, "renewal": "2027-03-01", "interests": "music,golf",
                           "site": "example.org", "active": False, "legacy": "old"}},
        {"last_name": "Decimal", "custom_fields": {"employees": 3.5, "active": True}, "status": "active",
         "type": "supplier", "owner_team_id": team_id(team)},
    ]
    ids = []
    for body in bodies:
        answer = member_api.post("/api/v1/contacts", json=body)
        assert answer.status_code == 201, answer.json
        ids.append(answer.json["id"])
    boss = member_api.post("/api/v1/contacts", json={"first_name": "Boss", "reports_to_id": ids[0]})
    ids.append(boss.json["id"])
    group = member_api.post("/api/v1/groups", json={"name": "Key accounts"})
    assert group.status_code == 201, group.json
    etag = member_api.get(f"/api/v1/contacts/{ids[2]}").headers["ETag"]
    assert member_api.patch(f"/api/v1/contacts/{ids[2]}", json={"group_ids": [group.json["id"]]},
                            headers={"If-Match": etag}).status_code == 200
    with app.test_request_context():
        field = db.session.scalar(db.select(custom_fields.CustomField).where(custom_fields.CustomField.key == "legacy"))
        custom_fields.update_field(db.session.get(User, admin.id), field.id, {"archived": True})
    assert member_api.delete(f"/api/v1/contacts/{ids[1]}").status_code == 204
    return ids


def _dumped(app, member, contact_id: int, dump, schema=ContactSchema, duplicates=None, deleted=None) -> str:
    with app.test_request_context():
        actor = db.session.get(User, member.id)
        login_user(actor)
        contact = contacts_service.get_contact(actor, contact_id, deleted=contact_id == deleted)
        if duplicates is not None:
            contact.possible_duplicates = duplicates
        return json.dumps(dump(schema(), contact), sort_keys=True)


def test_written_out_json_is_the_schema_dump(app, admin, member, member_api, team):
    ids = _contacts(app, admin, member_api, team)
    for contact_id in ids:
        fast = _dumped(app, member, contact_id, lambda schema, c: schema.dump(c), deleted=ids[1])
        slow = _dumped(app, member, contact_id, lambda schema, c: ma.Schema.dump(schema, c), deleted=ids[1])
        assert fast == slow
    full = json.loads(_dumped(app, member, ids[2], lambda schema, c: schema.dump(c)))
    assert full["custom_fields"] == {"tier": "gold", "employees": 12, "renewal": "2027-03-01",
                                     "interests": ["golf", "music"], "site": "https://example.org", "active": False}
    assert full["tags"] == ["Key", "vip"] and len(full["group_ids"]) == 1 and full["category_id"]
    assert full["birthday"] == "1815-12-10" and full["created_at"].endswith("+00:00")
    assert json.loads(_dumped(app, member, ids[1], lambda schema, c: schema.dump(c), deleted=ids[1]))["deleted_at"]


def test_created_answer_keeps_its_own_fields(app, admin, member, member_api, team):
    ids = _contacts(app, admin, member_api, team)
    with app.test_request_context():
        others = [contacts_service.get_contact(db.session.get(User, member.id), ids[0])]
        duplicates = [{"contact": others[0], "reasons": ["name"], "score": 90}]
    for found in ([], duplicates):
        fast = _dumped(app, member, ids[2], lambda schema, c: schema.dump(c), ContactCreatedSchema, found)
        slow = _dumped(app, member, ids[2], lambda schema, c: ma.Schema.dump(schema, c), ContactCreatedSchema, found)
        assert fast == slow and '"possible_duplicates"' in fast


def test_one_contact_is_not_dumped_field_by_field(app, member, member_api, monkeypatch):
    contact_id = member_api.post("/api/v1/contacts", json={"first_name": "Ada"}).json["id"]
    serialized = []
    real = ma.Schema._serialize
    monkeypatch.setattr(ma.Schema, "_serialize", lambda self, obj, **kw: serialized.append(type(self)) or real(self, obj, **kw))
    answer = member_api.get(f"/api/v1/contacts/{contact_id}")
    assert answer.status_code == 200 and answer.json["first_name"] == "Ada"
    assert ContactSchema not in serialized
    # a schema narrowed with only= (or a list's page) is marshmallow's as before
    with app.test_request_context():
        actor = db.session.get(User, member.id)
        login_user(actor)
        contact = contacts_service.get_contact(actor, contact_id)
        assert ContactSchema(only=("id", "first_name")).dump(contact) == {"id": contact_id, "first_name": "Ada"}
        page = ContactPageSchema().dump({"items": [contact], "next_cursor": None})
        assert page["items"][0]["first_name"] == "Ada"
