"""Relationships in a real browser: add one from a contact's page in the modal (type chosen from
this contact's side, the other contact found by searching as you type) and see it, with the inverse
label, on the other contact's page. CSRF is on in this app."""

from __future__ import annotations

from playwright.sync_api import expect


def test_add_a_relationship_and_see_it_from_the_other_contact(logged_in, live_server, make_contact, shot):
    page = logged_in
    ada = make_contact("Ada", "Lovelace")
    bob = make_contact("Bob", "Babbage")
    make_contact("Adam", "Zebra")

    page.goto(f"{live_server}/contacts/{bob}")
    panel = page.locator("#panel-relationships")
    expect(panel.get_by_text("No relationships yet.")).to_be_visible()
    panel.get_by_role("link", name="Add relationship").click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="New relationship for Bob Babbage")).to_be_visible()

    dialog.get_by_label("Bob Babbage is…").select_option(label="reports to")
    dialog.locator("#other_contact_id_q").press_sequentially("lovel")
    expect(dialog.locator("#other_contact_id option:checked")).to_have_text("Ada Lovelace")
    expect(dialog.locator("#other_contact_id")).not_to_contain_text("Adam Zebra")
    dialog.get_by_label("From").fill("2024-01-15")
    shot(page, "form")
    dialog.get_by_role("button", name="Add relationship").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_contain_text("Bob Babbage reports to Ada Lovelace")
    expect(panel.locator("li", has_text="Ada Lovelace")).to_contain_text("Reports to")
    expect(page.locator("#panel-reporting")).to_be_visible()

    page.goto(f"{live_server}/contacts/{ada}")
    other_side = page.locator("#panel-relationships li", has_text="Bob Babbage")
    expect(other_side).to_contain_text("Manager of")
    expect(other_side).to_contain_text("2024-01-15")
    shot(page, "other-side")
