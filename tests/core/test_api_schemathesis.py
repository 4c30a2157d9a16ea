"""Property-based run of the whole API against its own OpenAPI document (schemathesis).

Every operation gets a few generated requests, valid (positive) and invalid (negative), with a
member's token; schemathesis's checks must pass (all but "schema-valid data is accepted", see
SEMANTIC): no 500, responses, headers and status codes as documented, invalid input refused.
Kept small and fixed (10 derandomized examples per operation and mode) so it is fast and never
flaky. The communications plugin's operations are in the document too (all plugins are enabled in
the test app); in positive mode their path ids point at real records (a contact, a send, a
template) so the generated bodies reach the services instead of stopping at a 404. The operations are driven with hypothesis directly: schemathesis's lazy pytest fixture
loader does not work with pytest 9.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.extensions import db
from tests import factories
from tests.core.test_api_contacts import make_token

# A schema-valid request may still be refused by the services (422): an email that is not an
# address, a phone number that does not exist, a status not in the vocabulary, a forged cursor.
SEMANTIC = [positive_data_acceptance]
SETTINGS = settings(
    max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@pytest.fixture(autouse=True, scope="module")
def _hypothesis_home(tmp_path_factory):
    """Keep hypothesis's caches out of the work tree."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


PLUGIN_PATH = re.compile(r"^/api/v1/(communications|contacts/\{contact_id\}/(communications|consent|preferences))")


@pytest.fixture
def records(app, member, team):
    """A contact, and with the communications plugin a scheduled send and a template on it."""
    from plugins.communications import delivery, templating

    with app.test_request_context():
        t = db.session.merge(team)
        actor = db.session.get(type(member), member.id)
        org = factories.organization(t, "Acme")
        contact = factories.contact(t, "Ada", "Lovelace", organization_id=org.id, email="ada@example.org")
        comm = delivery.schedule(actor, contact.id, {"subject": "Hi", "content": "Hello", "when": "2035-06-01T09:00:00Z"})
        tpl = templating.create_template(actor, {"name": "Welcome", "channel": "email", "subject": "Hi",
                                                 "body": "Dear {{ contact.first_name }}"})
        return {"contact_id": contact.id, "comm_id": comm.id, "template_id": tpl.id}


@pytest.fixture
def token(app, member, records):
    return make_token(app, member)


def _is_plugin(operation) -> bool:
    return PLUGIN_PATH.match(operation.path) is not None


def _aim_at_records(case, records) -> None:
    """Point a positive case's ids at records that exist (random ids are nearly always a 404)."""
    for name, value in (case.path_parameters or {}).items():
        if name in records and isinstance(value, int):
            case.path_parameters[name] = records[name]
    if isinstance(case.body, dict) and isinstance(case.body.get("contact_id"), int):
        case.body["contact_id"] = records["contact_id"]


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_the_document_lists_every_operation(app):
    labels = {op.label for op in _operations(app)}
    assert len(labels) >= 72, sorted(labels)  # 50+ of the core, 22 of the communications plugin
    assert "PATCH /api/v1/contacts/{contact_id}" in labels
    assert "POST /api/v1/jobs/{job_id}/cancel" in labels
    assert "POST /api/v1/contacts/{contact_id}/communications/send" in labels
    assert len([op for op in _operations(app) if _is_plugin(op)]) == 22


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_matches_the_document(app, token, records, mode):
    headers = {"Authorization": f"Bearer {token}"}
    for operation in _operations(app):
        aim = mode == GenerationMode.POSITIVE and _is_plugin(operation)

        @SETTINGS
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            if aim:  # noqa: B023 - run() is called right away, in this iteration
                _aim_at_records(case, records)
            case.call_and_validate(headers=headers, excluded_checks=SEMANTIC)

        run()
