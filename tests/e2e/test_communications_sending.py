"""In a real browser (CSRF on): log a call, schedule an email, and watch its status change on
the timeline as the worker's sweeper sends it (to the file outbox: no SMTP in this app)."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from core.extensions import db
from core.models import utcnow
from plugins.communications import delivery
from plugins.communications.models import Communication


def test_log_a_call_schedule_an_email_and_watch_it_sent(logged_in, live_server, live_app, make_contact, shot):
    page = logged_in
    contact_id = make_contact("Grace", "Hopper", email="grace@example.org")
    page.goto(f"{live_server}/contacts/{contact_id}")
    timeline = page.locator("#panel-communications")
    compose = page.locator("#panel-communications-email")

    # log a call
    timeline.get_by_label("Type").select_option("call")
    timeline.get_by_label("Subject").fill("Intro call")
    timeline.get_by_role("button", name="Log").click()
    expect(timeline.locator("li.entry").first).to_contain_text("Intro call")

    # schedule an email an hour from now, entered in Paris time
    expect(compose).to_contain_text("No SMTP server is configured")
    when = (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)
    compose.get_by_label("To", exact=True).fill("grace@example.org")
    compose.get_by_label("Subject", exact=True).fill("Our meeting")
    compose.get_by_label("Message", exact=True).fill("See you soon.")
    paris = when.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    compose.get_by_label("Date and time").fill(paris.strftime("%Y-%m-%dT%H:%M"))
    zone = compose.get_by_label("Time zone")
    zone.click()  # the first focus fetches the suggestions
    expect(page.locator("#communications-timezones option[value='Europe/Paris']")).to_have_count(1)
    zone.fill("Europe/Paris")
    compose.get_by_role("button", name="Schedule").click()
    expect(compose).to_contain_text(f"Scheduled for {when:%Y-%m-%d %H:%M} UTC")
    entry = timeline.locator("li.entry.send")
    expect(entry.locator(".badge.status")).to_have_text("scheduled")
    expect(entry).to_contain_text(f"({paris:%Y-%m-%d %H:%M} Europe/Paris)")
    shot(page, "scheduled")

    # time passes: the send is due, and the worker's sweeper runs
    with live_app.app_context():
        comm = db.session.scalars(db.select(Communication).where(Communication.idempotency_key.is_not(None))).one()
        db.session.execute(db.update(Communication).where(Communication.id == comm.id)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        key = comm.idempotency_key
    page.reload()
    entry = page.locator("#panel-communications li.entry.send")
    expect(entry.locator(".badge.status")).to_have_text("scheduled")
    with live_app.app_context():
        assert delivery.sweep() == 1
    # the entry polls itself while the send is due: the new status shows up without a reload
    expect(entry.locator(".badge.status")).to_have_text("sent")
    entry.get_by_text("Status history (3)").click()
    expect(entry.locator("ol.events")).to_contain_text("scheduled → sending")
    expect(entry.locator("ol.events")).to_contain_text("sending → sent")
    shot(page, "sent")
    assert (Path(live_app.config["INSTANCE_PATH"]) / "outbox" / f"{key}.eml").exists()


def test_the_email_panel_of_a_contact_without_an_address_says_how_to_add_one(logged_in, live_server, make_contact,
                                                                             shot):
    page = logged_in
    contact_id = make_contact("Charles", "Babbage", email=None)
    page.goto(f"{live_server}/contacts/{contact_id}")
    compose = page.locator("#panel-communications-email")
    expect(compose).to_contain_text("Charles Babbage has no email address")
    expect(compose.get_by_label("To", exact=True)).to_have_count(0)
    expect(compose.get_by_role("button", name="Send now")).to_have_count(0)
    shot(page, "no-address")

    compose.get_by_role("link", name="Edit the contact").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Email").fill("charles@example.org")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    # the panel asks for itself again: now it offers the email, to the new address
    expect(compose.get_by_role("button", name="Send now")).to_be_visible()
    expect(compose.get_by_label("To", exact=True)).to_have_attribute("placeholder", "charles@example.org")
