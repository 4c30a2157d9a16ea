"""The contacts HTML views: list, search, filters, sort, load more, create/edit in the modal or as
plain pages, stale edits, delete with undo, the contact page and its plugin panels."""

from __future__ import annotations

import json
import re

import pytest

from core import hookimpl
from core.extensions import db
from core.models import Contact
from core.ui import Action, Panel, SearchFilter
from tests import factories
from tests.statements import captured

HX = {"HX-Request": "true"}


@pytest.fixture
def make(app, team):
    """Create a contact in ``team`` (or another team) and return its id."""

    def _make(first="Ada", last=None, owner=None, **extra):
        with app.app_context():
            c = factories.contact(db.session.merge(owner or team), first, last, **extra)
            return c.id

    return _make


@pytest.fixture
def team_id(app, team):
    with app.app_context():
        return db.session.merge(team).id


@pytest.fixture
def org(app, team):
    with app.app_context():
        return factories.organization(db.session.merge(team), "Acme").id


def names_in(html: str) -> list[str]:
    return re.findall(r'<a href="/contacts/\d+">([^<]+)</a>', html)


def contact_row(app, contact_id):
    with app.app_context():
        return db.session.get(Contact, contact_id)


# --- list ---------------------------------------------------------------------------------------


def test_list_full_page_and_rows_fragment(member_client, make):
    make("Ada", "Lovelace", email="ada@example.org", phone="+442079460958")
    make("Grace", "Hopper")
    full = member_client.get("/")
    assert full.status_code == 200
    html = full.get_data(as_text=True)
    assert "<html" in html and 'id="toolbar"' in html and 'hx-trigger="input changed delay:300ms, search"' in html
    assert names_in(html) == ["Grace Hopper", "Ada Lovelace"]
    assert "+44 20 7946 0958" in html  # shown formatted, stored as E.164
    assert 'href="mailto:ada@example.org"' in html
    assert "HX-Request" in full.headers["Vary"]

    fragment = member_client.get("/", headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert "<html" not in body and 'id="toolbar"' not in body
    assert names_in(body) == ["Grace Hopper", "Ada Lovelace"]


def test_search_filters_and_sort(member_client, make, org):
    make("Ada", "Lovelace", email="ada@example.org", status="lead", type="customer", organization_id=org)
    make("Grace", "Hopper", status="active", type="person")
    make("Alan", "Turing", status="inactive", type="customer")

    assert names_in(member_client.get("/?q=lov", headers=HX).get_data(as_text=True)) == ["Ada Lovelace"]
    assert names_in(member_client.get("/?q=ada@ex", headers=HX).get_data(as_text=True)) == ["Ada Lovelace"]
    assert names_in(member_client.get("/?q=grace hopper", headers=HX).get_data(as_text=True)) == ["Grace Hopper"]
    assert names_in(member_client.get("/?status=active", headers=HX).get_data(as_text=True)) == ["Grace Hopper"]
    def listed(query):
        return names_in(member_client.get(f"/?{query}", headers=HX).get_data(as_text=True))

    assert listed("type=customer") == ["Ada Lovelace", "Alan Turing"]
    assert listed(f"organization_id={org}") == ["Ada Lovelace"]
    assert names_in(member_client.get("/?sort=-name", headers=HX).get_data(as_text=True)) == [
        "Alan Turing", "Ada Lovelace", "Grace Hopper"]
    assert names_in(member_client.get("/?sort=created", headers=HX).get_data(as_text=True))[0] == "Ada Lovelace"
    # the filter lives in the URL: a full page load with it keeps the toolbar's values
    page = member_client.get("/?q=lov&status=lead&sort=-name").get_data(as_text=True)
    assert 'value="lov"' in page and '<option value="lead" selected>' in page
    assert '<option value="-name" selected>' in page


def test_sort_options_say_they_sort_by_last_name(member_client, make):
    make("Zoe", "Adams")
    make("Adam", "Zimmer")
    page = member_client.get("/").get_data(as_text=True)
    assert '<option value="name" selected>Last name A–Z</option>' in page
    assert '<option value="-name">Last name Z–A</option>' in page
    assert ">Name A–Z<" not in page
    assert names_in(page) == ["Zoe Adams", "Adam Zimmer"]  # shown "First Last", ordered by last name
    # the default sort and empty filters stay out of the URL: the toolbar tells app.js which values to drop
    assert 'data-drop-empty="sort=name"' in page
    assert re.search(r'<form id="toolbar"[^>]*data-drop-empty="sort=name"[^>]*data-url-state', page)


@pytest.mark.parametrize("query,field", [
    ("sort=bogus", "pick one from the Sort menu (Last name A–Z, Last name Z–A, Newest first"),
    ("organization_id=abc", "Choose an organization"),
    ("cursor=not-a-cursor", "cursor is not valid"),
])
def test_bad_list_parameters_answer_422_not_500(member_client, make, query, field):
    make()
    response = member_client.get(f"/?{query}", headers=HX)
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)


def test_load_more_with_cursor(member_client, make):
    for i in range(53):
        make("Person", f"N{i:03d}")
    first = member_client.get("/").get_data(as_text=True)
    assert len(names_in(first)) == 50
    match = re.search(r'<tr class="more" hx-get="([^"]+)" hx-trigger="revealed"', first)
    assert match and "cursor=" in match.group(1)
    assert ">Load more</a>" in first
    url = match.group(1).replace("&amp;", "&")
    more = member_client.get(url, headers=HX)
    body = more.get_data(as_text=True)
    assert names_in(body) == ["Person N050", "Person N051", "Person N052"]
    assert 'class="more"' not in body and "No contact" not in body  # last page: no button, no empty state


def test_load_more_keeps_filters_and_sort(member_client, make):
    for i in range(52):
        make("Zed" if i % 2 else "Amy", f"K{i:03d}", status="lead" if i % 2 else "active")
    for i in range(60):
        make("Other", f"O{i:03d}", status="inactive")
    first = member_client.get("/?status=lead&sort=-name", headers=HX).get_data(as_text=True)
    assert len(names_in(first)) == 26
    assert 'class="more"' not in first
    page1 = member_client.get("/?status=inactive", headers=HX).get_data(as_text=True)
    url = re.search(r'<tr class="more" hx-get="([^"]+)"', page1).group(1).replace("&amp;", "&")
    assert "status=inactive" in url
    rest = names_in(member_client.get(url, headers=HX).get_data(as_text=True))
    assert len(rest) == 10 and all(n.startswith("Other") for n in rest)


def test_empty_states(member_client, make):
    html = member_client.get("/").get_data(as_text=True)
    assert "No contacts yet" in html and "Create the first one" in html
    make("Ada", "Lovelace")
    none = member_client.get("/?q=zzz", headers=HX).get_data(as_text=True)
    assert "No contact matches" in none and "Clear the filters" in none and "No contacts yet" not in none


def test_list_query_count_does_not_grow_with_rows(app, member_client, make, org):
    def count_selects(n_rows):
        member_client.get("/", headers=HX)  # warm the caches (vocabularies, session)
        with captured(app, selects_only=True) as statements:
            html = member_client.get("/", headers=HX).get_data(as_text=True)
        assert len(names_in(html)) == n_rows
        return len(statements)

    for i in range(3):
        make("A", f"X{i}", organization_id=org)
    few = count_selects(3)
    for i in range(20):
        make("B", f"Y{i}", organization_id=org)
    assert count_selects(23) == few


def test_other_teams_contacts_are_not_listed(member_client, outsider_client, make, other_team):
    make("Ada", "Mine")
    make("Bob", "Theirs", owner=other_team)
    assert names_in(member_client.get("/", headers=HX).get_data(as_text=True)) == ["Ada Mine"]
    assert names_in(outsider_client.get("/", headers=HX).get_data(as_text=True)) == ["Bob Theirs"]


# --- create -----------------------------------------------------------------------------------


def test_new_form_in_modal_and_as_page(member_client, team_id):
    modal = member_client.get("/contacts/new", headers=HX).get_data(as_text=True)
    assert "<html" not in modal and 'id="modal-title"' in modal and 'hx-post="/contacts/new"' in modal
    assert re.search(r'id="first_name"[^>]*autofocus', modal)
    assert f'<option value="{team_id}">Sales</option>' in modal
    page = member_client.get("/contacts/new").get_data(as_text=True)
    assert "<html" in page and 'action="/contacts/new"' in page and "hx-post" not in page
    assert '<label for="email">Email</label>' in page


def test_create_with_invalid_email_and_phone_is_422_and_saves_nothing(app, member_client):
    response = member_client.post("/contacts/new", headers=HX, data={
        "first_name": "Ada", "last_name": "Lovelace", "email": "not-an-email", "phone": "12",
        "type": "person", "status": "active"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" not in html
    email = re.search(r'<input type="email" id="email"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in email and 'aria-describedby="email-error"' in email
    assert re.search(r'<p class="field-error" id="email-error">[^<]*@[^<]*</p>', html)
    assert re.search(r'<p class="field-error" id="phone-error">[^<]*phone number[^<]*</p>', html)
    assert 'value="Ada"' in html and 'value="not-an-email"' in html  # input kept
    with app.app_context():
        assert db.session.query(Contact).count() == 0

    plain = member_client.post("/contacts/new", data={"first_name": "Ada", "email": "bad@"})
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)
    assert 'id="email-error"' in plain.get_data(as_text=True)


def test_create_ok_in_modal(app, member_client, team_id):
    response = member_client.post("/contacts/new", headers=HX, data={
        "first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.org", "phone": "+44 20 7946 0958",
        "type": "customer", "status": "lead", "owner_team_id": str(team_id), "organization_id": ""})
    assert response.status_code == 200
    trigger = json.loads(response.headers["HX-Trigger"])
    assert trigger["closeModal"] and trigger["contactsChanged"] and trigger["contact-changed"]
    body = response.get_data(as_text=True)
    assert 'hx-swap-oob="beforeend:#toasts"' in body and "Ada Lovelace was created." in body
    with app.app_context():
        c = db.session.query(Contact).one()
        assert (c.email, c.phone, c.type, c.status, c.owner_team_id) == (
            "Ada@example.org", "+442079460958", "customer", "lead", team_id)


def test_create_without_js_redirects_to_the_contact(member_client):
    response = member_client.post("/contacts/new", data={"first_name": "Grace", "last_name": "Hopper"})
    assert response.status_code == 302 and re.search(r"/contacts/\d+$", response.headers["Location"])
    page = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Grace Hopper" in page and "Grace Hopper was created." in page


# --- edit -------------------------------------------------------------------------------------


def test_edit_ok(app, member_client, make):
    cid = make("Ada", "Lovelace", email="ada@example.org")
    form = member_client.get(f"/contacts/{cid}/edit", headers=HX).get_data(as_text=True)
    assert 'name="version" value="1"' in form and 'value="ada@example.org"' in form
    response = member_client.post(f"/contacts/{cid}/edit", headers=HX, data={
        "first_name": "Ada", "last_name": "King", "email": "ada@example.org", "phone": "", "version": "1"})
    trigger = json.loads(response.headers["HX-Trigger"])
    # one header, several events: close the modal, refresh the details/list, and let the page's panels reload
    assert trigger == {"closeModal": True, "contactsChanged": True, "contact-changed": True}
    assert contact_row(app, cid).last_name == "King"
    shown = member_client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert "Ada King" in shown and "updated" in shown  # the history lists the change


def test_edit_validation_error(member_client, make):
    cid = make("Ada", "Lovelace")
    data = {"first_name": "Ada", "phone": "abc", "version": "1"}
    response = member_client.post(f"/contacts/{cid}/edit", headers=HX, data=data)
    assert response.status_code == 422
    assert 'id="phone-error"' in response.get_data(as_text=True)


def test_damaged_version_is_422(app, member_client, make):
    cid = make("Ada", "Lovelace")
    response = member_client.post(f"/contacts/{cid}/edit", headers=HX, data={"last_name": "King", "version": "x"})
    assert response.status_code == 422 and "This form is damaged" in response.get_data(as_text=True)
    assert contact_row(app, cid).last_name == "Lovelace"


def test_history_restore_gets_the_full_page(member_client, make):
    make("Ada", "Lovelace")
    response = member_client.get("/?q=ada", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True) and 'id="toolbar"' in response.get_data(as_text=True)


def test_stale_version_is_409_with_the_changes_and_saving_again_works(app, member_client, make):
    cid = make("Ada", "Lovelace", email="ada@example.org")
    # someone else saves first
    assert member_client.post(f"/contacts/{cid}/edit", data={"last_name": "Byron", "version": "1"}).status_code == 302
    stale = member_client.post(f"/contacts/{cid}/edit", headers=HX, data={
        "first_name": "Ada", "last_name": "King", "email": "ada@example.org", "version": "1"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else changed this contact" in html
    assert re.search(r"<th scope=\"row\">Last name</th><td>King</td><td>Byron</td>", html)
    assert 'name="version" value="2"' in html and 'value="King"' in html
    assert contact_row(app, cid).last_name == "Byron"
    again = member_client.post(f"/contacts/{cid}/edit", headers=HX, data={
        "first_name": "Ada", "last_name": "King", "email": "ada@example.org", "version": "2"})
    assert again.status_code == 200
    assert contact_row(app, cid).last_name == "King"


# --- delete and restore -------------------------------------------------------------------------


def test_delete_with_htmx_returns_undo_toast_and_restore_brings_it_back(app, member_client, make):
    cid = make("Ada", "Lovelace")
    page = member_client.get("/").get_data(as_text=True)
    assert f'hx-delete="/contacts/{cid}"' in page and "hx-confirm=" in page
    response = member_client.delete(f"/contacts/{cid}", headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith('<div hx-swap-oob="beforeend:#toasts">')  # nothing else: the row disappears
    assert "Ada Lovelace was moved to the trash." in body and f'hx-post="/contacts/{cid}/restore"' in body
    assert contact_row(app, cid).deleted_at is not None
    assert json.loads(response.headers["HX-Trigger"]) == {"contact-changed": True}
    assert names_in(member_client.get("/", headers=HX).get_data(as_text=True)) == []

    undo = member_client.post(f"/contacts/{cid}/restore", headers=HX)
    assert undo.status_code == 200
    assert json.loads(undo.headers["HX-Trigger"]) == {"contactsChanged": True, "contact-changed": True}
    assert "Ada Lovelace was restored." in undo.get_data(as_text=True)
    assert contact_row(app, cid).deleted_at is None
    assert member_client.post(f"/contacts/{cid}/restore", headers=HX).status_code == 404  # not in the trash any more


def test_delete_without_js_flashes_an_undo_toast(app, member_client, make):
    cid = make("Ada", "Lovelace")
    response = member_client.post(f"/contacts/{cid}/delete", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<div id="toasts"[^>]*>\s*<div class="toast', html)
    assert f'action="/contacts/{cid}/restore"' in html and ">Undo</button>" in html
    restored = member_client.post(f"/contacts/{cid}/restore")
    assert restored.status_code == 302 and restored.headers["Location"].endswith(f"/contacts/{cid}")


def test_delete_from_the_contact_page_redirects_to_the_list(member_client, make):
    cid = make("Ada", "Lovelace")
    response = member_client.delete(f"/contacts/{cid}?from=page", headers=HX)
    assert response.headers["HX-Redirect"] == "/"
    assert "moved to the trash" in member_client.get("/").get_data(as_text=True)


# --- permissions ----------------------------------------------------------------------------------


def test_viewer_sees_no_edit_controls_and_gets_403(app, viewer_client, make):
    cid = make("Ada", "Lovelace")
    page = viewer_client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert "Ada Lovelace" in page
    assert f"/contacts/{cid}/edit" not in page and "hx-delete" not in page
    listing = viewer_client.get("/").get_data(as_text=True)
    assert "New contact" not in listing and f"/contacts/{cid}/edit" not in listing
    assert viewer_client.post(f"/contacts/{cid}/edit", data={"last_name": "X", "version": "1"}).status_code == 403
    assert viewer_client.get(f"/contacts/{cid}/edit").status_code == 403
    assert viewer_client.post(f"/contacts/{cid}/delete").status_code == 403
    assert viewer_client.post("/contacts/new", data={"first_name": "New"}).status_code == 403
    assert viewer_client.get("/contacts/new").status_code == 403
    assert contact_row(app, cid).last_name == "Lovelace"


def test_outsider_gets_404_on_another_teams_contact(app, outsider_client, make):
    cid = make("Ada", "Lovelace")
    assert outsider_client.get(f"/contacts/{cid}").status_code == 404
    assert outsider_client.get(f"/contacts/{cid}/edit").status_code == 404
    assert outsider_client.post(f"/contacts/{cid}/edit", data={"last_name": "X", "version": "1"}).status_code == 404
    assert outsider_client.delete(f"/contacts/{cid}", headers=HX).status_code == 404
    assert contact_row(app, cid).deleted_at is None


def test_unknown_contact_is_404(member_client):
    assert member_client.get("/contacts/999999").status_code == 404
    assert member_client.get("/contacts/99999999999999999999").status_code == 404


# --- the contact page and plugins ---------------------------------------------------------------


def test_contact_page_details(member_client, make, org):
    cid = make("Ada", "Lovelace", email="ada@example.org", phone="+442079460958", organization_id=org, status="lead")
    html = member_client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert "<h1>Ada Lovelace</h1>" in html
    assert 'href="mailto:ada@example.org"' in html and "+44 20 7946 0958" in html
    assert "Acme" in html and "Lead" in html and "Sales" in html
    assert f'href="/contacts/{cid}/edit"' in html


class TinyPlugin:
    """A plugin object registered for one test only."""

    @hookimpl
    def contacts_contact_panels(self, contact, user):
        return [Panel("tiny", "Tiny panel", f"/tiny/{contact.id}", order=1)]

    @hookimpl
    def contacts_contact_actions(self, contact, user):
        return [
            Action("Tiny look", f"/tiny/{contact.id}/look"),
            Action("Tiny do", f"/tiny/{contact.id}/do", method="post"),
        ]

    @hookimpl
    def contacts_search_filters(self):
        return [SearchFilter("tiny", "Tiny filter", apply=lambda stmt, value: stmt.where(Contact.first_name == value),
                             options=lambda user: [("Ada", "Only Ada")])]


@pytest.fixture
def tiny_plugin(app):
    pm = app.extensions["contacts_pm"]
    plugin = TinyPlugin()
    pm.register(plugin, name="tiny-test-plugin")
    yield plugin
    pm.unregister(plugin)


def test_plugin_panels_actions_and_filters(member_client, make, tiny_plugin):
    cid = make("Ada", "Lovelace")
    make("Grace", "Hopper")
    html = member_client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert re.search(rf'<section class="panel" id="panel-tiny"[^>]*hx-get="/tiny/{cid}" hx-trigger="load"', html)
    assert "Tiny panel" in html and "Loading…" in html
    assert f'hx-get="/tiny/{cid}/look" hx-target="#modal-body"' in html
    assert f'hx-post="/tiny/{cid}/do" hx-swap="none"' in html

    listing = member_client.get("/").get_data(as_text=True)
    assert '<label for="filter-tiny">Tiny filter</label>' in listing
    assert '<option value="Ada">Only Ada</option>' in listing
    assert f'hx-get="/tiny/{cid}/look"' in listing
    assert names_in(member_client.get("/?tiny=Ada", headers=HX).get_data(as_text=True)) == ["Ada Lovelace"]


def test_without_the_tiny_plugin_its_panel_is_gone(member_client, make):
    cid = make("Ada", "Lovelace")
    assert "/tiny/" not in member_client.get(f"/contacts/{cid}").get_data(as_text=True)


def test_user_text_is_escaped(member_client, make):
    cid = make('<img src=x onerror=alert(1)>', 'hx-get="/evil"')
    html = member_client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'hx-get="/evil"' not in html


class InlinePanelsPlugin:
    """Panels marked inline: one the page can render itself, and four it must leave to load lazily."""

    @hookimpl
    def contacts_contact_panels(self, contact, user):
        history = f"/contacts/{contact.id}/status-history"
        return [
            Panel("in-page", "In page", history, order=1, inline=True),
            Panel("with-query", "With a query", history + "?cursor=abc", order=2, inline=True),
            Panel("no-route", "No route", f"/nowhere/{contact.id}", order=3, inline=True),
            Panel("stricter", "Admins only", "/admin/", order=4, inline=True),
            Panel("not-visible", "Another contact", f"/contacts/{contact.id + 1000}/status-history", order=5, inline=True),
        ]


def _section(html: str, key: str) -> str:
    start = html.index(f'id="panel-{key}"')
    return html[html.rindex("<section", 0, start):html.index("</section>", start)]


def test_inline_panels_render_in_the_page_or_fall_back_to_loading_lazily(app, member_client, make):
    cid = make("Ada", "Lovelace")
    plugin = InlinePanelsPlugin()
    app.extensions["contacts_pm"].register(plugin, name="inline-panels-test-plugin")
    try:
        html = member_client.get(f"/contacts/{cid}").get_data(as_text=True)
        details = member_client.get(f"/contacts/{cid}", headers=HX).get_data(as_text=True)
    finally:
        app.extensions["contacts_pm"].unregister(plugin)
    in_page = _section(html, "in-page")
    assert 'id="status-history"' in in_page and 'hx-trigger="load"' not in in_page and "Loading…" not in in_page
    assert f'hx-get="/contacts/{cid}/status-history"' in in_page  # the body still reloads itself from its URL
    for key, url in (("with-query", f"/contacts/{cid}/status-history?cursor=abc"), ("no-route", f"/nowhere/{cid}"),
                     ("stricter", "/admin/"), ("not-visible", f"/contacts/{cid + 1000}/status-history")):
        lazy = _section(html, key)
        assert f'hx-get="{url}" hx-trigger="load"' in lazy and "Loading…" in lazy, key
    assert 'id="panel-in-page"' not in details  # the details block alone (htmx) renders no panel
