"""The HTML side of tags, groups and categories: the contact form fields, chips in rows (one
extra query a page), the autocomplete, the manage pages, the group page and panel, filters."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event, select

from core.extensions import db
from core.models import Contact, GroupMember, User
from core.services import categories, groups, tags
from tests import factories

HX = {"HX-Request": "true"}


@pytest.fixture
def make(app, team):
    def _make(first="Ada", last=None, owner=None, **extra):
        with app.app_context():
            return factories.contact(db.session.merge(owner or team), first, last, **extra).id

    return _make


def _as(app, user, fn):
    with app.test_request_context():
        return fn(db.session.get(User, user.id))


def test_contact_form_sets_tags_groups_and_category(app, member_client, admin, member, make):
    cid = make("Ada", "Lovelace")
    group_id = _as(app, member, lambda u: groups.create_group(u, {"name": "Board"}).id)
    cat_id = _as(app, admin, lambda u: categories.create_category(u, {"name": "Suppliers"}).id)
    form = member_client.get(f"/contacts/{cid}/edit").get_data(as_text=True)
    assert 'name="tags"' in form and 'hx-get="/tags/options"' in form
    assert re.search(rf'<option value="{group_id}"\s*>Board</option>', form)
    assert f'<option value="{cat_id}">Suppliers</option>' in form
    response = member_client.post(f"/contacts/{cid}/edit", headers=HX, data={
        "first_name": "Ada", "tags": "VIP, Golf", "group_ids": ["", str(group_id)], "category_id": str(cat_id)})
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        assert [t.name for t in tags.tags_of([cid])[cid]] == ["Golf", "VIP"]
        assert db.session.get(Contact, cid).category_id == cat_id
        assert db.session.scalars(select(GroupMember.group_id).where(GroupMember.contact_id == cid)).all() == [group_id]
    page = member_client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert 'class="chip"' in page and ">VIP</a>" in page and ">Suppliers</a>" in page
    again = member_client.get(f"/contacts/{cid}/edit").get_data(as_text=True)
    assert 'value="Golf, VIP"' in again and 'data-tag-name="VIP"' in again
    # clearing: no group selected (the hidden empty value) and no tags
    member_client.post(f"/contacts/{cid}/edit", data={"first_name": "Ada", "tags": "", "group_ids": [""],
                                                      "category_id": ""})
    with app.app_context():
        assert tags.tags_of([cid]) == {} and db.session.get(Contact, cid).category_id is None
        assert db.session.scalars(select(GroupMember)).all() == []


def test_bad_taxonomy_values_are_422_naming_the_field(member_client, make):
    cid = make()
    response = member_client.post(f"/contacts/{cid}/edit", headers=HX, data={
        "first_name": "Ada", "tags": "ok, " + "x" * 60, "category_id": "99999"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="tags-error"' in html or 'id="category_id-error"' in html
    response = member_client.post(f"/contacts/{cid}/edit", headers=HX, data={"first_name": "Ada", "group_ids": ["abc"]})
    assert response.status_code == 422 and 'id="group_ids-error"' in response.get_data(as_text=True)


def test_list_rows_show_chips_with_one_extra_query_and_filter_by_tag(app, member_client, member, make):
    ids = [make(f"P{i}", "Smith") for i in range(6)]
    _as(app, member, lambda u: tags.add_tags(u, ids[:3], ["vip"]))
    _as(app, member, lambda u: tags.add_tags(u, ids, ["all"]))
    member_client.get("/")  # warm caches
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            html = member_client.get("/", headers={"Cache-Control": "no-cache"}).get_data(as_text=True)  # rendered
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert html.count(">vip</a>") == 3 and html.count(">all</a>") == 6
    assert len([s for s in statements if "contact_tags" in s]) == 1
    with app.app_context():
        vip_id = tags.find("vip").id
    filtered = member_client.get(f"/?tag={vip_id}", headers=HX).get_data(as_text=True)
    assert len(re.findall(r'<tr id="contact-', filtered)) == 3
    index = member_client.get("/").get_data(as_text=True)
    assert 'id="filter-tag"' in index
    # No group or category exists yet: a filter with nothing to choose is left out of the toolbar.
    assert 'id="filter-group"' not in index and 'id="filter-category"' not in index
    assert member_client.get("/?tag=nope").status_code == 422


def test_autocomplete_offers_tags_and_creating_a_new_one(app, member_client, viewer_client, member, make):
    _as(app, member, lambda u: tags.create_tag(u, {"name": "Vintage"}))
    html = member_client.get("/tags/options?q=vin", headers=HX).get_data(as_text=True)
    assert 'data-add-tag="Vintage"' in html and "Create tag “vin”" in html
    exact = member_client.get("/tags/options?q=VINTAGE", headers=HX).get_data(as_text=True)
    assert 'data-add-tag="Vintage"' in exact and "Create tag" not in exact
    assert member_client.get("/tags/options?q=", headers=HX).get_data(as_text=True).strip() == ""
    assert "Create tag" not in viewer_client.get("/tags/options?q=new", headers=HX).get_data(as_text=True)


def test_tags_page_counts_rename_recolour_delete(app, admin_client, member_client, member, make):
    ids = [make(f"P{i}") for i in range(3)]
    _as(app, member, lambda u: tags.add_tags(u, ids, ["old"]))
    with app.app_context():
        tag_id = tags.find("old").id
    page = admin_client.get("/tags").get_data(as_text=True)
    assert f'id="tag-{tag_id}"' in page and ">3</a>" in page and f'action="/tags/{tag_id}/edit"' in page
    assert f'action="/tags/{tag_id}/edit"' not in member_client.get("/tags").get_data(as_text=True)
    assert member_client.post(f"/tags/{tag_id}/edit", data={"name": "x"}).status_code == 403
    row = admin_client.post(f"/tags/{tag_id}/edit", headers=HX, data={"name": "New", "color": "green"})
    assert row.status_code == 200 and ">New</span>" in row.get_data(as_text=True)
    _as(app, member, lambda u: tags.create_tag(u, {"name": "Other"}))
    clash = admin_client.post(f"/tags/{tag_id}/edit", headers=HX, data={"name": "other", "color": "green"})
    assert clash.status_code == 422 and "exists already" in clash.get_data(as_text=True)
    assert admin_client.post(f"/tags/{tag_id}/delete", headers=HX).status_code == 200
    with app.app_context():
        assert tags.tags_of(ids) == {}


def test_group_pages_and_contact_panel(app, member_client, outsider_client, member, make):
    a, b = make("Ann", "Alpha"), make("Bob", "Beta")
    created = member_client.post("/groups", headers=HX, data={"name": "Board", "description": "d"})
    assert created.status_code == 200 and created.headers["HX-Redirect"].startswith("/groups/")
    gid = int(created.headers["HX-Redirect"].rsplit("/", 1)[1])
    assert member_client.post("/groups", headers=HX, data={"name": "board"}).status_code == 422
    assert "Board" in member_client.get("/groups").get_data(as_text=True)
    found = member_client.get(f"/groups/{gid}/search?q=ann", headers=HX).get_data(as_text=True)
    assert "Ann Alpha" in found and "Bob" not in found
    assert member_client.post(f"/groups/{gid}/members", headers=HX, data={"contact_id": str(a)}).status_code == 200
    panel = member_client.get(f"/contacts/{b}/groups", headers=HX).get_data(as_text=True)
    assert f'<option value="{gid}">Board</option>' in panel
    added = member_client.post(f"/contacts/{b}/groups", headers=HX, data={"group_id": str(gid)})
    assert added.status_code == 200 and f"/groups/{gid}/members/{b}/delete" in added.get_data(as_text=True)
    assert member_client.post(f"/contacts/{b}/groups", headers=HX, data={"group_id": "x"}).status_code == 422
    show = member_client.get(f"/groups/{gid}").get_data(as_text=True)
    assert "Ann Alpha" in show and "Bob Beta" in show
    removed = member_client.post(f"/groups/{gid}/members/{b}/delete", headers=HX, data={"from": "contact"})
    assert removed.status_code == 200 and "Not in any group." in removed.get_data(as_text=True)
    assert outsider_client.get(f"/groups/{gid}").status_code == 404
    assert member_client.post(f"/groups/{gid}/edit", headers=HX, data={"name": "Directors"}).status_code == 200
    assert member_client.post(f"/groups/{gid}/delete", headers=HX).headers["HX-Redirect"] == "/groups"


def test_removing_the_last_member_says_the_group_is_empty(app, member_client, member, make):
    a, b = make("Ann", "Alpha"), make("Bob", "Beta")
    gid = _as(app, member, lambda u: groups.create_group(u, {"name": "Pair"}).id)
    _as(app, member, lambda u: groups.add_to_group(u, [a, b], gid))
    assert "No contacts in this group yet." not in member_client.get(f"/groups/{gid}").get_data(as_text=True)
    first = member_client.post(f"/groups/{gid}/members/{a}/delete", headers=HX)
    assert first.status_code == 200 and first.get_data(as_text=True) == ""  # the row goes; Bob is still there
    last = member_client.post(f"/groups/{gid}/members/{b}/delete", headers=HX).get_data(as_text=True)
    assert 'id="members-empty" hx-swap-oob="true"' in last and "No contacts in this group yet." in last


def test_a_removed_member_can_be_added_again_from_the_search(app, member_client, member, make):
    """The search results said "Added" after a removal: they now re-read on groupMembersChanged."""
    a = make("Ann", "Alpha")
    gid = _as(app, member, lambda u: groups.create_group(u, {"name": "Pair"}).id)
    assert member_client.post(f"/groups/{gid}/members", headers=HX, data={"contact_id": str(a)}).status_code == 200
    results = member_client.get(f"/groups/{gid}/search?q=ann", headers=HX).get_data(as_text=True)
    assert 'hx-trigger="groupMembersChanged from:body" hx-include="#group-search"' in results and "In group" in results
    removed = member_client.post(f"/groups/{gid}/members/{a}/delete", headers=HX)
    assert json.loads(removed.headers["HX-Trigger"]) == {"groupMembersChanged": True}
    again = member_client.get(f"/groups/{gid}/search?q=ann", headers=HX).get_data(as_text=True)
    assert "In group" not in again and f'name="contact_id" value="{a}"' in again


def test_group_page_pages_its_members(app, member_client, member, make):
    ids = [make(f"P{i:02d}") for i in range(55)]
    gid = _as(app, member, lambda u: groups.create_group(u, {"name": "Many"}).id)
    _as(app, member, lambda u: groups.add_to_group(u, ids, gid))
    first = member_client.get(f"/groups/{gid}").get_data(as_text=True)
    assert first.count('<li id="member-') == 50
    more = re.search(r'hx-get="(/groups/\d+\?cursor=[^"]+)"', first).group(1)
    rest = member_client.get(more.replace("&amp;", "&"), headers=HX).get_data(as_text=True)
    assert rest.count('<li id="member-') == 5 and "Load more" not in rest


def test_an_empty_category_tree_tells_members_who_adds_categories(admin_client, member_client):
    assert "Administrators add them here" in member_client.get("/categories").get_data(as_text=True)
    assert "Administrators add them" not in admin_client.get("/categories").get_data(as_text=True)  # the form is there


def test_categories_page_for_admins(app, admin_client, member_client):
    assert admin_client.post("/categories", headers=HX, data={"name": "Top"}).status_code == 200
    with app.app_context():
        top = categories.all_categories()[0].id
    assert admin_client.post("/categories", headers=HX, data={"name": "Child", "parent_id": str(top)}).status_code == 200
    with app.app_context():
        child = [c.id for c in categories.all_categories() if c.name == "Child"][0]
    cycle = admin_client.post(f"/categories/{top}/edit", headers=HX, data={"name": "Top", "parent_id": str(child)})
    assert cycle.status_code == 422 and "cannot be moved under itself" in cycle.get_data(as_text=True)
    page = admin_client.get("/categories").get_data(as_text=True)
    assert "Top" in page and "Child" in page and "New category" in page
    assert "New category" not in member_client.get("/categories").get_data(as_text=True)
    assert member_client.post("/categories", data={"name": "X"}).status_code == 403
    assert admin_client.post("/categories", headers=HX, data={"name": "child"}).status_code == 200
    refused = admin_client.post(f"/categories/{top}/delete", headers=HX)
    assert refused.status_code == 409 and "Rename or move one of them first" in refused.get_data(as_text=True)
    assert 'id="category-tree"' in refused.get_data(as_text=True)  # the tree again, with the reason
    admin_client.post(f"/categories/{child}/edit", headers=HX, data={"name": "Kid", "parent_id": str(top)})
    assert admin_client.post(f"/categories/{top}/delete", headers=HX).status_code == 200


def test_a_new_category_without_a_name_says_so_under_the_name(admin_client):
    response = admin_client.post("/categories", data={"name": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'aria-describedby="new-cat-name-error"' in html
    assert '<p class="field-error" id="new-cat-name-error" role="alert">' in html


def test_the_groups_panel_offers_to_create_a_group_when_there_is_none(app, member_client, viewer_client, member, make):
    cid = make("Ann", "Alpha")
    empty = member_client.get(f"/contacts/{cid}/groups", headers=HX).get_data(as_text=True)
    assert "Not in any group." in empty and 'href="/groups/new">create a group</a>' in empty
    assert "create a group" not in viewer_client.get(f"/contacts/{cid}/groups", headers=HX).get_data(as_text=True)
    gid = _as(app, member, lambda u: groups.create_group(u, {"name": "Board"}).id)
    offered = member_client.get(f"/contacts/{cid}/groups", headers=HX).get_data(as_text=True)
    assert f'<option value="{gid}">Board</option>' in offered and "create a group" not in offered
