"""The compose form's "Use template" picker: it fills subject and message from a template merged
for the contact, and flags unknown merge fields and fields that are empty for this contact."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.models import Contact
from plugins.communications import templating
from plugins.communications.models import Communication
from plugins.communications.models_prefs import MessageTemplate
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def contact_id(app, team):
    with app.app_context():
        return factories.contact(db.session.merge(team), "Grace", "Hopper", email="grace@example.org").id


def _template(app, team, member, **values) -> int:
    data = {"name": "Welcome", "channel": "email", "subject": "Hello {{ contact.first_name }}",
            "body": "Dear {{ contact.full_name }},\nregards, {{ sender.name }}", **values}
    with app.test_request_context():
        actor = db.session.get(type(member), member.id)
        return templating.create_template(actor, {**data, "owner_team_id": team.id}).id


def _raw_template(app, team, **values) -> int:
    """A template saved before a merge field went away: the service would refuse it today."""
    with app.app_context():
        tpl = MessageTemplate(owner_team_id=team.id, **values)
        db.session.add(tpl)
        db.session.commit()
        return tpl.id


def _use(client, contact_id, template_id):
    return client.get(f"/communications/contacts/{contact_id}/compose/template",
                      query_string={"template_id": template_id}, headers=HX)


def test_the_form_offers_the_email_templates_of_the_users_teams(app, team, other_team, member, member_client,
                                                                 contact_id):
    mine = _template(app, team, member)
    _template(app, team, member, name="SMS hello", channel="sms", subject="")
    theirs = _raw_template(app, other_team, name="Not yours", channel="email", subject="x", body="y")
    html = member_client.get(f"/communications/contacts/{contact_id}/compose", headers=HX).get_data(as_text=True)
    assert 'name="template_id"' in html and "Use template" in html
    assert f'<option value="{mine}"' in html and ">Welcome<" in html
    assert "SMS hello" not in html and f'value="{theirs}"' not in html and "Not yours" not in html
    assert f'hx-get="/communications/contacts/{contact_id}/compose/template"' in html
    assert 'hx-target="#communications-compose-fields"' in html and 'id="communications-compose-fields"' in html


def test_the_time_zones_come_when_the_field_is_first_used(member_client, contact_id):
    """The panel shipped every time zone twice (a <select> and a <datalist>, ~39 KB of the contact
    page); it now has a text field with suggestions fetched once, when the field is first focused,
    kept by the browser a day. The zone is still checked when the email is scheduled."""
    html = member_client.get(f"/communications/contacts/{contact_id}/compose", headers=HX).get_data(as_text=True)
    assert "Pacific/Auckland" not in html and '<select name="timezone"' not in html
    assert 'name="timezone" value="UTC" list="communications-timezones"' in html
    assert 'hx-get="/communications/timezones" hx-trigger="focus once"' in html
    assert len(html.encode()) < 8_000
    zones = member_client.get("/communications/timezones", headers=HX)
    body = zones.get_data(as_text=True)
    assert '<option value="Europe/Paris">' in body and '<option value="UTC">' in body and "<select" not in body
    assert zones.headers["Cache-Control"] == "private, max-age=86400"
    bad = member_client.post(f"/communications/contacts/{contact_id}/compose", headers=HX, data={
        "to": "grace@example.org", "subject": "Hi", "content": "x", "when": "2030-01-01T09:00",
        "timezone": "Mars/Olympus", "action": "schedule"})
    assert bad.status_code == 422 and "Not a known time zone" in bad.get_data(as_text=True)
    assert 'value="Mars/Olympus"' in bad.get_data(as_text=True)  # what was typed stays, to correct it


def test_no_templates_no_picker(member_client, contact_id):
    html = member_client.get(f"/communications/contacts/{contact_id}/compose", headers=HX).get_data(as_text=True)
    assert 'name="template_id"' not in html and 'id="communications-compose-fields"' in html


def test_picking_a_template_fills_subject_and_message_for_this_contact(app, team, member, member_client, contact_id):
    tid = _template(app, team, member)
    response = _use(member_client, contact_id, tid)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="communications-compose-fields">')  # only the fields: no layout
    assert 'name="subject"' in html and 'value="Hello Grace"' in html
    assert "Dear Grace Hopper,\nregards, " in html and "{{" not in html.split("<textarea")[1]
    assert 'id="communications-template-note"' in html
    assert 'id="communications-template-errors"' not in html and 'id="communications-template-missing"' not in html


def test_empty_fields_are_flagged_before_sending(app, team, member, member_client, contact_id):
    tid = _template(app, team, member, name="Call me", body="Call {{ contact.phone }} please")
    html = _use(member_client, contact_id, tid).get_data(as_text=True)
    assert 'id="communications-template-missing"' in html and "{{ contact.phone }}" in html
    assert "Call  please" in html  # filled, with the blank shown to the user


def test_unknown_fields_are_flagged_and_nothing_is_filled(app, team, member_client, contact_id):
    tid = _raw_template(app, team, name="Old", channel="email", subject="Hi {{ contact.nickname }}",
                        body="Your balance: {{ account.balance }}")
    response = _use(member_client, contact_id, tid)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="communications-template-errors"' in html
    assert "contact.nickname" in html and "account.balance" in html
    assert 'name="subject" maxlength="300" required value=""' in html and "Your balance" not in html


def test_a_merge_field_never_reaches_another_contacts_data(app, team, other_team, member, member_client, contact_id):
    with app.app_context():
        factories.contact(db.session.merge(other_team), "Secret", "Person", email="secret@example.org")
    tid = _template(app, team, member, body="{{ contact.email }}")
    html = _use(member_client, contact_id, tid).get_data(as_text=True)
    assert "grace@example.org" in html and "secret@example.org" not in html


def test_bad_choices_are_refused_naming_the_field(app, team, other_team, member_client, outsider_client,
                                                 contact_id):
    theirs = _raw_template(app, other_team, name="Theirs", channel="email", subject="x", body="y")
    for value, status in (("abc", 422), ("-1", 422), ("99999999999", 422), (str(theirs), 404), ("999999", 404)):
        response = _use(member_client, contact_id, value)
        assert response.status_code == status, value
        assert "field-error" in response.get_data(as_text=True), value
    # The contact decides too: a contact of another team is not found.
    assert _use(outsider_client, contact_id, "").status_code == 404
    # "No template" gives empty fields to write by hand.
    html = _use(member_client, contact_id, "").get_data(as_text=True)
    assert 'value=""' in html and "field-error" not in html


def test_sending_after_picking_ignores_the_picker_field(app, team, member, member_client, contact_id, outbox_dir):
    tid = _template(app, team, member)
    response = member_client.post(f"/communications/contacts/{contact_id}/compose", headers=HX, data={
        "template_id": str(tid), "subject": "Hello Grace", "content": "Dear Grace Hopper", "timezone": "UTC",
        "action": "now"})
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        comm = db.session.scalars(db.select(Communication)).one()
        assert (comm.subject, comm.status) == ("Hello Grace", "sent")
    # A refused send keeps the picked template selected.
    response = member_client.post(f"/communications/contacts/{contact_id}/compose", headers=HX, data={
        "template_id": str(tid), "subject": "", "content": "x", "timezone": "UTC", "action": "now"})
    assert response.status_code == 422
    assert f'<option value="{tid}" selected>' in response.get_data(as_text=True)


@pytest.fixture
def outbox_dir(app):
    from pathlib import Path

    folder = Path(app.config["INSTANCE_PATH"]) / "outbox"
    for f in folder.glob("*"):
        f.unlink()
    return folder


def test_a_contact_without_an_email_address_is_told_how_to_add_one(app, team, member, member_client):
    """No blank "To" and no Send that cannot work: the panel says the contact has no address and
    links to the contact's edit form; it asks for itself again once the contact changes."""
    with app.app_context():
        bare = factories.contact(db.session.merge(team), "Charles", "Babbage", email=None).id
    html = member_client.get(f"/communications/contacts/{bare}/compose", headers=HX).get_data(as_text=True)
    assert 'id="communications-no-address"' in html and "Charles Babbage has no email address" in html
    assert f'hx-get="/contacts/{bare}/edit"' in html and 'hx-trigger="contactsChanged from:body"' in html
    assert 'name="to"' not in html and 'value="now"' not in html and 'value="schedule"' not in html
    with app.app_context():
        db.session.get(Contact, bare).email = "charles@example.org"
        db.session.commit()
    html = member_client.get(f"/communications/contacts/{bare}/compose", headers=HX).get_data(as_text=True)
    assert 'communications-no-address' not in html and 'name="to"' in html and 'value="now"' in html
