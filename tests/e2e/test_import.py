"""Import in a real browser: upload a CSV (or a vCard file), check the mapping and the dry-run
preview, start, follow the job's progress bar to the end, and find the new contacts in the list;
then the export link carries the list's current filters."""

from __future__ import annotations

import csv
import re

from playwright.sync_api import expect

CSV = (
    "First Name,Last Name,E-mail Address,Company,Mobile Phone\n"
    "Grace,Hopper,grace@navy.example.org,US Navy,+1 415 555 0123\n"
    "Katherine,Johnson,katherine@nasa.example.org,NASA,\n"
    ",,not-an-email,,\n"  # nothing left to make a contact of: rejected
)


def test_upload_preview_start_and_see_the_contacts(logged_in, live_server, settled, shot, tmp_path):
    page = logged_in
    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    page.get_by_label("CSV or vCard file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Import people.csv")).to_be_visible()
    expect(page.get_by_label("E-mail Address")).to_have_value("email")  # detected from the header
    expect(page.get_by_label("Mobile Phone")).to_have_value("phone")
    counts = page.locator("#import-preview-counts")
    expect(counts).to_contain_text("2 to create")
    expect(counts).to_contain_text("1 rejected")
    expect(counts).to_contain_text("2 new organizations")
    expect(page.locator(".would-reject")).to_contain_text("email:")
    shot(page, "preview")

    # Unmapping the company column updates the preview in place.
    settled(lambda: page.get_by_label("Company").select_option(""))
    expect(page.locator("#import-preview-counts")).not_to_contain_text("new organizations")
    page.get_by_label("Company").select_option("organization")
    expect(page.locator("#import-preview-counts")).to_contain_text("2 new organizations")

    page.get_by_role("button", name="Start the import").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    progress = page.locator("progress")
    expect(progress).to_have_attribute("value", "100")
    expect(page.locator(".job-status")).to_have_text("Done")
    expect(page.locator(".job-count")).to_contain_text("3 of 3")
    expect(page.get_by_role("link", name=re.compile(r"1 problem"))).to_be_visible()
    expect(page.locator("dl.details")).to_contain_text("Created")
    shot(page, "done")

    page.get_by_role("link", name="See the contacts").click()
    rows = page.locator("#rows tr[id^='contact-']")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Grace Hopper")).to_contain_text("US Navy")
    expect(rows.filter(has_text="Katherine Johnson")).to_be_visible()


VCF = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:g-1\r\nN:Hopper;Grace;;;\r\nEMAIL:grace@navy.example.org\r\n"
    "ORG:US Navy\r\nCATEGORIES:Navy\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Johnson;K=C3=A4therine\r\n"
    "TEL;CELL:+1 415 555 0123\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:1\r\nEND:VCARD\r\n"
)


def test_a_vcard_file_previews_and_imports_on_the_same_pages(logged_in, live_server, shot, tmp_path):
    page = logged_in
    page.get_by_role("link", name="Import CSV or vCards").click()
    path = tmp_path / "phone.vcf"
    path.write_text(VCF, encoding="utf-8")
    page.get_by_label("CSV or vCard file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Import phone.vcf")).to_be_visible()
    expect(page.get_by_role("heading", name="Columns")).to_have_count(0)
    expect(page.get_by_label("Match existing contacts on")).to_have_value("external_id")
    counts = page.locator("#import-preview-counts")
    expect(counts).to_contain_text("2 to create")
    expect(counts).to_contain_text("1 rejected")
    expect(page.locator(".would-reject")).to_contain_text("no name and no email")
    shot(page, "vcard-preview")

    page.get_by_role("button", name="Start the import").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator(".job-status")).to_have_text("Done")
    expect(page.get_by_role("link", name=re.compile(r"1 problem"))).to_be_visible()
    page.get_by_role("link", name="See the contacts").click()
    rows = page.locator("#rows tr[id^='contact-']")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Grace Hopper")).to_contain_text("US Navy")
    expect(rows.filter(has_text="Kätherine Johnson")).to_be_visible()


def test_export_link_carries_the_current_filters(logged_in, live_server, make_contact, settled):
    make_contact("Ada", "Lovelace", status="active")
    make_contact("Lea", "Lead", status="lead")
    page = logged_in
    page.goto(live_server + "/")
    settled(lambda: page.locator("#filter-status").select_option("lead"))
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert "status=lead" in download.url
    text = open(download.path(), encoding="utf-8-sig").read()
    assert "Lea,Lead" in text and "Ada" not in text


def test_thunderbird_export_warns_in_the_preview_and_after_the_job_with_a_report(logged_in, shot):
    # Thunderbird's test export ("contact1@invalid") imported nothing: both rows were rejected. Now
    # both contacts are kept without the address, the preview and the job say so, and the report
    # downloads as the file's own rows with Row and Problem.
    from tests.core.test_import import sample

    path = sample("thunderbird-1.csv")
    page = logged_in
    page.get_by_role("link", name="Import CSV or vCards").click()
    page.get_by_label("CSV or vCard file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Import thunderbird-1.csv")).to_be_visible()
    counts = page.locator("#import-preview-counts")
    expect(counts).to_contain_text("2 to create")
    expect(counts).to_contain_text("0 rejected")
    expect(counts).to_contain_text("2 warnings")
    expect(page.locator(".would-warn")).to_have_count(2)
    expect(page.locator(".would-warn").first).to_contain_text("email 'contact1@invalid' skipped")
    shot(page, "thunderbird-preview")

    page.get_by_role("button", name="Start the import").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator(".job-status")).to_have_text("Done")
    problems = page.locator(".job-problems")
    expect(problems).to_contain_text("Row 2:")
    expect(problems).to_contain_text("contact2@invalid")
    expect(page.locator("dl.details")).to_contain_text("Warnings")
    shot(page, "thunderbird-done")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the problem report (CSV)").click()
    with open(info.value.path(), encoding="utf-8-sig", newline="") as fh:
        report = list(csv.reader(fh))
    assert report[0][:5] == ["First Name", "Last Name", "Display Name", "Nickname", "Primary Email"]
    assert report[0][-2:] == ["Row", "Problem"]
    assert [line[:5] for line in report[1:]] == [
        ["contact", "one", "contact number one", "", "contact1@invalid"],
        ["contact", "two", "contact number two", "", "contact2@invalid"],
    ]
    assert [line[-2] for line in report[1:]] == ["2", "3"] and all("skipped" in line[-1] for line in report[1:])
