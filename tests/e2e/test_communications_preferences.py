"""Consent, channel and quiet hours in the Preferences panel, templates and the global communications page in a real browser (CSRF on)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.extensions import db
from plugins.communications.models_prefs import ConsentChange, MessageTemplate


def test_consent_and_preferences_panel(logged_in, live_server, live_app, make_contact, shot, settled):
    page = logged_in
    contact_id = make_contact("Grace", "Hopper", email="grace@example.org")
    page.goto(f"{live_server}/contacts/{contact_id}")
    panel = page.locator("#panel-communications-consent")
    expect(panel.locator("#consent-email")).to_contain_text("unknown")

    panel.get_by_label("Channel", exact=True).select_option("email")
    panel.get_by_label("Consent", exact=True).select_option("opted_out")
    panel.get_by_role("button", name="Record consent").click()
    expect(panel.get_by_text("This field is required.")).to_be_visible()  # the source is required
    panel.get_by_label("Source").fill("Unsubscribe link")
    panel.get_by_role("button", name="Record consent").click()
    expect(panel.locator("#consent-email")).to_contain_text("opted out")
    expect(panel.locator("#consent-history")).to_contain_text("unknown → opted out")
    expect(panel.locator("#consent-history")).to_contain_text("Mia Member")

    # Channel and quiet hours are fields of the one Preferences panel (its edit form opens in the modal).
    expect(page.locator("#panel-communications-consent").get_by_label("Quiet from")).to_have_count(0)
    page.locator("#panel-preferences").get_by_role("link", name="Edit preferences").click()
    form = page.locator("#preferences-form")
    form.get_by_label("Quiet hours from").fill("21:00")
    form.get_by_label("Time zone").fill("Europe/Paris")
    form.get_by_role("button", name="Save preferences").click()
    expect(page.locator("#preferences-form").get_by_text("Give both the start and the end")).to_be_visible()
    page.locator("#preferences-form").get_by_label("Quiet hours until").fill("08:00")
    page.locator("#preferences-form").get_by_role("button", name="Save preferences").click()
    expect(page.locator("#preferences-form")).to_have_count(0)
    expect(page.locator("#preferences-panel")).to_contain_text("21:00")
    expect(page.locator("#preferences-panel")).to_contain_text("Europe/Paris")
    shot(page, "preferences")
    with live_app.app_context():
        assert db.session.scalars(db.select(ConsentChange.status)).all() == ["opted_out"]

    # The timeline's filters: log a call, then narrow to meetings and back to calls.
    timeline = page.locator("#panel-communications")
    page.wait_for_load_state("networkidle")  # the panels reload after the preferences change
    timeline.get_by_label("Subject").fill("Intro call")
    settled(lambda: timeline.get_by_role("button", name="Log").click())
    expect(timeline.locator(".entry .subject")).to_have_text(["Intro call"])
    settled(lambda: timeline.locator("#communications-filters").get_by_label("Channel").select_option("meeting"))
    expect(timeline.get_by_text("Nothing matches these filters.")).to_be_visible()
    settled(lambda: timeline.locator("#communications-filters").get_by_label("Channel").select_option("call"))
    expect(timeline.locator(".entry .subject")).to_have_text(["Intro call"])


def test_template_with_preview_and_the_global_page(logged_in, live_server, live_app, make_contact, shot):
    page = logged_in
    make_contact("Charles", "Babbage")
    page.goto(f"{live_server}/communications/")
    expect(page.get_by_role("link", name="Communications")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Message templates").click()
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("Welcome")
    page.get_by_label("Subject").fill("Hello {{ contact.first_name }}")
    page.get_by_label("Body").fill("Dear {{ contact.first_name }}, write to {{ contact.email }}. {{ config }}")
    page.get_by_label("Contact", exact=True).select_option(label="Charles Babbage")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("Unknown merge field(s): {{ config }}")
    expect(page.locator("#preview-subject")).to_have_text("Hello Charles")
    page.get_by_role("button", name="Create template").click()
    expect(page.locator("#body-error")).to_contain_text("Unknown merge field(s): {{ config }}")  # refused inline
    expect(page.get_by_label("Contact", exact=True)).to_have_value(re.compile(r"\d+"))  # the choice is kept

    page.get_by_label("Body").fill("Dear {{ contact.first_name }}, write to {{ contact.email }}.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-body")).to_have_text("Dear Charles, write to .")
    expect(preview.locator(".flagged")).to_have_text("contact.email")  # empty for this contact
    shot(page, "template-preview")
    page.get_by_role("button", name="Create template").click()
    expect(page).to_have_url(re.compile(r"/communications/templates/\d+$"))
    expect(page.get_by_role("heading", name="Template “Welcome”")).to_be_visible()
    with live_app.app_context():
        assert db.session.scalars(db.select(MessageTemplate.name)).all() == ["Welcome"]

    page.goto(f"{live_server}/communications/")
    page.get_by_label("Channel").select_option("email")
    expect(page).to_have_url(re.compile(r"type=email"))
    expect(page.get_by_text("Nothing matches these filters.")).to_be_visible()
