"""The API's input schemas load a body of plain text fields themselves (core/api/schemas.py
``StrictSchema.load``): the same data and the same errors as marshmallow's load, for every schema."""

from __future__ import annotations

import marshmallow as ma
import pytest

import core.api  # noqa: F401 - every schema module imported (the plugins' too, through the app)
from core.api.schemas import ContactInSchema, ContactPatchSchema, StrictSchema


def _schemas(app):
    found, todo = [], [StrictSchema]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not StrictSchema:
            found.append(cls)
    return found


def _bodies(schema) -> list:
    texts = [name for name, f in schema.load_fields.items() if type(f) is ma.fields.String]
    bodies = [{}, {"nope": "x"}, {"id": 1}]
    for name in texts:
        bodies += [{name: "Ada"}, {name: ""}, {name: None}, {name: 5}, {name: "a\x00b"}, {name: "x" * 100},
                   {name: "x" * 101}, {name: "x" * 10001}, {name: ["x"]}, {name: "x", "nope": 1}]
    bodies.append(dict.fromkeys(texts, "Ada"))
    return bodies


def _load(load, schema, body):
    try:
        return "ok", load(schema, body)
    except ma.ValidationError as exc:
        return "error", exc.messages


def test_plain_bodies_load_as_marshmallow_loads_them(app):
    checked = 0
    for cls in _schemas(app):
        for schema in (cls(), cls(partial=True)):
            for body in _bodies(schema):
                fast = _load(lambda s, b: s.load(b), schema, body)
                slow = _load(ma.Schema.load, schema, body)
                assert fast == slow, (cls.__name__, body)
                if fast[0] == "ok":
                    assert list(fast[1]) == list(slow[1])  # the schema's order, as marshmallow gives it
                checked += 1
    assert checked > 500


def test_contact_names_are_not_loaded_field_by_field(monkeypatch):
    loads = []
    real = ma.Schema.load
    monkeypatch.setattr(ma.Schema, "load", lambda self, data, **kw: loads.append(data) or real(self, data, **kw))
    body = {"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace"}
    for schema in (ContactInSchema(), ContactPatchSchema(partial=True)):
        assert schema.load(body) == body and list(schema.load(body)) == ["first_name", "last_name", "email"]
    assert loads == []
    with pytest.raises(ma.ValidationError):  # anything else: marshmallow's, with its messages
        ContactInSchema().load({"first_name": "Ada", "tags": "vip"})
    assert loads == [{"first_name": "Ada", "tags": "vip"}]
