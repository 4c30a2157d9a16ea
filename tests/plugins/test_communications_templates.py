"""Message templates: the SSTI corpus is inert, rendering is bounded, merge fields stay with their
contact, unknown and missing fields are flagged, CRUD with versions, permissions, pages and API."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.extensions import db
from core.services import accounts
from plugins.communications import templating
from plugins.communications.models_prefs import MessageTemplate
from tests import factories

HX = {"HX-Request": "true"}
SECRET = "TOP-SECRET-9f3a"

# Payloads from the usual server-side template injection write-ups (Jinja2 / Flask).
SSTI = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ self }}",
    "{{ self._TemplateReference__context }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ request }}",
    "{{ request.application.__globals__.__builtins__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ contact|attr('__class__') }}",
    "{{ contact|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ contact.first_name.__class__.__base__.__subclasses__() }}",
    "{{ contact['__class__'] }}",
    "{{ contact.items() }}",
    "{{ contact.items }}",
    "{{ contact.__init__ }}",
    "{{ '{0.__class__}'.format(contact) }}",
    "{{ '%s'|format(contact) }}",
    "{{ '{0:>1000000000}'.format('a') }}",
    "{{ 'a'.ljust(10**9) }}",
    "{{ 'a'.center(999999999) }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    '{{ "a"*10**9 }}',
    '{{ "a"*1000*1000*1000 }}',
    "{{ 10**10**10 }}",
    "{% set a = 'xxxxxxxxxx' %}{% set b = a~a~a~a~a~a~a~a~a~a %}{{ b~b~b~b~b~b~b~b~b~b }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% include '/etc/passwd' %}",
    "{% extends 'base.html' %}",
    "{% import 'x' as y %}",
    "{% with x = config %}{{ x }}{% endwith %}",
    "{{ contact.first_name|join(contact.first_name) }}",
    "{{ contact.first_name|replace('', 'aaaaaaaaaa') }}",
    "{{ contact.first_name|truncate(1000000000) }}",
    "{{ contact.first_name|default('a' * 100) }}",
    "{{ [].__class__ }}",
    "{{ ().__class__.__bases__[0] }}",
    "{{ x }}{{ secret }}",
    "{% debug %}",
    "{{ foo( }}",
    "{% if %}",
]


@pytest.fixture
def contact_ids(app, team):
    with app.app_context():
        t = db.session.merge(team)
        org = factories.organization(t, "Analytical Engines Ltd")
        a = factories.contact(t, "Ada", "Lovelace", email="ada@example.org", organization_id=org.id).id
        b = factories.contact(t, "Charles", "Babbage", email=None).id
        return a, b


@pytest.fixture
def other_contact_id(app, other_team):
    with app.app_context():
        return factories.contact(db.session.merge(other_team), "Alan", SECRET, email="secret@example.org").id


def _context(**contact):
    fields = {"first_name": "Ada", "last_name": "Lovelace", "full_name": "Ada Lovelace", "email": "", "phone": ""}
    fields.update(contact)
    return {"contact": templating._Fields(fields), "organization": templating._Fields(name=""),
            "sender": templating._Fields(name="Me", email="me@example.org")}


# --- the SSTI corpus ----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", SSTI)
def test_ssti_payloads_are_refused_with_a_clear_error(app, payload):
    """The checker refuses every payload before anything runs, with a message for the user."""
    with app.test_request_context():
        result = templating.render_text("", payload, _context(secret=SECRET))
    assert not result.ok and result.body == ""
    messages = " ".join(result.errors["body"])
    assert "not allowed" in messages or "Unknown merge field" in messages or "Line 1" in messages
    assert SECRET not in messages and "os" not in messages.split()


@pytest.mark.parametrize("payload", SSTI)
def test_ssti_payloads_are_inert_in_the_sandbox_alone(app, payload):
    """Second fence: even without the checker, the sandboxed render leaks nothing and stops."""
    try:
        template = templating.TEXT_ENV.from_string(payload)
    except Exception as exc:  # noqa: BLE001 - a compile-time refusal is fine; it must be Jinja's own
        assert type(exc).__module__.startswith("jinja2")
        return
    try:
        out = templating._bounded(template, _context(), max_steps=50_000, max_seconds=5)
    except (SecurityError, UndefinedError, templating.RenderLimit, TypeError, ValueError, OverflowError):
        return
    assert SECRET not in out and "class" not in out and "globals" not in out and len(out) < 10_000
    assert "Flask" not in out and "SECRET_KEY" not in out


def test_nested_loops_are_stopped_by_the_step_budget():
    """Third fence: a loop that spins without output is cut off (no wall clock involved)."""
    env = templating.MergeEnvironment()
    spin = env.from_string("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}done")
    with pytest.raises(templating.RenderLimit, match="too many steps"):
        templating._bounded(spin, {"s": "x" * 100_000}, max_steps=20_000, max_seconds=60)
    assert templating._bounded(spin, {"s": "xy"}, max_steps=20_000) == "done"


def test_output_is_capped():
    env = templating.MergeEnvironment()
    big = env.from_string("{{ s }}{{ s }}{{ s }}")
    with pytest.raises(templating.RenderLimit, match="longer than"):
        templating._bounded(big, {"s": "x" * 40_000}, max_output=100_000)
    assert len(templating._bounded(big, {"s": "x" * 30_000})) == 90_000


def test_the_trace_function_is_restored():
    import sys

    before = sys.gettrace()
    templating._bounded(templating.TEXT_ENV.from_string("{{ contact.first_name }}"), _context())
    assert sys.gettrace() is before


def test_plain_text_is_not_escaped_but_html_is():
    context = _context(first_name="<b>Ada</b> & co")
    assert templating.render_text("", "Hi {{ contact.first_name }}", context).body == "Hi <b>Ada</b> & co"
    html = templating.render_text("", "<p>Hi {{ contact.first_name }}</p>", context, html=True).body
    assert html == "<p>Hi &lt;b&gt;Ada&lt;/b&gt; &amp; co</p>"


# --- merge fields ---------------------------------------------------------------------------------------


def test_merge_fields_render_for_each_contact_separately(app, member, contact_ids):
    a, b = contact_ids
    source = {"subject": "For {{ contact.full_name }}",
              "body": "Dear {{ contact.first_name }} {{ contact.last_name|upper }},\n"
                      "{% if organization.name %}at {{ organization.name }}, {% endif %}"
                      "mail: {{ contact.email|default('none', true) }}\n-- {{ sender.name }}"}
    with app.test_request_context():
        first = templating.render_for(member, source, a)
        second = templating.render_for(member, source, b)
        again = templating.render_for(member, source, a)
    assert first.ok and first.subject == "For Ada Lovelace"
    assert first.body == f"Dear Ada LOVELACE,\nat Analytical Engines Ltd, mail: ada@example.org\n-- {member.display_name}"
    assert second.body == f"Dear Charles BABBAGE,\nmail: none\n-- {member.display_name}"
    assert "Ada" not in second.body and "Lovelace" not in second.subject + second.body
    assert "Analytical" not in second.body and "ada@" not in second.body
    assert again.body == first.body
    assert second.missing == ["organization.name", "contact.email"] and first.missing == []


def test_a_template_cannot_address_another_contact(app, member, contact_ids, other_contact_id):
    a, _ = contact_ids
    attempts = [
        "{{ contact.id }}", f"{{{{ contacts[{other_contact_id}] }}}}", "{{ contact.organization.contacts }}",
        f"{{{{ contact[{other_contact_id}] }}}}", "{{ organization.contacts }}", "{{ sender.teams }}",
        "{{ contact.owner_team }}",
    ]
    with app.test_request_context():
        for body in attempts:
            result = templating.render_for(member, {"subject": "", "body": body}, a)
            assert not result.ok and SECRET not in result.body, body
        with pytest.raises(NotFound):  # and previewing against a contact one may not see is a 404
            templating.render_preview(member, other_contact_id, subject="", body="{{ contact.last_name }}")


def test_organization_a_user_may_not_see_is_blank(app, member, team, other_team):
    with app.app_context():
        hidden_org = factories.organization(db.session.merge(other_team), f"Hidden {SECRET}")
        cid = factories.contact(db.session.merge(team), "Ada", "B", organization_id=hidden_org.id).id
    with app.test_request_context():
        result = templating.render_for(member, {"subject": "", "body": "[{{ organization.name }}]"}, cid)
    assert result.body == "[]" and result.missing == ["organization.name"]


def test_unknown_fields_are_flagged_before_sending(app, member, contact_ids):
    a, _ = contact_ids
    with app.test_request_context():
        result = templating.render_for(member, {"subject": "Hi {{ contact.nickname }}",
                                                "body": "{{ contact.first_name }} {{ favourite.colour }}"}, a)
    assert not result.ok
    assert "{{ contact.nickname }}" in result.errors["subject"][0]
    assert "{{ favourite.colour }}" in result.errors["body"][0] and "contact.first_name" in result.errors["body"][0]
    found = templating.check("{{ contact.first_name }} {{ contact.nope }} {{ config }}")
    assert found.fields == ["contact.first_name"] and found.unknown == ["contact.nope", "config"]


def test_subject_line_breaks_from_merge_fields_are_refused(app):
    result = templating.render_text("Hi {{ contact.first_name }}", "x", _context(first_name="Ada\r\nBcc: x@y"))
    assert not result.ok and "line break" in result.errors["subject"][0]


# --- template use cases ------------------------------------------------------------------------------------


def _create(app, user, **data):
    values = {"name": "Welcome", "channel": "email", "subject": "Hello {{ contact.first_name }}",
              "body": "Dear {{ contact.full_name }}"}
    values.update(data)
    with app.test_request_context():
        tpl = templating.create_template(user, values)
        return tpl.id, tpl.version


def test_create_edit_delete_with_versions(app, member, manager, team):
    tid, version = _create(app, member)
    assert version == 1
    with app.test_request_context():
        tpl = templating.update_template(member, tid, {"body": "Hi {{ contact.first_name }}"}, expected_version=1)
        assert tpl.version == 2 and tpl.owner_team_id == team.id
        with pytest.raises(Conflict):
            templating.update_template(manager, tid, {"name": "Stale"}, expected_version=1)
        with pytest.raises(Conflict):
            templating.delete_template(manager, tid, expected_version=1)
        assert [t.name for t in templating.list_templates(manager)] == ["Welcome"]
        templating.delete_template(manager, tid, expected_version=2)
        assert db.session.get(MessageTemplate, tid) is None


@pytest.mark.parametrize(("data", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"channel": "pigeon"}, "channel"),
    ({"body": ""}, "body"),
    ({"body": "x" * 20_001}, "body"),
    ({"body": "{% for i in range(10) %}{% endfor %}"}, "body"),
    ({"body": "{{ config }}"}, "body"),
    ({"subject": "{{ ''.__class__ }}"}, "subject"),
    ({"subject": "x" * 301}, "subject"),
    ({"owner_team_id": "abc"}, "owner_team_id"),
    ({"colour": "red"}, "colour"),
    ({"body": 5}, "body"),
])
def test_bad_templates_are_422_naming_the_field(ctx, member, data, field):
    values = {"name": "T", "channel": "email", "subject": "", "body": "Hi"}
    values.update(data)
    with pytest.raises(ValidationError) as err:
        templating.create_template(member, values)
    assert field in err.value.errors


def test_duplicate_name_in_a_team_is_refused(app, member):
    _create(app, member)
    with pytest.raises(ValidationError) as err, app.test_request_context():
        templating.create_template(member, {"name": "Welcome", "channel": "sms", "body": "x"})
    assert "name" in err.value.errors


def test_template_permissions(app, member, viewer, outsider, team, other_team):
    tid, _ = _create(app, member)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            templating.create_template(viewer, {"name": "V", "channel": "email", "body": "x"})
        with pytest.raises(PermissionDenied):
            templating.update_template(viewer, tid, {"name": "V"}, expected_version=1)
        with pytest.raises(NotFound):
            templating.get_template(outsider, tid)
        with pytest.raises(PermissionDenied):  # a member cannot write into another team
            templating.create_template(member, {"name": "X", "channel": "email", "body": "x",
                                                "owner_team_id": str(other_team.id)})
        assert templating.list_templates(outsider) == []
        assert [t.id for t in templating.list_templates(viewer)] == [tid]


# --- pages --------------------------------------------------------------------------------------------


def test_templates_pages_create_edit_and_preview(app, member_client, member, team, contact_ids):
    a, b = contact_ids
    assert member_client.get("/communications/templates").status_code == 200
    form = member_client.get("/communications/templates/new").get_data(as_text=True)
    assert 'name="body"' in form and "contact.first_name" in form
    response = member_client.post("/communications/templates/new", data={
        "name": "Hello <script>", "channel": "email", "subject": "Hi {{ contact.first_name }}",
        "body": "Dear {{ contact.first_name }}", "owner_team_id": str(team.id),
        "preview_contact_id": str(a)})  # the preview's contact choice is part of the form, not the template
    assert response.status_code == 303
    with app.app_context():
        tpl = db.session.scalars(db.select(MessageTemplate)).one()
        tid = tpl.id
    listing = member_client.get("/communications/templates").get_data(as_text=True)
    assert "Hello &lt;script&gt;" in listing and "<script>" not in listing
    bad = member_client.post(f"/communications/templates/{tid}", data={
        "name": "Hello", "channel": "email", "subject": "", "body": "{{ config }}", "version": "1"}, headers=HX)
    assert bad.status_code == 422 and "Unknown merge field" in bad.get_data(as_text=True)
    ok = member_client.post(f"/communications/templates/{tid}", data={
        "name": "Hello", "channel": "email", "subject": "Hi", "body": "Bye {{ contact.last_name }}", "version": "1",
        "preview_contact_id": ""})
    assert ok.status_code == 303
    stale = member_client.post(f"/communications/templates/{tid}", data={
        "name": "Stale", "channel": "email", "subject": "", "body": "x", "version": "1"}, headers=HX)
    assert stale.status_code == 409
    preview = member_client.post("/communications/templates/preview", data={
        "subject": "Hi {{ contact.first_name }}", "body": "{{ contact.email }} {{ organization.name }} {{ contact.x }}",
        "preview_contact_id": str(b)}, headers=HX)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="preview-subject">Hi Charles<' in html
    assert "{{ contact.x }}" in html and 'class="flagged"' in html
    good = member_client.post("/communications/templates/preview", data={
        "subject": "", "body": "{{ contact.first_name }} <{{ contact.email }}>", "preview_contact_id": str(b)},
        headers=HX).get_data(as_text=True)
    assert "Charles &lt;&gt;" in good and "contact.email" in good  # flagged as empty for this contact
    assert member_client.post("/communications/templates/preview", data={"body": "x"}, headers=HX).status_code == 422
    deleted = member_client.post(f"/communications/templates/{tid}/delete", data={"version": "2"})
    assert deleted.status_code == 303
    with app.app_context():
        assert db.session.get(MessageTemplate, tid) is None


def test_preview_of_a_hidden_contact_is_404(member_client, other_contact_id):
    response = member_client.post("/communications/templates/preview", data={
        "body": "{{ contact.last_name }}", "preview_contact_id": str(other_contact_id)}, headers=HX)
    assert response.status_code == 404 and SECRET not in response.get_data(as_text=True)


# --- API ------------------------------------------------------------------------------------------------


def _token(app, user) -> dict:
    with app.test_request_context():
        _, raw = accounts.create_token(user, "test")
    return {"Authorization": f"Bearer {raw}"}


def test_api_templates_crud_preview_and_channels(app, client, member, contact_ids, other_contact_id):
    a, _ = contact_ids
    auth = _token(app, member)
    channels = client.get("/api/v1/communications/channels", headers=auth).get_json()["items"]
    assert {"email", "phone", "sms", "meeting", "letter"} <= {c["key"] for c in channels}
    created = client.post("/api/v1/communications/templates", json={
        "name": "API", "channel": "email", "subject": "Hi {{ contact.first_name }}", "body": "{{ sender.name }}"},
        headers=auth)
    assert created.status_code == 201
    tid = created.get_json()["id"]
    listed = client.get("/api/v1/communications/templates", headers=auth).get_json()
    assert [t["id"] for t in listed["items"]] == [tid] and "contact.first_name" in listed["fields"]
    preview = client.post(f"/api/v1/communications/templates/{tid}/preview", json={"contact_id": a}, headers=auth)
    assert preview.get_json()["subject"] == "Hi Ada" and preview.get_json()["ok"] is True
    hidden = client.post(f"/api/v1/communications/templates/{tid}/preview", json={"contact_id": other_contact_id},
                         headers=auth)
    assert hidden.status_code == 404 and SECRET not in hidden.get_data(as_text=True)
    ssti = client.post("/api/v1/communications/templates/preview",
                       json={"contact_id": a, "body": "{{ cycler.__init__.__globals__ }}"}, headers=auth)
    assert ssti.status_code == 200 and ssti.get_json()["ok"] is False and ssti.get_json()["body"] == ""
    patched = client.patch(f"/api/v1/communications/templates/{tid}", json={"name": "API 2", "version": 1},
                           headers=auth)
    assert patched.status_code == 200 and patched.get_json()["version"] == 2
    stale = client.patch(f"/api/v1/communications/templates/{tid}", json={"name": "API 3", "version": 1}, headers=auth)
    assert stale.status_code == 409
    missing_version = client.patch(f"/api/v1/communications/templates/{tid}", json={"name": "x"}, headers=auth)
    assert missing_version.status_code == 422 and "version" in missing_version.get_json()["errors"]
    bad = client.post("/api/v1/communications/templates", json={"name": "B", "channel": "email",
                                                                "body": "{% for x in y %}{% endfor %}"}, headers=auth)
    assert bad.status_code == 422 and "body" in bad.get_json()["errors"]
    assert client.post("/api/v1/communications/templates/preview", json={"contact_id": "x"},
                       headers=auth).status_code == 422
    assert client.get("/api/v1/communications/templates/99999999999", headers=auth).status_code == 404
    assert client.delete(f"/api/v1/communications/templates/{tid}?version=2", headers=auth).status_code == 204
    assert client.get("/api/v1/communications/templates").status_code == 401
