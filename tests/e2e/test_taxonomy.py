"""Tags in a real browser: tag a contact through the autocomplete (an existing tag and a new
one), see the chips, then filter the contacts list by the tag."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.extensions import db
from core.models import User
from core.services import tags


def test_tag_a_contact_with_autocomplete_then_filter_by_the_tag(logged_in, live_app, live_server, make_contact,
                                                                  seeded, settled, shot):
    page = logged_in
    ada = make_contact("Ada", "Lovelace")
    make_contact("Alan", "Turing")
    with live_app.test_request_context():
        member = db.session.scalar(db.select(User).where(User.email == seeded["email"]))
        tags.create_tag(member, {"name": "Vintage", "color": "purple"})
        db.session.remove()

    page.goto(f"{live_server}/contacts/{ada}")
    settled(lambda: page.get_by_role("link", name="Edit", exact=True).click())
    entry = page.locator("#tags-entry")
    expect(entry).to_be_visible()
    settled(lambda: entry.press_sequentially("vin"))
    suggestion = page.locator("#tag-options [data-add-tag='Vintage']")
    expect(suggestion).to_be_visible()
    expect(page.locator("#tag-options")).to_contain_text("Create tag “vin”")
    shot(page, "autocomplete")
    suggestion.click()
    chips = page.locator("[data-tag-chips] [data-tag-name]")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("Vintage")
    expect(entry).to_have_value("")
    entry.press_sequentially("Golf club")
    entry.press("Enter")  # a new name: created on save; Enter must not submit the form
    expect(chips).to_have_count(2)
    expect(page.locator("input[name='tags']")).to_have_value("Vintage, Golf club")
    page.get_by_role("button", name="Save changes").click()
    details = page.locator("#contact-details")
    expect(details.locator("a.chip", has_text="Vintage")).to_be_visible()
    expect(details.locator("a.chip", has_text="Golf club")).to_be_visible()
    shot(page, "contact-tagged")

    page.goto(live_server + "/")
    rows = page.locator("#rows tr[id^='contact-']")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Ada Lovelace").locator("a.chip", has_text="Vintage")).to_be_visible()
    with page.expect_response(lambda r: "tag=" in r.url):
        page.get_by_label("Tag", exact=True).select_option(label="Vintage")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ada Lovelace")
    expect(page).to_have_url(re.compile(r"[?&]tag=\d+"))
    shot(page, "filtered")


def test_a_contact_added_from_the_search_then_removed_can_be_added_again(logged_in, live_app, live_server,
                                                                        make_contact, seeded, settled):
    from core.services import groups

    page = logged_in
    make_contact("Ada", "Lovelace")
    with live_app.test_request_context():
        member = db.session.scalar(db.select(User).where(User.email == seeded["email"]))
        gid = groups.create_group(member, {"name": "Board"}).id
        db.session.remove()

    page.goto(f"{live_server}/groups/{gid}")
    results = page.locator("#search-results")
    with page.expect_response(lambda r: "/search" in r.url):
        page.get_by_label("Add contacts").fill("ada")
    settled(lambda: results.get_by_role("button", name="Add").click())
    expect(results).to_contain_text("Added")
    member_row = page.locator("#members li", has_text="Ada Lovelace")
    expect(member_row).to_be_visible()
    with page.expect_response(lambda r: "/search" in r.url):  # the removal makes the results re-read
        member_row.get_by_role("button", name="Remove Ada Lovelace from the group").click()
    expect(member_row).to_have_count(0)
    expect(results).not_to_contain_text("Added")
    settled(lambda: results.get_by_role("button", name="Add").click())  # added again
    expect(page.locator("#members li", has_text="Ada Lovelace")).to_be_visible()
