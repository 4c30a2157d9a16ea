"""Custom fields in a real browser: an admin defines a choice field, a member fills it in the
new-contact modal, sees it on the contact page and filters the contacts list by it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.extensions import db
from core.models import Team
from tests import factories


def _log_in(page, live_server, email, password):
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server + "/")


def test_admin_defines_member_fills_sees_and_filters(page, live_server, live_app, seeded, make_contact, shot):
    page.set_default_timeout(10_000)
    with live_app.app_context():
        team = db.session.get(Team, seeded["team_id"])
        factories.user("admin", [team], email="admin@example.org", name="Ann Admin")
    make_contact("Alan", "Turing")

    # The admin adds a single-choice field.
    _log_in(page, live_server, "admin@example.org", seeded["password"])
    page.goto(live_server + "/admin/custom-fields")
    expect(page.get_by_text("No custom fields yet.")).to_be_visible()
    form = page.locator("#add-custom-field")
    form.get_by_label("Label").fill("Tier")
    form.get_by_label("Key").fill("tier")
    form.get_by_label("Kind").select_option(label="Single choice")
    form.get_by_label("Choices").fill("gold\nsilver")
    form.get_by_role("button", name="Add field").click()
    row = page.locator("#custom-field-tier")
    expect(row).to_contain_text("Tier")
    expect(row).to_contain_text("gold, silver")
    shot(page, "defined")
    page.get_by_role("button", name="Log out").click()

    # A member fills it in when creating a contact.
    _log_in(page, live_server, seeded["email"], seeded["password"])
    page.get_by_role("link", name="New contact").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("group", name="More details")).to_be_visible()
    dialog.get_by_label("First name").fill("Grace")
    dialog.get_by_label("Last name").fill("Hopper")
    dialog.get_by_label("Tier").select_option("gold")
    shot(page, "form")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/contacts/new")) as created:
        dialog.get_by_role("button", name="Create contact").click()
    assert created.value.status == 200
    expect(dialog).to_be_hidden()
    rows = page.locator("#rows tr[id^='contact-']")
    expect(rows).to_have_count(2)

    # The contact page shows the value.
    rows.filter(has_text="Grace Hopper").get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", name="Grace Hopper", level=1)).to_be_visible()
    details = page.locator("dl.details").first
    expect(details).to_contain_text("Tier")
    expect(details.locator("dd.custom-value")).to_have_text("gold")
    expect(page.locator("#status-history")).to_contain_text("created as")  # the status history panel
    shot(page, "contact-page")

    # The list filters by it, in the URL.
    page.get_by_role("link", name="← Contacts").click()
    expect(rows).to_have_count(2)
    with page.expect_response(lambda r: "cf_tier=gold" in r.url):
        page.get_by_label("Tier").select_option("gold")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Grace Hopper")
    expect(page).to_have_url(re.compile(r"[?&]cf_tier=gold(&|$)"))
    with page.expect_response(lambda r: "cf_tier=silver" in r.url):
        page.get_by_label("Tier").select_option("silver")
    expect(rows).to_have_count(0)
    shot(page, "filtered")
