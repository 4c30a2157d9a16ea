"""Contact details in a real browser: add a second email and an address with the form's
repeatable rows, see them on the contact page, and download the contact as a vCard."""

from __future__ import annotations

from playwright.sync_api import expect


def test_add_email_and_address_then_download_the_vcard(logged_in, live_server, make_contact, shot):
    page = logged_in
    contact_id = make_contact("Ada", "Lovelace", email="ada@example.org")
    page.goto(f"{live_server}/contacts/{contact_id}")
    page.get_by_role("link", name="Edit", exact=True).click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Edit Ada Lovelace")).to_be_visible()

    emails = dialog.locator("[data-repeat=emails]")
    emails.get_by_role("button", name="+ Add email").click()
    row = emails.locator(".repeat-row")
    expect(row).to_have_count(1)
    expect(row.locator("input")).to_be_focused()
    row.locator("input").fill("ada@work.example.org")
    row.locator("select").select_option("work")
    emails.get_by_role("button", name="+ Add email").click()  # a second row, then removed again
    expect(row).to_have_count(2)
    row.nth(1).get_by_role("button", name="Remove").click()
    expect(row).to_have_count(1)

    addresses = dialog.locator("[data-repeat=addresses]")
    addresses.get_by_role("button", name="+ Add address").click()
    address = addresses.locator(".repeat-row")
    address.get_by_label("Street").fill("12 St James's Square")
    address.get_by_label("Postcode").fill("SW1Y 4JH")
    address.get_by_label("City").fill("London")
    address.get_by_label("Country").fill("United Kingdom")
    shot(page, "form")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/contacts/{contact_id}/edit")) as r:
        dialog.get_by_role("button", name="Save changes").click()
    assert r.value.status == 200
    expect(dialog).to_be_hidden()

    details = page.locator("#contact-details")
    expect(details.get_by_role("link", name="ada@work.example.org")).to_have_attribute(
        "href", "mailto:ada@work.example.org")
    expect(details).to_contain_text("Email (work)")
    expect(details.locator("dd.address")).to_contain_text("12 St James's Square")
    expect(details.locator("dd.address")).to_contain_text("SW1Y 4JH London")
    page.reload()  # stored, not just swapped in
    expect(page.locator("#contact-details")).to_contain_text("ada@work.example.org")
    shot(page, "page")

    with page.expect_download() as info:
        page.get_by_role("link", name="vCard", exact=True).click()
    download = info.value
    assert download.suggested_filename == f"contact-{contact_id}.vcf"
    text = open(download.path(), "rb").read().decode("utf-8")
    assert "BEGIN:VCARD\r\nVERSION:4.0\r\n" in text and "FN:Ada Lovelace" in text
    assert "EMAIL;TYPE=work:ada@work.example.org" in text
    assert "ADR;TYPE=home:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom" in text
