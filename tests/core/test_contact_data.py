"""Status history, preferences (with a plugin-registered field), contact templates and the merge
contract for custom values, preferences and status history."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core import hookimpl
from core.errors import PermissionDenied, ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, ContactPreference, ContactStatusChange, CustomFieldValue, utcnow
from core.services import contact_templates as templates
from core.services import contacts as service
from core.services import custom_field_queries as queries
from core.services import custom_fields as cf
from core.services import groups, preferences, status_history
from core.ui import PreferenceField
from tests.core.test_api_contacts import Api, make_token


def relay(app):
    return app.extensions["contacts_pm"].hook


# --- status history --------------------------------------------------------------------------


def test_status_history_records_create_and_changes_with_reason(ctx, member):
    c = service.create_contact(member, {"first_name": "A", "status": "lead"})
    service.update_contact(member, c.id, {"first_name": "B"}, None)  # no status change: no entry
    service.update_contact(member, c.id, {"status": "active", "status_reason": "Signed"}, None)
    entries = status_history.history(member, c.id)
    assert [(e["from_status"], e["to_status"], e["reason"]) for e in entries] == [("lead", "active", "Signed"), (None, "lead", "")]
    assert entries[0]["actor_id"] == member.id


def test_status_history_is_written_in_the_same_transaction(ctx, member):
    c = service.create_contact(member, {"first_name": "A", "status": "lead"})
    with pytest.raises(ValidationError):
        service.update_contact(member, c.id, {"status": "active", "email": "broken"}, None)
    assert db.session.scalar(select(db.func.count()).select_from(ContactStatusChange)) == 1


def test_status_reason_is_checked(ctx, member):
    c = service.create_contact(member, {"first_name": "A"})
    with pytest.raises(ValidationError) as exc:
        service.update_contact(member, c.id, {"status": "active", "status_reason": "x" * 501}, None)
    assert list(exc.value.errors) == ["status_reason"]


def test_record_many_for_bulk_actions(ctx, member):
    a = service.create_contact(member, {"first_name": "A", "status": "lead"})
    b = service.create_contact(member, {"first_name": "B", "status": "active"})
    from core.database import transaction

    with transaction():
        status_history.record_many(member, [(a.id, "lead", "inactive"), (b.id, "active", "active")], "cleanup")
    assert [e["to_status"] for e in status_history.history(member, a.id)] == ["inactive", "lead"]
    assert len(status_history.history(member, b.id)) == 1


def test_status_changed_in_the_last_n_days_filter(ctx, member):
    old = service.create_contact(member, {"first_name": "Old"})
    service.create_contact(member, {"first_name": "New"})
    with db.session.begin_nested():
        db.session.execute(update(ContactStatusChange).where(ContactStatusChange.contact_id == old.id)
                           .values(changed_at=utcnow() - timedelta(days=40)))
    db.session.commit()
    found = {f.key: f for f in queries.search_filters()}["status_changed_days"]

    def names(days):
        page = service.list_contacts(member, extra_filters=[lambda s: found.apply(s, days)])
        return [c.first_name for c in page.items]

    assert names("7") == ["New"] and sorted(names("90")) == ["New", "Old"]
    service.update_contact(member, old.id, {"status": "inactive"}, None)
    assert sorted(names("1")) == ["New", "Old"]
    for bad in ("0", "x", "99999"):
        with pytest.raises(ValidationError):
            names(bad)


def test_status_history_panel_and_api(app, member_client, member, team):
    with app.test_request_context():
        c = service.create_contact(db.session.merge(member), {"first_name": "A", "status": "lead"})
        service.update_contact(db.session.merge(member), c.id, {"status": "active", "status_reason": "Won"}, None)
        cid = c.id
    page = member_client.get(f"/contacts/{cid}").get_data(as_text=True)
    assert f"/contacts/{cid}/status-history" in page and f"/contacts/{cid}/preferences" in page
    panel = member_client.get(f"/contacts/{cid}/status-history").get_data(as_text=True)
    assert "Won" in panel and "Lead" in panel and "Active" in panel
    api = Api(app, make_token(app, member))
    items = api.get(f"/api/v1/contacts/{cid}/status-history").get_json()["items"]
    assert [(i["from_status"], i["to_status"]) for i in items] == [("lead", "active"), (None, "lead")]
    form = member_client.post(f"/contacts/{cid}/edit", data={"first_name": "A", "status": "inactive",
                                                             "status_reason": "Gone quiet"})
    assert form.status_code == 302
    assert "Gone quiet" in member_client.get(f"/contacts/{cid}/status-history").get_data(as_text=True)


def test_other_teams_history_is_invisible(app, ctx, member, outsider):
    c = service.create_contact(member, {"first_name": "A"})
    from core.errors import NotFound

    with pytest.raises(NotFound):
        status_history.history(outsider, c.id)
    with pytest.raises(NotFound):
        preferences.get_preferences(outsider, c.id)


# --- preferences -----------------------------------------------------------------------------


class ChannelPlugin:
    @hookimpl
    def contacts_preference_fields(self):
        def clean(value):
            if value == "pigeon":
                raise ValueError("No pigeons.")
            return value

        return [PreferenceField("test_channel", "Preferred channel", clean=clean, order=40),
                PreferenceField("test_pet", "Pet", options=lambda: [("cat", "Cat"), ("dog", "Dog")], order=41)]


@pytest.fixture
def channel_plugin(app):
    pm = app.extensions["contacts_pm"]
    plugin = ChannelPlugin()
    pm.register(plugin, name="channel-test-plugin")
    yield plugin
    pm.unregister(plugin)


def test_contacts_preference_fields_from_core_and_a_plugin(app, ctx, channel_plugin):
    keys = [f.key for f in preferences.fields()]
    assert [k for k in keys if not k.startswith("communications_")] == [
        "language", "timezone", "contact_time", "test_channel", "test_pet"]
    answered = [f.key for fs in relay(app).contacts_preference_fields() for f in fs]
    assert set(answered) == set(keys)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"language": "english please"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "europe/berlin"}, "timezone"),
        ({"contact_time": "midnight"}, "contact_time"),
        ({"test_channel": "pigeon"}, "test_channel"),
        ({"test_pet": "snake"}, "test_pet"),
        ({"nope": "x"}, "nope"),
        ({"language": "x" * 201}, "language"),
        ({"language": 5}, "language"),
    ],
)
def test_preference_validation_names_the_field(ctx, member, channel_plugin, data, field):
    c = service.create_contact(member, {"first_name": "A"})
    with pytest.raises(ValidationError) as exc:
        preferences.set_preferences(member, c.id, data)
    assert list(exc.value.errors) == [field]


def test_preferences_set_clear_and_audit(ctx, member, viewer, channel_plugin):
    c = service.create_contact(member, {"first_name": "A"})
    saved = preferences.set_preferences(member, c.id, {"language": "PT-br", "timezone": "Europe/Berlin",
                                                       "test_channel": "sms", "test_pet": "cat"})
    assert saved == {"language": "pt-BR", "timezone": "Europe/Berlin", "test_channel": "sms", "test_pet": "cat"}
    assert preferences.set_preferences(member, c.id, {"test_pet": "", "language": "pt-BR"}) == {
        "language": "pt-BR", "timezone": "Europe/Berlin", "test_channel": "sms"}
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == c.id, AuditEntry.action == "updated")).all()
    assert [e.changes for e in entries][-1] == {"preference.test_pet": ["cat", None]}
    with pytest.raises(PermissionDenied):
        preferences.set_preferences(viewer, c.id, {"language": "de"})


def test_preferences_panel_form_and_api(app, member, member_client, channel_plugin):
    with app.test_request_context():
        cid = service.create_contact(db.session.merge(member), {"first_name": "A"}).id
    panel = member_client.get(f"/contacts/{cid}/preferences").get_data(as_text=True)
    assert "Preferred channel" in panel and "Time zone" in panel and "Edit preferences" in panel
    form = member_client.get(f"/contacts/{cid}/preferences/edit").get_data(as_text=True)
    assert 'name="test_pet"' in form and 'name="timezone"' in form
    bad = member_client.post(f"/contacts/{cid}/preferences/edit", data={"timezone": "Nowhere"})
    assert bad.status_code == 422 and 'id="timezone-error"' in bad.get_data(as_text=True)
    ok = member_client.post(f"/contacts/{cid}/preferences/edit", data={"timezone": "Asia/Tokyo", "test_pet": "dog"},
                            headers={"HX-Request": "true"})
    assert ok.status_code == 200 and "contact-changed" in ok.headers["HX-Trigger"]
    assert "Asia/Tokyo" in member_client.get(f"/contacts/{cid}/preferences").get_data(as_text=True)
    api = Api(app, make_token(app, member))
    assert api.get(f"/api/v1/contacts/{cid}/contact-preferences").get_json() == {
        "preferences": {"timezone": "Asia/Tokyo", "test_pet": "dog"}}
    bad = api.patch(f"/api/v1/contacts/{cid}/contact-preferences", json={"preferences": {"test_channel": "pigeon"}})
    assert bad.status_code == 422 and "test_channel" in bad.get_json()["errors"]["json"]
    ok = api.patch(f"/api/v1/contacts/{cid}/contact-preferences", json={"preferences": {"test_pet": None, "language": "de"}})
    assert ok.get_json() == {"preferences": {"timezone": "Asia/Tokyo", "language": "de"}}


# --- templates -------------------------------------------------------------------------------


@pytest.fixture
def tier(ctx, admin):
    return cf.create_field(admin, {"key": "tier", "label": "Tier", "kind": "choice", "choices": "gold\nsilver",
                                   "required": True})


def test_templates_validate_and_are_managed_by_admins_and_managers(tier, admin, manager, member, team):
    with pytest.raises(PermissionDenied):
        templates.create_template(member, {"name": "X"})
    for data, field in [({"name": ""}, "name"), ({"name": "X", "type": "alien"}, "type"),
                        ({"name": "X", "status": "zombie"}, "status"), ({"name": "X", "owner_team_id": 99999}, "owner_team_id"),
                        ({"name": "X", "custom_fields": {"tier": "diamond"}}, "custom.tier"),
                        ({"name": "X", "tags": [1]}, "tags"), ({"name": "X", "group_ids": ["a"]}, "group_ids"),
                        ({"name": "X", "group_ids": [99999]}, "group_ids"),
                        ({"name": "X", "custom_fields": {"nope": "1"}}, "custom.nope"),
                        ({"name": "X", "colour": "red"}, "colour")]:
        with pytest.raises(ValidationError) as exc:
            templates.create_template(manager, data)
        assert field in exc.value.errors, data
    g4, g5 = (groups.create_group(manager, {"name": n}).id for n in ("Four", "Five"))
    t = templates.create_template(manager, {"name": "Supplier", "type": "supplier", "status": "lead",
                                            "owner_team_id": db.session.merge(team).id,
                                            "custom_fields": {"tier": "silver"}, "tags": "vip, Vip, north",
                                            "group_ids": f"{g4} {g5}"})
    assert (t.custom, t.tags, t.group_ids) == ({"tier": "silver"}, ["vip", "north"], [g4, g5])
    with pytest.raises(ValidationError) as exc:  # an update may not add a dangling group either
        templates.update_template(manager, t.id, {"group_ids": [g4, 99999]})
    assert exc.value.errors == {"group_ids": ["No such group (99999)."]}
    with pytest.raises(ValidationError):
        templates.create_template(admin, {"name": "Supplier"})
    templates.update_template(admin, t.id, {"tags": []})
    templates.delete_template(manager, t.id)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "contact_template")).all()
    assert actions == ["created", "updated", "deleted"]


def test_a_template_lets_go_of_a_deleted_group_and_a_removed_choice(tier, admin, manager, team):
    """A template kept the ids of deleted groups and the defaults of removed choices: the new-contact
    form then dropped them without a word. Deleting the group or removing the choice takes them out
    of every template, in the same transaction, audited on the template."""
    size = cf.create_field(admin, {"key": "sizes", "label": "Sizes", "kind": "multi_choice", "choices": "s\nm\nl"})
    keep, gone = (groups.create_group(manager, {"name": n}).id for n in ("Keep", "Gone"))
    t = templates.create_template(manager, {"name": "Shop", "group_ids": [keep, gone],
                                            "custom_fields": {"tier": "silver", "sizes": ["s", "l"]}})
    groups.delete_group(manager, gone)
    cf.update_field(admin, size.id, {"choices": "s\nm"})  # "l" goes
    cf.update_field(admin, tier.id, {"choices": "gold"})  # "silver" goes (no contact uses it)
    db.session.expire_all()
    t = templates.get_template(manager, t.id)
    assert (t.group_ids, t.custom) == ([keep], {"sizes": ["s"]})
    assert templates.stale(t) == []
    changes = [e.changes for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.entity_type == "contact_template", AuditEntry.action == "updated").order_by(AuditEntry.id))]
    assert [sorted(c) for c in changes] == [["group_ids"], ["custom"], ["custom"]]
    assert changes[0]["group_ids"] == [str([keep, gone]), str([keep])]  # as every list in the audit


def test_the_template_editor_names_what_a_template_points_at_that_is_gone(app, tier, manager, client_for):
    """Templates saved before the clean-up above may still name a deleted group or a removed
    choice: the editor says so (they are left out of new contacts) and saving drops them."""
    from core.models import ContactTemplate

    t = templates.create_template(manager, {"name": "Old", "custom_fields": {"tier": "gold"}})
    db.session.execute(update(ContactTemplate).where(ContactTemplate.id == t.id)
                       .values(group_ids=[424242], custom={"tier": "platinum"}))
    db.session.commit()
    client = client_for(manager)
    page = client.get(f"/admin/contact-templates/{t.id}").get_data(as_text=True)
    assert "This template still names what no longer exists: group #424242, Tier “platinum”." in page
    api = Api(app, make_token(app, manager))
    assert api.get(f"/api/v1/contact-templates/{t.id}").get_json()["stale"] == [
        "group #424242", "Tier “platinum”"]
    assert client.post(f"/admin/contact-templates/{t.id}", data={"name": "Old", "cf_tier": ""}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(ContactTemplate, t.id).group_ids, db.session.get(ContactTemplate, t.id).custom) == ([], {})


def test_template_prefills_the_new_contact_form(app, tier, manager, member_client, team):
    seven = groups.create_group(manager, {"name": "Seven"}).id
    t = templates.create_template(manager, {"name": "Supplier", "type": "supplier", "status": "lead",
                                            "owner_team_id": db.session.merge(team).id,
                                            "custom_fields": {"tier": "silver"}, "tags": ["vip", "north"],
                                            "group_ids": [seven]})
    db.session.commit()
    blank = member_client.get("/contacts/new").get_data(as_text=True)
    assert f'/contacts/new?template={t.id}' in blank and "Supplier" in blank
    html = member_client.get(f"/contacts/new?template={t.id}").get_data(as_text=True)
    assert '<option value="supplier" selected>' in html and '<option value="lead" selected>' in html
    assert '<option value="silver" selected>' in html
    values = templates.form_values(db.session.merge(manager), t)
    assert values["tags"] == "vip, north" and values["group_ids"] == [str(seven)] and values["cf_tier"] == "silver"
    assert member_client.get("/contacts/new?template=999").status_code == 200  # unknown: a blank form


def test_templates_api_and_admin_page(app, admin, manager, member, team):
    with app.app_context(), app.test_request_context():
        cf.create_field(db.session.merge(admin), {"key": "size", "label": "Size", "kind": "number"})
    api = Api(app, make_token(app, manager))
    made = api.post("/api/v1/contact-templates", json={"name": "Big", "custom_fields": {"size": "44"}, "tags": ["x"]})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["custom_fields"] == {"size": 44} and made.headers["Location"].endswith(f"/{body['id']}")
    assert api.post("/api/v1/contact-templates", json={"name": "Bad", "custom_fields": {"size": "big"}}).status_code == 422
    dangling = api.post("/api/v1/contact-templates", json={"name": "Bad", "group_ids": [424242]})
    assert dangling.status_code == 422 and "group_ids" in json.dumps(dangling.get_json())
    assert api.patch(f"/api/v1/contact-templates/{body['id']}", json={"status": "active"}).get_json()["status"] == "active"
    member_api = Api(app, make_token(app, member))
    assert [t["name"] for t in member_api.get("/api/v1/contact-templates").get_json()["items"]] == ["Big"]
    assert member_api.delete(f"/api/v1/contact-templates/{body['id']}").status_code == 403
    assert api.delete(f"/api/v1/contact-templates/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/contact-templates/{body['id']}").status_code == 404


def test_templates_admin_page(app, manager, client_for, team):
    client = client_for(manager)
    assert client.get("/admin/contact-templates").status_code == 200
    bad = client.post("/admin/contact-templates", data={"name": "", "type": "person"})
    assert bad.status_code == 422
    ok = client.post("/admin/contact-templates", data={"name": "Partner", "type": "partner", "tags": "a, b"})
    assert ok.status_code == 302
    assert "Partner" in client.get("/admin/contact-templates").get_data(as_text=True)


def test_the_template_form_offers_groups_by_name(app, manager, client_for, team):
    from core.models import ContactTemplate, User

    with app.test_request_context():
        actor = db.session.get(User, manager.id)
        vips, news = (groups.create_group(actor, {"name": name}).id for name in ("VIPs", "Newsletter"))
    client = client_for(manager)
    form = client.get("/admin/contact-templates").get_data(as_text=True)
    assert f'name="group_ids" value="{vips}"> VIPs' in form and f'name="group_ids" value="{news}"> Newsletter' in form
    assert client.post("/admin/contact-templates", data={"name": "Both", "group_ids": [str(vips), str(news)]}).status_code == 302
    with app.app_context():
        made = db.session.scalar(select(ContactTemplate).where(ContactTemplate.name == "Both"))
        assert sorted(made.group_ids) == sorted([vips, news])
    edit = client.get(f"/admin/contact-templates/{made.id}").get_data(as_text=True)
    assert f'value="{vips}" checked> VIPs' in edit
    gone = client.post("/admin/contact-templates", data={"name": "Gone", "group_ids": [str(vips), "424242"]})
    page = gone.get_data(as_text=True)
    assert gone.status_code == 422 and 'id="group_ids-error">No such group (424242).' in page
    assert f'value="{vips}" checked> VIPs' in page  # the choice is kept for the next try


def test_a_managers_save_keeps_the_groups_of_a_template_they_may_not_see(app, admin, manager, outsider, client_for):
    """An admin's template names a group of another team; the manager's editor cannot show it, so
    neither the page's save nor the API's (sending back what it read) drops it or is refused."""
    from core.models import User

    with app.test_request_context():
        mine = groups.create_group(db.session.get(User, manager.id), {"name": "Ours"}).id
        theirs = groups.create_group(db.session.get(User, outsider.id), {"name": "Theirs"}).id
        t = templates.create_template(db.session.get(User, admin.id), {"name": "Both", "group_ids": [mine, theirs]})
        t_id = t.id
    client = client_for(manager)
    edit = client.get(f"/admin/contact-templates/{t_id}").get_data(as_text=True)
    assert "Theirs" not in edit
    saved = client.post(f"/admin/contact-templates/{t_id}", data={"name": "Both renamed"})  # no box checked
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        assert templates.get_template(db.session.get(User, admin.id), t_id).group_ids == [theirs]
    api = Api(app, make_token(app, manager))
    read = api.get(f"/api/v1/contact-templates/{t_id}").get_json()
    answer = api.patch(f"/api/v1/contact-templates/{t_id}", json={"group_ids": read["group_ids"] + [mine]})
    assert answer.status_code == 200, answer.get_json()
    with app.app_context():
        assert sorted(templates.get_template(db.session.get(User, admin.id), t_id).group_ids) == sorted([mine, theirs])


# --- merge contract --------------------------------------------------------------------------


def _rows(contact_id):
    db.session.expire_all()
    values = sorted(db.session.execute(select(
        CustomFieldValue.id, CustomFieldValue.field_id, CustomFieldValue.value_text, CustomFieldValue.value_number)
        .where(CustomFieldValue.contact_id == contact_id)).all())
    prefs = sorted(db.session.execute(select(ContactPreference.key, ContactPreference.value)
                                      .where(ContactPreference.contact_id == contact_id)).all())
    history = sorted(db.session.execute(select(ContactStatusChange.id, ContactStatusChange.to_status)
                                        .where(ContactStatusChange.contact_id == contact_id)).all())
    return {"values": values, "prefs": prefs, "history": history}


def test_contacts_contacts_merged_and_unmerged_round_trip(app, ctx, admin, member):
    cf.create_field(admin, {"key": "nick", "label": "Nick", "kind": "text"})
    cf.create_field(admin, {"key": "size", "label": "Size", "kind": "number"})
    cf.create_field(admin, {"key": "topics", "label": "Topics", "kind": "multi_choice", "choices": "a\nb"})
    target = service.create_contact(member, {"first_name": "T", "status": "lead", "custom_fields": {"nick": "Tee"}})
    source = service.create_contact(member, {"first_name": "S", "status": "active",
                                             "custom_fields": {"nick": "Ess", "size": 9, "topics": ["a", "b"]}})
    service.update_contact(member, source.id, {"status": "inactive"}, None)
    preferences.set_preferences(member, target.id, {"language": "en"})
    preferences.set_preferences(member, source.id, {"language": "de", "timezone": "Europe/Rome"})
    before = {cid: _rows(cid) for cid in (target.id, source.id)}

    target, source = db.session.get(Contact, target.id), db.session.get(Contact, source.id)
    undo = {}
    for answer in relay(app).contacts_contacts_merged(target=target, source=source, actor=member):
        undo.update(answer)
    db.session.commit()
    undo = json.loads(json.dumps(undo))
    assert "core_contact_data" in undo
    assert cf.values_of([target.id])[target.id] == {"nick": "Tee", "size": 9, "topics": ["a", "b"]}
    assert preferences.get_preferences(member, target.id) == {"language": "en", "timezone": "Europe/Rome"}
    assert sorted(e["to_status"] for e in status_history.history(member, target.id)) == ["active", "inactive", "lead"]
    assert _rows(source.id)["history"] == []

    target, source = db.session.get(Contact, target.id), db.session.get(Contact, source.id)
    relay(app).contacts_contacts_unmerged(target=target, source=source, actor=member, undo=undo)
    db.session.commit()
    after = {cid: _rows(cid) for cid in (target.id, source.id)}
    assert after == before
    relay(app).contacts_contacts_unmerged(target=target, source=source, actor=member, undo=undo)  # idempotent
    db.session.commit()
    assert {cid: _rows(cid) for cid in (target.id, source.id)} == before


def test_merge_with_nothing_to_move_answers_none(app, ctx, member):
    from tests import factories

    t = db.session.merge(member).teams[0]
    a, b = factories.contact(t, "A"), factories.contact(t, "B")
    from core import contact_data_hooks

    assert contact_data_hooks.contacts_contacts_merged(target=a, source=b, actor=member) is None
