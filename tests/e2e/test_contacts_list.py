"""The contacts list in a real browser: filters and sort swap only the rows and live in the URL;
"load more" pages through with keyset cursors when the last row scrolls into view."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.extensions import db
from core.models import Contact, Team
from core.services.contacts import sort_name


def _names(page) -> list[str]:
    return page.locator("#rows tr[id^='contact-'] td[data-label='Name']").all_inner_texts()


def test_filter_by_status_and_sort(logged_in, live_server, make_contact, shot):
    page = logged_in
    make_contact("Ada", "Lovelace", status="active")
    make_contact("Alan", "Turing", status="lead")
    make_contact("Grace", "Hopper", status="lead")
    page.reload()
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(3)
    assert _names(page) == ["Grace Hopper", "Ada Lovelace", "Alan Turing"]  # by last name
    page.evaluate("window.__noReload = true")

    with page.expect_response(lambda r: "status=lead" in r.url):
        page.get_by_label("Status", exact=True).select_option(label="Lead")
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(2)
    assert _names(page) == ["Grace Hopper", "Alan Turing"]
    expect(page).to_have_url(re.compile(r"[?&]status=lead(&|$)"))

    with page.expect_response(lambda r: "sort=-name" in r.url):
        page.get_by_label("Sort").select_option(label="Last name Z–A")
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(page.locator("#rows tr[id^='contact-']").first).to_contain_text("Alan Turing")
    assert _names(page) == ["Alan Turing", "Grace Hopper"]
    expect(page).to_have_url(re.compile(r"status=lead"))  # the filter is kept with the sort
    assert page.evaluate("window.__noReload") is True
    shot(page, "filtered-sorted")

    # Back restores the previous list (htmx history) and its toolbar, a reload rebuilds it from the URL.
    # The default sort is not in the URL.
    page.go_back()
    expect(page).to_have_url(live_server + "/?status=lead")
    expect(page.locator("#rows tr[id^='contact-']").first).to_contain_text("Grace Hopper")
    assert _names(page) == ["Grace Hopper", "Alan Turing"]
    expect(page.get_by_label("Status", exact=True)).to_have_value("lead")
    expect(page.get_by_label("Sort")).to_have_value("name")
    page.reload()
    assert _names(page) == ["Grace Hopper", "Alan Turing"]
    expect(page.get_by_label("Status", exact=True)).to_have_value("lead")

    page.get_by_role("link", name="Clear").click()
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(3)
    expect(page.get_by_label("Status", exact=True)).to_have_value("")


def test_load_more_on_scroll(logged_in, live_app, seeded, shot):
    page = logged_in
    with live_app.app_context():
        team = db.session.get(Team, seeded["team_id"])
        for n in range(55):
            first, last = "Pat", f"Person{n:02d}"
            db.session.add(
                Contact(
                    first_name=first,
                    last_name=last,
                    sort_name=sort_name(first, last),
                    phone="",
                    type="person",
                    status="active",
                    owner_team_id=team.id,
                )
            )
        db.session.commit()
    page.reload()
    rows = page.locator("#rows tr[id^='contact-']")
    expect(rows).to_have_count(50)
    more = page.locator("#rows tr.more")
    expect(more).to_have_count(1)
    with page.expect_response(lambda r: "cursor=" in r.url) as resp:
        more.scroll_into_view_if_needed()
    assert resp.value.status == 200
    expect(rows).to_have_count(55)
    expect(more).to_have_count(0)  # the last page has no "load more"
    names = _names(page)
    assert names == [f"Pat Person{n:02d}" for n in range(55)]  # no duplicates, no gaps, in order
    shot(page, "loaded-more")


def test_rows_loaded_after_select_all_matching_come_checked(logged_in, live_app, seeded):
    """'Select all N matching' checks every row shown; the rows that "load more" brought in after
    it came unchecked beside "All N matching selected", as if they were left out (they were not)."""
    page = logged_in
    with live_app.app_context():
        team = db.session.get(Team, seeded["team_id"])
        for n in range(55):
            db.session.add(Contact(first_name="Sel", last_name=f"All{n:02d}", sort_name=sort_name("Sel", f"All{n:02d}"),
                                   phone="", type="person", status="active", owner_team_id=team.id))
        db.session.commit()
    page.goto(page.url.split("?")[0] + "?q=Sel")
    boxes = page.locator("input[name='ids'][form='bulk-form']")
    expect(boxes).to_have_count(50)
    page.locator("#select-all-matching").click()
    expect(page.locator("#bulk-selected")).to_have_text(re.compile("All 55 matching selected"))
    with page.expect_response(lambda r: "cursor=" in r.url):
        page.locator("#rows tr.more").scroll_into_view_if_needed()
    expect(boxes).to_have_count(55)
    expect(page.locator("input[name='ids'][form='bulk-form']:not(:checked)")).to_have_count(0)
    expect(page.locator("#bulk-selected")).to_have_text(re.compile("All 55 matching selected"))
