"""The contacts UI in a real browser: log in, create with a validation error, search as you type,
edit, delete and undo, and a plugin panel on the contact page. CSRF is ON in this app, so every
htmx POST/DELETE below also proves the token travels in the ``X-CSRFToken`` header."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.extensions import db
from core.models import Contact, User
from core.services import contacts as service


def _rows(page):
    return page.locator("#rows tr[id^='contact-']")


def _post_to(path: str):
    """A predicate for page.expect_response: a POST to a URL ending with ``path``."""
    return lambda response: response.request.method == "POST" and response.url.endswith(path)


def _contact_id(live_app, email: str) -> int | None:
    with live_app.app_context():
        contact = db.session.scalar(db.select(Contact).where(Contact.email == email))
        return contact.id if contact is not None else None


def test_login_wrong_password_then_right(page, live_server, seeded, shot):
    page.set_default_timeout(10_000)
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))  # anonymous users are sent to the login page
    page.get_by_label("Email").fill(seeded["email"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(seeded["email"])  # kept for the next try
    shot(page, "wrong-password")

    page.get_by_label("Password").fill(seeded["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server + "/")
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    expect(page.get_by_text("Mia Member")).to_be_visible()
    expect(page.get_by_text("No contacts yet.")).to_be_visible()  # the empty state
    shot(page, "logged-in")


def test_create_in_modal_with_validation_error(logged_in, live_server, live_app, shot):
    page = logged_in
    page.get_by_role("link", name="New contact").click()
    dialog = page.locator("dialog#modal")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="New contact")).to_be_visible()
    expect(dialog.get_by_label("First name")).to_be_focused()

    dialog.get_by_label("First name").fill("Grace")
    dialog.get_by_label("Last name").fill("Hopper")
    dialog.get_by_label("Email").fill("not-an-email")
    with page.expect_response(_post_to("/contacts/new")) as first:
        dialog.get_by_role("button", name="Create contact").click()
    assert first.value.status == 422
    email = dialog.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile(r"@-sign"))  # the message is tied to the field
    expect(dialog.locator("#email-error")).to_have_class(re.compile(r"field-error"))
    expect(dialog.get_by_label("First name")).to_have_value("Grace")  # the rest of the input is kept
    expect(dialog.get_by_label("First name")).not_to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()  # the cursor goes to the field to fix
    expect(dialog.locator(".htmx-indicator")).to_have_css("opacity", "0")  # the spinner is gone again
    shot(page, "validation-error")
    assert _contact_id(live_app, "Grace@example.org") is None

    email.fill("Grace@Example.org")
    with page.expect_response(_post_to("/contacts/new")) as second:
        dialog.get_by_role("button", name="Create contact").click()
    assert second.value.status == 200
    expect(dialog).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text("Grace Hopper was created.")
    row = _rows(page).filter(has_text="Grace Hopper")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Grace@example.org")  # the domain is normalized
    shot(page, "created")
    assert _contact_id(live_app, "Grace@example.org") is not None


def test_search_as_you_type(logged_in, live_server, make_contact, shot):
    page = logged_in
    for first, last in [("Ada", "Lovelace"), ("Adele", "Goldberg"), ("Alan", "Turing"), ("Barbara", "Liskov")]:
        make_contact(first, last, email=f"{first.lower()}@example.org")
    page.reload()
    expect(_rows(page)).to_have_count(4)
    page.evaluate("window.__noReload = true")  # survives only if the page is never reloaded

    with page.expect_response(lambda r: "q=ad" in r.url and r.request.headers.get("hx-request") == "true") as resp:
        page.get_by_label("Search").press_sequentially("ad", delay=30)
    assert resp.value.status == 200
    expect(_rows(page)).to_have_count(2)
    expect(_rows(page).filter(has_text="Ada Lovelace")).to_have_count(1)
    expect(_rows(page).filter(has_text="Adele Goldberg")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"[?&]q=ad(&|$)"))
    assert page.evaluate("window.__noReload") is True
    shot(page, "search")

    page.get_by_label("Search").press_sequentially("e", delay=30)
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text("Adele Goldberg")
    expect(page).to_have_url(re.compile(r"[?&]q=ade(&|$)"))

    page.get_by_label("Search").fill("zzz")
    expect(page.get_by_text("No contact matches.")).to_be_visible()
    expect(_rows(page)).to_have_count(0)
    assert page.evaluate("window.__noReload") is True

    # The query in the URL is the state: loading it directly shows the same rows.
    page.goto(live_server + "/?q=ali")
    expect(page.get_by_label("Search")).to_have_value("ali")
    expect(_rows(page)).to_have_count(0)
    page.goto(live_server + "/?q=Tur")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text("Alan Turing")


def test_edit_phone_shown_formatted(logged_in, live_server, make_contact, shot):
    page = logged_in
    contact_id = make_contact("Katherine", "Johnson", email="kj@example.org")
    page.goto(f"{live_server}/contacts/{contact_id}")
    expect(page.get_by_role("heading", name="Katherine Johnson", level=1)).to_be_visible()

    page.get_by_role("link", name="Edit", exact=True).click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_role("heading", name="Edit Katherine Johnson")).to_be_visible()
    dialog.get_by_label("Phone").fill("+442079460958")
    with page.expect_response(_post_to(f"/contacts/{contact_id}/edit")) as r:
        dialog.get_by_role("button", name="Save changes").click()
    assert r.value.status == 200
    expect(dialog).to_be_hidden()
    details = page.locator("#contact-details")
    expect(details.get_by_role("link", name="+44 20 7946 0958")).to_have_attribute("href", "tel:+442079460958")
    expect(page.locator("#toasts")).to_contain_text("Katherine Johnson was saved.")
    expect(details.locator("ol.history")).to_contain_text("Phone")  # the audit entry names the change
    shot(page, "edited")

    page.reload()  # stored, not just swapped in
    expect(page.locator("#contact-details")).to_contain_text("+44 20 7946 0958")
    page.goto(live_server + "/")
    expect(_rows(page).filter(has_text="Katherine Johnson")).to_contain_text("+44 20 7946 0958")


def test_delete_with_confirm_and_undo(logged_in, live_server, make_contact, live_app, shot):
    page = logged_in
    keep_id = make_contact("Edsger", "Dijkstra")
    gone_id = make_contact("Donald", "Knuth", email="knuth@example.org")
    page.reload()
    expect(_rows(page)).to_have_count(2)

    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    row = page.locator(f"#contact-{gone_id}")
    with page.expect_response(lambda r: r.request.method == "DELETE") as resp:
        row.get_by_role("button", name="Delete").click()
    assert resp.value.status == 200
    assert dialogs == ["Move Donald Knuth to the trash?"]
    expect(row).to_have_count(0)
    expect(page.locator(f"#contact-{keep_id}")).to_be_visible()
    toast = page.locator("#toasts .toast").filter(has_text="Donald Knuth was moved to the trash.")
    expect(toast).to_be_visible()
    shot(page, "deleted-toast")
    with live_app.app_context():
        assert db.session.get(Contact, gone_id).deleted_at is not None

    with page.expect_response(lambda r: r.url.endswith(f"/contacts/{gone_id}/restore")) as resp:
        toast.get_by_role("button", name="Undo").click()
    assert resp.value.status == 200
    expect(page.locator("#toasts")).to_contain_text("Donald Knuth was restored.")
    expect(page.locator(f"#contact-{gone_id}")).to_contain_text("knuth@example.org")  # back in the list
    expect(_rows(page)).to_have_count(2)
    shot(page, "undone")
    with live_app.app_context():
        assert db.session.get(Contact, gone_id).deleted_at is None


def test_dismissing_the_confirm_keeps_the_contact(logged_in, make_contact):
    page = logged_in
    contact_id = make_contact("Niklaus", "Wirth")
    page.reload()
    page.once("dialog", lambda dialog: dialog.dismiss())
    requests = []
    page.on("request", lambda r: requests.append(r.method) if r.method == "DELETE" else None)
    page.locator(f"#contact-{contact_id}").get_by_role("button", name="Delete").click()
    # The list reloads from the server: the contact is still there and no DELETE was sent.
    page.reload()
    expect(page.locator(f"#contact-{contact_id}")).to_be_visible()
    assert requests == []


def test_contact_page_panels_render_with_the_page(logged_in, live_server, make_contact, shot):
    page = logged_in
    contact_id = make_contact("Margaret", "Hamilton")
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if r.headers.get("hx-request") == "true" else None)
    page.goto(f"{live_server}/contacts/{contact_id}")
    page.wait_for_load_state("networkidle")
    assert not [u for u in fetched if "/timeline" in u]  # the timeline came with the page, not after it

    comms = page.locator("#panel-communications")
    expect(comms.get_by_role("heading", name="Communications")).to_be_visible()
    expect(comms.get_by_text("No calls, emails or meetings logged yet.")).to_be_visible()
    notes = page.locator("#panel-notes")
    expect(notes.get_by_text("No notes yet.")).to_be_visible()
    expect(page.locator(".panel .loading")).to_have_count(0)  # every panel replaced its placeholder
    expect(page.get_by_text("This panel could not be loaded.")).to_have_count(0)
    expect(page.locator("#toasts .toast-error")).to_have_count(0)
    shot(page, "panels")

    # Log a call through the communications panel (an htmx POST with the CSRF header).
    comms.get_by_label("Type").select_option("call")
    comms.get_by_label("Subject").fill("Apollo guidance review")
    comms.get_by_label("Notes").fill("Discussed the priority displays.")
    with page.expect_response(_post_to(f"/contacts/{contact_id}/timeline")) as logged:
        comms.get_by_role("button", name="Log").click()
    assert logged.value.status == 200
    entry = comms.locator("#communications-entries li.entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Call")
    expect(entry).to_contain_text("Apollo guidance review")
    expect(entry).to_contain_text("by Mia Member")

    # Add a note through the notes panel: Markdown is rendered.
    notes.get_by_label("Add a note").fill("Met at **MIT**.")
    with page.expect_response(_post_to(f"/contacts/{contact_id}/notes")) as added:
        notes.get_by_role("button", name="Add note").click()
    assert added.value.status == 200
    note = notes.locator("li.note")
    expect(note).to_have_count(1)
    expect(note.locator("strong")).to_have_text("MIT")
    expect(notes.get_by_text("Saving…")).to_have_css("opacity", "0")
    expect(notes.get_by_label("Add a note")).to_have_value("")  # the form is fresh for the next note
    shot(page, "panel-posted")

    # Both survive a reload (stored, not just swapped in).
    page.reload()
    expect(page.locator("#panel-communications li.entry")).to_contain_text("Apollo guidance review")
    expect(page.locator("#panel-notes li.note")).to_contain_text("Met at MIT.")


def test_csrf_token_travels_in_the_htmx_header(logged_in, live_server, make_contact):
    page = logged_in
    contact_id = make_contact("Barbara", "Liskov")
    page.goto(f"{live_server}/contacts/{contact_id}")
    notes = page.locator("#panel-notes")
    expect(notes.get_by_label("Add a note")).to_be_visible()
    notes_url = f"{live_server}/collaboration/contacts/{contact_id}/notes"

    # Without the header the server refuses the POST (CSRF is on) and the page says so.
    def strip_token(route):
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "x-csrftoken"}
        route.continue_(headers=headers)

    page.route(notes_url, strip_token)
    notes.get_by_label("Add a note").fill("Sent twice")
    with page.expect_response(notes_url) as refused:
        notes.get_by_role("button", name="Add note").click()
    assert refused.value.status == 400
    expect(page.locator("#toasts .toast-error").filter(has_text="The request was refused")).to_be_visible()
    expect(notes.locator("li.note")).to_have_count(0)
    page.unroute(notes_url)

    # With it (as every htmx request sends it) the same POST succeeds.
    with page.expect_response(notes_url) as accepted:
        notes.get_by_role("button", name="Add note").click()
    assert accepted.value.status == 200
    token = accepted.value.request.headers.get("x-csrftoken")
    assert token and token in page.locator("body").get_attribute("hx-headers")
    expect(notes.locator("li.note")).to_contain_text("Sent twice")


def test_stale_edit_shows_the_conflict(logged_in, live_server, live_app, seeded, make_contact):
    page = logged_in
    contact_id = make_contact("Frances", "Allen", phone="+442079460958")
    page.goto(f"{live_server}/contacts/{contact_id}")
    page.get_by_role("link", name="Edit", exact=True).click()
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_label("Phone")).to_have_value("+44 20 7946 0958")

    # Someone else saves the contact while the form is open.
    with live_app.test_request_context():
        other = db.session.scalar(db.select(User).where(User.email == seeded["email"]))
        service.update_contact(other, contact_id, {"phone": "+14155550123"}, None)
        db.session.remove()

    dialog.get_by_label("Phone").fill("+33 1 42 68 53 00")
    with page.expect_response(_post_to(f"/contacts/{contact_id}/edit")) as r:
        dialog.get_by_role("button", name="Save changes").click()
    assert r.value.status == 409
    conflict = dialog.get_by_role("alert")
    expect(conflict).to_contain_text("Someone else changed this contact")
    change = conflict.get_by_role("row", name=re.compile("Phone"))
    expect(change).to_contain_text("+33 1 42 68 53 00")  # yours
    expect(change).to_contain_text("+1 415-555-0123")  # now saved
    expect(dialog.get_by_label("Phone")).to_have_value("+33 1 42 68 53 00")  # your value is kept

    with page.expect_response(_post_to(f"/contacts/{contact_id}/edit")) as r:
        dialog.get_by_role("button", name="Save changes").click()  # saving again keeps yours
    assert r.value.status == 200
    expect(dialog).to_be_hidden()
    expect(page.locator("#contact-details")).to_contain_text("+33 1 42 68 53 00")
