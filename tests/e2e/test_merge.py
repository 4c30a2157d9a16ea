"""Merge two contacts in a real browser, choosing fields side by side, then undo it from the
toast: both contacts are back as they were. And the duplicate review queue: "not a duplicate"
is remembered, "later" only skips."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.extensions import db
from core.models import Contact, Job, Merge
from core.services import duplicate_scan
from tests import factories


def _fields(live_app, contact_id: int) -> dict:
    with live_app.app_context():
        c = db.session.get(Contact, contact_id)
        return {"first": c.first_name, "last": c.last_name, "email": c.email, "phone": c.phone,
                "deleted": c.deleted_at is not None, "merged_into": c.merged_into_id}


def test_merge_choosing_fields_then_undo_from_the_toast(logged_in, live_server, live_app, make_contact, shot):
    page = logged_in
    target = make_contact("Grace", "Hopper", phone="+442079460001")
    source = make_contact("Grace", "Hoppper", email="grace@navy.example", phone="+442079460002")
    before = {target: _fields(live_app, target), source: _fields(live_app, source)}

    page.goto(f"{live_server}/contacts/{target}")
    merges_panel = page.locator("#panel-merges")
    expect(merges_panel.get_by_text("No merges.")).to_be_visible()
    merges_panel.get_by_role("link", name="Merge a duplicate into this contact…").click()
    dialog = page.locator("dialog#modal")
    dialog.get_by_label("Contact number").fill(str(source))
    dialog.get_by_role("button", name="Compare").click()
    expect(dialog.get_by_role("heading", name="Merge Grace Hoppper into Grace Hopper")).to_be_visible()
    # Email: the target has none, so the source's is chosen already; take the source's phone too.
    expect(dialog.locator("input[name=pick_email][value=source]")).to_be_checked()
    expect(dialog.locator("input[name=pick_phone][value=target]")).to_be_checked()
    dialog.locator("input[name=pick_phone][value=source]").check()
    shot(page, "compare")
    dialog.get_by_role("button", name="Merge", exact=True).click()

    page.wait_for_url(f"{live_server}/contacts/{target}")
    toast = page.locator("#toasts .toast").filter(has_text="Grace Hoppper was merged into Grace Hopper")
    expect(toast).to_be_visible()
    details = page.locator("#contact-details")
    expect(details.get_by_text("grace@navy.example")).to_be_visible()
    merged = _fields(live_app, target)
    assert (merged["last"], merged["email"], merged["phone"]) == ("Hopper", "grace@navy.example", "+442079460002")
    assert _fields(live_app, source)["merged_into"] == target
    shot(page, "merged")

    toast.hover()  # keeps the toast open
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator("#toasts .toast").filter(has_text="The merge was undone")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/contacts/{target}$"))
    expect(details.get_by_text("grace@navy.example")).to_have_count(0)
    assert {target: _fields(live_app, target), source: _fields(live_app, source)} == before
    with live_app.app_context():
        assert db.session.scalar(db.select(Merge.undone_at)) is not None
    page.goto(f"{live_server}/contacts/{source}")
    expect(page.get_by_role("heading", name="Grace Hoppper", level=1)).to_be_visible()
    expect(page.locator("#panel-merges").get_by_text("Undone")).to_be_visible()
    shot(page, "undone")


def test_review_queue_dismiss_and_later(logged_in, live_server, live_app, make_contact, shot):
    page = logged_in
    for first, last, phone in (("Ann", "Archer", "1"), ("Bea", "Brown", "1"), ("Cy", "Cole", "9"), ("Di", "Dean", "9")):
        make_contact(first, last, phone=f"+44207946000{phone}")
    with live_app.test_request_context():  # an admin runs the scan (huey runs it at once here)
        job = duplicate_scan.start(factories.user("admin", [], email="admin@example.org"))
        assert db.session.get(Job, job.id, populate_existing=True).status == "done"
    page.goto(f"{live_server}/duplicates/")
    rows = page.locator("#duplicates tbody tr[id^='pair-']")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("button", name="Find duplicates")).to_have_count(0)  # members do not start scans
    shot(page, "queue")
    first = rows.filter(has_text="Ann Archer")
    first.get_by_role("button", name="Not a duplicate").click()
    expect(page.locator("#toasts .toast").filter(has_text="will not be suggested again")).to_be_visible()
    expect(rows).to_have_count(1)
    rows.filter(has_text="Cy Cole").get_by_role("button", name="Later").click()
    expect(rows).to_have_count(0)
    page.reload()
    expect(rows).to_have_count(1)  # "later" only skipped it; "not a duplicate" is remembered
    expect(rows.filter(has_text="Cy Cole")).to_have_count(1)
    rows.get_by_role("link", name="Merge…").click()
    expect(page.get_by_role("heading", name="Merge Di Dean into Cy Cole")).to_be_visible()
