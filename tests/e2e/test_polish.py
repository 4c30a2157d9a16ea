"""Browser checks for the UI polish pass: the toolbar follows Back/Forward, the URL carries no default values,
the contact page's panels fit their cards and reload after an edit, empty states look alike, and the login
form puts the cursor where the user has to type."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.extensions import db
from plugins.monitoring.models import Activity

ROWS = "#rows tr[id^='contact-']"


def _names(page) -> list[str]:
    return page.locator(f"{ROWS} td[data-label='Name']").all_inner_texts()


def _toolbar(page) -> dict:
    return {
        "q": page.get_by_label("Search").input_value(),
        "status": page.get_by_label("Status", exact=True).input_value(),
        "type": page.get_by_label("Type").input_value(),
        "sort": page.get_by_label("Sort").input_value(),
    }


def test_back_and_forward_keep_the_toolbar_in_step_with_the_url(logged_in, live_server, make_contact, shot):
    page = logged_in
    make_contact("Ada", "Lovelace", status="active", type="customer")
    make_contact("Alan", "Turing", status="lead", type="person")
    make_contact("Grace", "Hopper", status="lead", type="customer")
    page.reload()
    expect(page.locator(ROWS)).to_have_count(3)
    page.evaluate("window.__noReload = true")
    urls = []
    page.on("request", lambda r: urls.append(r.url) if r.url.startswith(live_server + "/?") else None)

    with page.expect_response(lambda r: "status=lead" in r.url):
        page.get_by_label("Status", exact=True).select_option(label="Lead")
    expect(page).to_have_url(live_server + "/?status=lead")  # no sort=name, no empty q/type/organization_id
    with page.expect_response(lambda r: "type=customer" in r.url):
        page.get_by_label("Type").select_option("customer")
    expect(page).to_have_url(live_server + "/?status=lead&type=customer")
    with page.expect_response(lambda r: "sort=-name" in r.url):
        page.get_by_label("Sort").select_option(label="Last name Z–A")
    expect(page).to_have_url(live_server + "/?status=lead&type=customer&sort=-name")
    expect(page.locator(ROWS)).to_have_count(1)

    # Back: the rows, the URL and every control agree again (htmx restores its snapshot, app.js the controls).
    page.go_back()
    expect(page).to_have_url(live_server + "/?status=lead&type=customer")
    expect(page.get_by_label("Sort")).to_have_value("name")
    assert _toolbar(page) == {"q": "", "status": "lead", "type": "customer", "sort": "name"}
    assert _names(page) == ["Grace Hopper"]
    page.go_back()
    expect(page).to_have_url(live_server + "/?status=lead")
    expect(page.get_by_label("Type")).to_have_value("")
    assert _toolbar(page) == {"q": "", "status": "lead", "type": "", "sort": "name"}
    assert _names(page) == ["Grace Hopper", "Alan Turing"]
    shot(page, "back-to-status-lead")
    page.go_back()
    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_label("Status", exact=True)).to_have_value("")
    assert _toolbar(page) == {"q": "", "status": "", "type": "", "sort": "name"}
    expect(page.locator(ROWS)).to_have_count(3)

    page.go_forward()
    expect(page).to_have_url(live_server + "/?status=lead")
    expect(page.get_by_label("Status", exact=True)).to_have_value("lead")
    page.go_forward()
    page.go_forward()
    expect(page).to_have_url(live_server + "/?status=lead&type=customer&sort=-name")
    expect(page.get_by_label("Sort")).to_have_value("-name")
    assert _toolbar(page) == {"q": "", "status": "lead", "type": "customer", "sort": "-name"}

    # A control changed after Back starts from what the user sees, not from a stale snapshot.
    page.go_back()
    expect(page.get_by_label("Sort")).to_have_value("name")
    with page.expect_response(lambda r: "q=gr" in r.url):
        page.get_by_label("Search").fill("gr")
    expect(page).to_have_url(live_server + "/?q=gr&status=lead&type=customer")
    assert page.evaluate("window.__noReload") is True  # all of it without a full page load
    assert urls and not [u for u in urls if "sort=name" in u or re.search(r"=(&|$)", u)]


def test_choosing_the_default_sort_again_leaves_it_out_of_the_url(logged_in, live_server, make_contact):
    page = logged_in
    make_contact("Ada", "Lovelace")
    page.reload()
    with page.expect_response(lambda r: "sort=-name" in r.url):
        page.get_by_label("Sort").select_option(label="Last name Z–A")
    expect(page).to_have_url(live_server + "/?sort=-name")
    with page.expect_response(lambda r: r.url == live_server + "/"):
        page.get_by_label("Sort").select_option(label="Last name A–Z")
    expect(page).to_have_url(live_server + "/")
    options = page.get_by_label("Sort").locator("option").all_inner_texts()
    assert options[:2] == ["Last name A–Z", "Last name Z–A"]


def _add_activity(live_app, contact_id: int) -> None:
    with live_app.app_context():
        for summary in (
            "created contact",
            "changed " + "x" * 150,  # one unbreakable word
            "changed first_name, last_name, email, phone, organization_id, type, status, owner_team_id",
        ):
            db.session.add(Activity(actor_name="Mia Member with a rather long display name", entity_type="contact",
                                    entity_id=contact_id, contact_id=contact_id, action="updated", summary=summary))
        db.session.commit()


def test_activity_panel_fits_its_card(logged_in, live_server, live_app, make_contact, shot):
    page = logged_in
    contact_id = make_contact("Margaret", "Hamilton")
    _add_activity(live_app, contact_id)
    for width in (1280, 900, 420):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/contacts/{contact_id}")
        panel = page.locator("#panel-activity")
        expect(panel.locator("tr.entry")).to_have_count(3)
        sizes = panel.evaluate("""p => {
            const body = p.querySelector('.panel-body'), what = p.querySelectorAll('td.what');
            const box = p.getBoundingClientRect();
            return {panel: [p.clientWidth, p.scrollWidth], body: [body.clientWidth, body.scrollWidth],
                    right: box.right, whatRight: Math.max(...[...what].map(td => td.getBoundingClientRect().right)),
                    lines: [...what].map(td => Math.round(td.getBoundingClientRect().height /
                                                         parseFloat(getComputedStyle(td).lineHeight)))};
        }""")
        assert sizes["panel"][1] <= sizes["panel"][0], (width, sizes)  # nothing spills out of the card
        assert sizes["body"][1] <= sizes["body"][0], (width, sizes)  # not even into a scrollbar
        assert sizes["whatRight"] <= sizes["right"], (width, sizes)
        assert sizes["lines"][1] >= 2, (width, sizes)  # the long summary wraps
        shot(page, f"contact-{width}")


def test_editing_a_contact_reloads_the_activity_panel(logged_in, live_server, make_contact, shot):
    page = logged_in
    contact_id = make_contact("Katherine", "Goble")
    page.goto(f"{live_server}/contacts/{contact_id}")
    activity = page.locator("#panel-activity")
    expect(activity.get_by_text("No activity recorded for this contact.")).to_be_visible()
    page.evaluate("window.__noReload = true")

    page.get_by_role("link", name="Edit", exact=True).click()
    dialog = page.locator("dialog#modal")
    dialog.get_by_label("Last name").fill("Johnson")
    with page.expect_response(lambda r: r.url.endswith(f"/monitoring/contacts/{contact_id}/activity")) as reload:
        dialog.get_by_role("button", name="Save changes").click()
    assert reload.value.status == 200
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Katherine Johnson")).to_be_visible()
    expect(activity.locator("tr.entry")).to_have_count(1)
    expect(activity).to_contain_text("changed last_name")
    expect(activity.get_by_text("No activity recorded for this contact.")).to_have_count(0)
    assert page.evaluate("window.__noReload") is True
    shot(page, "activity-after-edit")


def test_empty_states_look_alike_and_notes_keep_their_bullets(logged_in, live_server, make_contact, shot):
    page = logged_in
    contact_id = make_contact("Barbara", "Liskov")
    page.goto(f"{live_server}/contacts/{contact_id}")
    notes_empty = page.locator("#panel-notes li.empty")
    expect(notes_empty).to_have_text("No notes yet.")
    lists_empty = page.locator("#panel-groups .empty")
    activity_empty = page.locator("#panel-activity .empty")
    expect(lists_empty).to_be_visible()
    expect(activity_empty).to_be_visible()
    style = "e => { const s = getComputedStyle(e); return [s.textAlign, s.color, s.paddingTop, s.listStyleType]; }"
    notes_style = notes_empty.evaluate(style)
    assert notes_style[3] == "none"  # no stray bullet
    assert notes_style[:3] == lists_empty.evaluate(style)[:3] == activity_empty.evaluate(style)[:3]
    # Centred in its panel: as far from the left edge of the panel body as from the right.
    gap = notes_empty.evaluate("""e => { const b = e.closest('.panel-body').getBoundingClientRect();
        const r = document.createRange(); r.selectNodeContents(e); const t = r.getBoundingClientRect();
        return [t.left - b.left, b.right - t.right]; }""")
    assert abs(gap[0] - gap[1]) <= 2, gap
    shot(page, "empty-states")

    # Lists a user writes in Markdown keep their bullets, unlike the panel's own item lists.
    notes = page.locator("#panel-notes")
    notes.get_by_label("Add a note").fill("Topics:\n\n- compilers\n- abstraction")
    notes.get_by_role("button", name="Add note").click()
    bullets = notes.locator(".note-body ul")
    expect(bullets.locator("li")).to_have_count(2)
    assert bullets.evaluate("e => getComputedStyle(e).listStyleType") == "disc"
    expect(notes.locator("li.empty")).to_have_count(0)


def test_wrong_password_puts_the_cursor_in_the_password_field(page, live_server, seeded):
    page.goto(live_server + "/login")
    expect(page.get_by_label("Email")).to_be_focused()
    page.get_by_label("Email").fill(seeded["email"])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(seeded["email"])
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(seeded["password"])
    page.keyboard.press("Enter")
    page.wait_for_url(live_server + "/")


def test_opening_a_form_does_not_pull_the_cursor_back_after_the_person_moved_on(
    logged_in, live_server, make_contact, settled
):
    """The form's first field gets the cursor once, when it appears; htmx's settle step (20 ms later)
    must not take it back from a field a fast typist has already moved to — that put "Johnson" into
    First name when Last name was being typed."""
    page = logged_in
    contact_id = make_contact("Katherine", "Goble")
    page.goto(f"{live_server}/contacts/{contact_id}")
    # A fast person: the moment the form is in the page (before htmx settles it), move to Last name.
    page.evaluate("""() => document.addEventListener('htmx:afterSwap', (e) => {
        const field = e.detail.target.querySelector && e.detail.target.querySelector("input[name='last_name']");
        if (field) field.focus();
    })""")
    settled(lambda: page.get_by_role("link", name="Edit", exact=True).click())
    dialog = page.locator("dialog#modal")
    expect(dialog.get_by_label("Last name")).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type("-Johnson")
    expect(dialog.get_by_label("Last name")).to_have_value("Goble-Johnson")
    expect(dialog.get_by_label("First name")).to_have_value("Katherine")
