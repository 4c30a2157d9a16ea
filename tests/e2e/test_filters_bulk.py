"""The filter builder and bulk actions in a real browser: a two-condition filter changes the rows
and the URL (and Back restores them); "select all N matching" and a status change run as a job
whose progress bar reaches the end, and the rows refresh."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.services import bulk


def _names(page) -> list[str]:
    return page.locator("#rows tr[id^='contact-'] td[data-label='Name']").all_inner_texts()


def test_two_condition_filter_changes_the_url_and_rows(logged_in, live_server, make_contact, settled, shot):
    page = logged_in
    make_contact("Ada", "Lovelace", status="active", email="ada@acme.example")
    make_contact("Grace", "Hopper", status="lead", email="grace@acme.example")
    make_contact("Alan", "Turing", status="lead", email="alan@bletchley.example")
    page.reload()
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(3)
    expect(page.locator("#list-count")).to_contain_text("3 matching")

    builder = page.locator("#filter-builder")
    settled(lambda: builder.get_by_role("button", name="+ Add a condition").click())
    assert page.url == f"{live_server}/"  # redrawing the builder does not change the address
    settled(lambda: builder.locator("select[name='r0_field']").select_option(label="Status"))
    builder.locator("select[name='r0_value']").select_option(label="Lead")
    settled(lambda: builder.get_by_role("button", name="+ And").click())
    settled(lambda: builder.locator("select[name='r1_field']").select_option(label="Email"))
    # Changing the operator redraws the builder: wait for it before typing the value.
    settled(lambda: builder.locator("select[name='r1_op']").select_option(label="has words starting with"))
    builder.locator("input[name='r1_value']").fill("acme")
    settled(lambda: builder.get_by_role("button", name="Apply filter").click())

    expect(page).to_have_url(re.compile(r"/\?f=status\.is\.lead&f=email\.words\.acme$"))
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(1)
    assert _names(page) == ["Grace Hopper"]
    expect(page.locator("#list-count")).to_contain_text("1 matching")
    shot(page, "filtered")

    # Back: the whole list again; Forward: the filter again; a reload rebuilds the builder from the URL.
    page.go_back()
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(3)
    page.go_forward()
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(1)
    page.reload()
    assert _names(page) == ["Grace Hopper"]
    expect(page.locator("#filter-builder input[name='r1_value']")).to_have_value("acme")

    # A bad value is refused beside its field, once (not again below the builder or above the rows),
    # not with an error page.
    settled(lambda: page.locator("#filter-builder select[name='r1_op']").select_option(label="starts with"))
    page.locator("#filter-builder input[name='r1_value']").fill("")
    settled(lambda: page.locator("#filter-builder").get_by_role("button", name="Apply filter").click())
    row = page.locator("#filter-builder .filter-row[data-row='1']")
    expect(row.locator(".field-error")).to_contain_text("give a value")
    expect(page.get_by_text(re.compile("give a value", re.I))).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.locator("#rows")).to_contain_text("Fix the filter above")
    shot(page, "bad-filter")


@pytest.fixture
def small_batches(monkeypatch):
    """The live server runs in this process: make 7 contacts "a large set" run in batches of 2."""
    monkeypatch.setattr(bulk, "SYNC_LIMIT", 5)
    monkeypatch.setattr(bulk, "BATCH", 2)


def test_select_all_matching_and_change_status_with_a_progress_bar(logged_in, make_contact, settled, small_batches, shot):
    page = logged_in
    for i in range(7):
        make_contact("Lead", f"Number{i}", status="lead")
    make_contact("Ada", "Lovelace", status="active")
    page.goto(page.url.split("?")[0] + "?f=status.is.lead")
    expect(page.locator("#rows tr[id^='contact-']")).to_have_count(7)
    expect(page.locator("#list-count")).to_contain_text("7 matching")

    page.get_by_role("button", name="Select all 7 matching").click()
    expect(page.locator("#bulk-selected")).to_have_text("All 7 matching selected")
    settled(lambda: page.locator("#bulk-action").select_option(label="Change status"))
    page.locator("#bulk-fields select").select_option(label="Inactive")
    page.get_by_role("button", name="Apply", exact=True).click()

    job = page.locator("#bulk-result .job")
    expect(job.locator(".job-status")).to_have_text("Done")
    expect(job.locator("progress")).to_have_attribute("value", "100")
    expect(job).to_contain_text("7 of 7")
    expect(job.locator("dl.details")).to_contain_text("Changed")
    shot(page, "bulk-done")
    # The rows refresh: none of the 7 is a lead any more.
    expect(page.locator("#rows tr.message")).to_contain_text("No contact matches")
    page.goto(page.url.split("?")[0])
    expect(page.locator("#rows .status-inactive")).to_have_count(7)
