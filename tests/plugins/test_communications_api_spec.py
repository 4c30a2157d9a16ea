"""The communications API is in the OpenAPI document while the plugin is enabled, and only then."""

from __future__ import annotations

from core import create_app
from tests.conftest import test_config

PLUGIN_PATHS = {
    "/api/v1/contacts/{contact_id}/communications": {"get", "post"},
    "/api/v1/contacts/{contact_id}/communications/send": {"post"},
    "/api/v1/communications": {"get"},
    "/api/v1/communications/{comm_id}": {"get"},
    "/api/v1/communications/{comm_id}/cancel": {"post"},
    "/api/v1/communications/{comm_id}/reschedule": {"post"},
    "/api/v1/communications/{comm_id}/send-now": {"post"},
    "/api/v1/communications/channels": {"get"},
    "/api/v1/communications/templates": {"get", "post"},
    "/api/v1/communications/templates/{template_id}": {"get", "patch", "delete"},
    "/api/v1/communications/templates/{template_id}/preview": {"post"},
    "/api/v1/communications/templates/preview": {"post"},
    "/api/v1/contacts/{contact_id}/consent": {"get", "put", "post"},
    "/api/v1/contacts/{contact_id}/consent/history": {"get"},
    "/api/v1/contacts/{contact_id}/preferences": {"get", "put"},
}


def _spec(app) -> dict:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_plugin_operations_are_documented_when_enabled(app):
    paths = _spec(app)["paths"]
    for path, methods in PLUGIN_PATHS.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, sorted(paths[path]))


def test_plugin_operations_are_absent_when_disabled(tmp_path_factory):
    bare = create_app(test_config(tmp_path_factory), plugins=[])
    paths = _spec(bare)["paths"]
    assert "/api/v1/contacts/{contact_id}" in paths  # the core's API is still there
    assert not set(PLUGIN_PATHS) & set(paths)
    # (the core's own /contact-preferences, issue 3, stays)
    assert not [p for p in paths if "communications" in p or "consent" in p or p.endswith("/preferences")]
    assert bare.test_client().get("/api/v1/communications/channels").status_code == 404
    assert "communications" not in {tag["name"] for tag in _spec(bare)["tags"]}


def test_plugin_operations_are_fully_documented(app):
    spec = _spec(app)
    send = spec["paths"]["/api/v1/contacts/{contact_id}/communications/send"]["post"]
    assert {"200", "201", "401", "403", "404", "422"} <= set(send["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in send.get("parameters", []))
    body = send["requestBody"]["content"]["application/json"]["schema"]
    assert "$ref" in body
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert {"subject", "content", "when", "idempotency_key"} <= set(schema["properties"])
    assert schema.get("additionalProperties") is False
    patch = spec["paths"]["/api/v1/communications/templates/{template_id}"]["patch"]
    assert {"401", "403", "404", "409", "422"} <= set(patch["responses"])
    ids = [p for p in patch.get("parameters", []) if p["name"] == "template_id"] or [
        p for p in spec["paths"]["/api/v1/communications/templates/{template_id}"].get("parameters", [])
        if p["name"] == "template_id"
    ]
    assert ids and ids[0]["schema"].get("maximum") == 2147483647
    assert "communications" in {tag["name"] for tag in spec["tags"]}
    listing = spec["paths"]["/api/v1/communications"]["get"]
    assert {"type", "status", "since", "until", "limit", "cursor"} <= {p["name"] for p in listing["parameters"]}
    for path in PLUGIN_PATHS:
        for op in spec["paths"][path].values():
            if isinstance(op, dict) and "responses" in op:
                assert op.get("tags") == ["communications"], path
                assert "401" in op["responses"], path
