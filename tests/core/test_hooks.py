"""Every hook is called by the core where the guide says, and the answers are used.

A recording plugin is registered on the session app for the duration of a test; being
registered last, it is called first (pluggy's order), which the ``contacts_permission`` test
relies on.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from flask import Blueprint
from sqlalchemy import select

from core import create_app, hookimpl
from core.access import login_required
from core.database import in_write
from core.errors import PermissionDenied, ValidationError
from core.extensions import db
from core.models import Contact, GroupMember
from core.plugins import collect
from core.services import contacts as contact_service
from core.services import groups
from core.services import organizations as org_service
from core.tasks import enqueue
from core.ui import Action, NavItem, Panel, SearchFilter
from tests import conftest, factories


class Recorder:
    """A plugin that records event hooks and answers the UI and decision hooks."""

    def __init__(self):
        self.calls = []
        self.deny = set()

    def _committed(self, contact_id) -> bool:
        # A separate connection sees only committed rows: proves "after commit".
        with db.engine.connect() as conn:
            return conn.execute(select(Contact.deleted_at).where(Contact.id == contact_id)).first() is not None

    @hookimpl
    def contacts_contact_created(self, contact, actor):
        self.calls.append(("created", contact.id, actor.id, self._committed(contact.id)))

    @hookimpl
    def contacts_contact_updated(self, contact, actor, changes):
        self.calls.append(("updated", contact.id, actor.id, dict(changes)))

    @hookimpl
    def contacts_contact_deleted(self, contact, actor):
        with db.engine.connect() as conn:
            deleted_at = conn.execute(select(Contact.deleted_at).where(Contact.id == contact.id)).scalar()
        self.calls.append(("deleted", contact.id, actor.id, deleted_at is not None))

    @hookimpl
    def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
        self.calls.append(("record", entity_type, entity_id, action))

    @hookimpl
    def contacts_permission(self, user, action, obj):
        return False if action in self.deny else None

    @hookimpl
    def contacts_contact_panels(self, contact, user):
        return [Panel("recorded", "Recorded panel", f"/recorded/panel/{contact.id}", order=99)]

    @hookimpl
    def contacts_contact_actions(self, contact, user):
        return [Action("Send a postcard", f"/recorded/postcard/{contact.id}")]

    @hookimpl
    def contacts_search_filters(self):
        return [SearchFilter("initial", "Last name initial", apply=lambda stmt, v: stmt.where(Contact.last_name.startswith(v)))]


@pytest.fixture
def recorder(app):
    rec = Recorder()
    pm = app.extensions["contacts_pm"]
    pm.register(rec, name="recorder")
    yield rec
    pm.unregister(rec)


def relay(app):
    return app.extensions["contacts_pm"].hook


# --- setup hooks ---------------------------------------------------------------------------------


def test_contacts_blueprints_are_registered(app):
    blueprints = collect(relay(app).contacts_blueprints(app=app))
    names = {bp.name for bp in blueprints}
    assert set(conftest.ALL_PLUGINS) <= names
    for bp in blueprints:
        assert app.blueprints[bp.name] is bp


def test_contacts_migration_dirs_join_the_one_environment(app):
    dirs = collect(relay(app).contacts_migration_dirs())
    assert len(dirs) == len(conftest.ALL_PLUGINS)
    for folder in dirs:
        assert Path(folder).is_dir() and list(Path(folder).glob("*.py"))
        assert not (Path(folder) / "__init__.py").exists()
        assert folder in app.extensions["contacts_migration_dirs"]
    assert app.extensions["contacts_migration_dirs"][0].endswith("migrations/versions")


def _fake_plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))
    return module


def test_contacts_tasks_registers_runnable_tasks(tmp_path_factory):
    from core.tasks import register

    def double(x):
        from flask import current_app

        return (x * 2, current_app.name)  # runs inside an app context

    def contacts_tasks(app, huey):
        register(app, huey, double, name="fake.double")

    app = create_app(conftest.test_config(tmp_path_factory), plugins=[_fake_plugin("taskful", contacts_tasks=contacts_tasks)])
    assert "fake.double" in app.extensions["contacts_tasks"]
    with app.app_context():
        result = enqueue("fake.double", 21)  # immediate mode in tests
        assert result.get() == (42, app.name)


def test_contacts_template_globals_reach_jinja(app):
    for names in relay(app).contacts_template_globals():
        for key, value in (names or {}).items():
            assert app.jinja_env.globals[key] is value
    assert "render_markdown" in app.jinja_env.globals  # collaboration's


def test_contacts_permissions_are_listed_on_the_admin_page(app, admin_client):
    declared = {}
    for answer in relay(app).contacts_permissions():
        declared.update(answer or {})
    assert "note.create" in declared
    body = admin_client.get("/admin/").get_data(as_text=True)
    for action in declared:
        assert action in body


def test_a_plugin_blueprint_route_needs_an_access_rule(tmp_path_factory):
    bp = Blueprint("ruled", __name__, url_prefix="/ruled")

    @bp.get("/open")
    @login_required
    def open_view():
        return "ok"

    @bp.get("/forgotten")
    def forgotten():
        return "should not be served"

    plugin = _fake_plugin("ruled", contacts_blueprints=lambda app: [bp])
    app = create_app(conftest.test_config(tmp_path_factory), plugins=[plugin])
    client = app.test_client()
    assert client.get("/ruled/forgotten").status_code == 403
    assert client.get("/ruled/open").status_code in (302, 401)


# --- UI hooks ------------------------------------------------------------------------------------


def test_contacts_nav_items_appear_in_the_layout(app, member, member_client):
    with app.test_request_context():
        items = collect(relay(app).contacts_nav_items(user=member))
    assert items and all(isinstance(i, NavItem) for i in items)
    body = member_client.get("/").get_data(as_text=True)
    for item in items:
        assert f'href="{item.url}"' in body and item.label in body


def test_contacts_contact_panels_and_actions_on_the_contact_page(app, recorder, team, member_client):
    with app.app_context():
        contact_id = factories.contact(db.session.merge(team), "Grace", "Hopper").id
    body = member_client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert f'hx-get="/recorded/panel/{contact_id}"' in body
    assert "Recorded panel" in body
    # a real plugin's panel, marked inline: its body is in the page, with no lazy request of its own
    notes = body[body.index('id="panel-notes"'):]
    notes = notes[:notes.index("</section>")]
    assert "No notes yet." in notes and 'hx-trigger="load"' not in notes
    assert "Send a postcard" in body  # contacts_contact_actions


def test_contacts_contact_actions_answers_per_contact(app, recorder, team, member):
    with app.test_request_context():
        contact = factories.contact(db.session.merge(team))
        actions = collect(relay(app).contacts_contact_actions(contact=contact, user=member))
    assert Action("Send a postcard", f"/recorded/postcard/{contact.id}") in actions


def test_contacts_search_filters_narrow_the_list(app, recorder, team, member_client):
    with app.app_context():
        t = db.session.merge(team)
        factories.contact(t, "Grace", "Hopper")
        factories.contact(t, "Ada", "Lovelace")
    body = member_client.get("/?initial=Ho").get_data(as_text=True)
    assert "Hopper" in body and "Lovelace" not in body
    with app.app_context():
        keys = {f.key for f in collect(relay(app).contacts_search_filters())}
    assert "initial" in keys


def test_contacts_dashboard_widgets_load_as_fragments(app, member, member_client):
    with app.test_request_context():
        widgets = collect(relay(app).contacts_dashboard_widgets(user=member))
    assert widgets and all(isinstance(w, Panel) for w in widgets)
    for widget in widgets:
        answer = member_client.get(widget.url, headers={"HX-Request": "true"})
        assert answer.status_code == 200
        assert "<html" not in answer.get_data(as_text=True)


# --- event hooks ---------------------------------------------------------------------------------


@pytest.fixture
def lifecycle(ctx, recorder, member):
    """Create, edit, delete and restore one contact as ``member``."""
    contact = contact_service.create_contact(member, {"first_name": "Ada", "last_name": "Byron", "email": "ada@example.org"})
    contact_id, version = contact.id, contact.version
    contact_service.update_contact(member, contact_id, {"last_name": "Lovelace"}, expected_version=version)
    contact_service.delete_contact(member, contact_id)
    contact_service.restore_contact(member, contact_id)
    return contact_id, recorder.calls


def test_contacts_contact_created_fires_after_commit(lifecycle, member):
    contact_id, calls = lifecycle
    assert calls[0] == ("created", contact_id, member.id, True)


def test_contacts_contact_updated_carries_the_changes(lifecycle, member):
    contact_id, calls = lifecycle
    (updated,) = [c for c in calls if c[0] == "updated"]
    assert updated == ("updated", contact_id, member.id, {"last_name": ("Byron", "Lovelace")})


def test_contacts_contact_deleted_fires_after_the_soft_delete_is_committed(lifecycle, member):
    contact_id, calls = lifecycle
    assert ("deleted", contact_id, member.id, True) in calls


def test_contacts_record_changed_follows_every_change(lifecycle, ctx, member):
    contact_id, calls = lifecycle
    records = [c for c in calls if c[0] == "record"]
    assert records == [("record", "contact", contact_id, a) for a in ("created", "updated", "deleted", "restored")]
    org = org_service.create_organization(member, {"name": "Analytical Engines"})
    assert calls[-1] == ("record", "organization", org.id, "created")


class Writer:
    """A plugin that writes with the change (``contacts_record_written``) and may refuse it."""

    def __init__(self):
        self.calls, self.after, self.refuse = [], [], False

    @hookimpl
    def contacts_record_written(self, entity_type, entity_id, action, actor, changes):
        self.calls.append((entity_type, entity_id, action, dict(changes), in_write()))
        if self.refuse:
            raise RuntimeError("refused")

    @hookimpl
    def contacts_record_changed(self, entity_type, entity_id, action, actor, changes):
        self.after.append((entity_type, entity_id, action))


@pytest.fixture
def writer(app):
    plugin = Writer()
    pm = app.extensions["contacts_pm"]
    pm.register(plugin, name="writer")
    yield plugin
    pm.unregister(plugin)


def test_contacts_record_written_runs_inside_the_transaction(ctx, writer, recorder, member):
    contact = contact_service.create_contact(member, {"first_name": "Ada", "email": "ada@example.org"})
    contact_service.update_contact(member, contact.id, {"last_name": "Lovelace"}, None)
    created, updated = writer.calls
    assert created[:3] == ("contact", contact.id, "created") and created[4] is True  # inside transaction()
    assert updated == ("contact", contact.id, "updated", {"last_name": ("", "Lovelace")}, True)
    assert writer.after == []  # told once, in the transaction, not again after commit
    assert [c[1:] for c in recorder.calls if c[0] == "record"] == [("contact", contact.id, "created"),
                                                                    ("contact", contact.id, "updated")]

    writer.refuse = True  # a listener that raises rolls the change back; nobody hears of it after commit
    with pytest.raises(RuntimeError):
        contact_service.update_contact(member, contact.id, {"last_name": "Byron"}, None)
    db.session.rollback()
    assert db.session.get(Contact, contact.id, populate_existing=True).last_name == "Lovelace"
    assert len([c for c in recorder.calls if c[0] == "record"]) == 2


def test_no_event_when_the_change_fails(ctx, recorder, member):
    with pytest.raises(ValidationError):
        contact_service.create_contact(member, {"first_name": "", "last_name": "", "email": "not an email"})
    assert recorder.calls == []


def test_contacts_contacts_merged_repoints_plugin_rows(app, ctx, member, team):
    from plugins.collaboration import services as notes
    from plugins.collaboration.models import Note

    t = db.session.merge(team)
    target, source = factories.contact(t, "Ada", "One"), factories.contact(t, "Ada", "Two")
    notes.add_note(member, source.id, "met at the conference")
    relay(app).contacts_contacts_merged(target=target, source=source, actor=member)
    db.session.commit()
    owners = db.session.scalars(select(Note.contact_id)).all()
    assert owners == [target.id]


def _plugin_rows(contact_id) -> dict:
    """Every plugin's rows of one contact: ids, contact_id and the columns a merge may touch."""
    from plugins.collaboration.models import Note
    from plugins.communications.models import Communication
    from plugins.communications.models_prefs import Consent, ConsentChange, Preferences
    from plugins.monitoring.models import Activity

    def rows(*columns, where):
        return sorted(db.session.execute(select(*columns).where(where)).all())

    db.session.expire_all()
    return {
        "communications": rows(Communication.id, Communication.contact_id, Communication.subject,
                               where=Communication.contact_id == contact_id),
        "consents": rows(Consent.id, Consent.contact_id, Consent.channel, Consent.status, Consent.source,
                         Consent.changed_at, where=Consent.contact_id == contact_id),
        "consent_history": rows(ConsentChange.id, ConsentChange.contact_id, ConsentChange.status,
                                where=ConsentChange.contact_id == contact_id),
        "preferences": rows(Preferences.contact_id, Preferences.timezone, where=Preferences.contact_id == contact_id),
        "groups": rows(GroupMember.group_id, GroupMember.contact_id, GroupMember.added_at, GroupMember.added_by_id,
                       where=GroupMember.contact_id == contact_id),
        "monitoring": rows(Activity.id, Activity.contact_id, Activity.entity_type, where=Activity.contact_id == contact_id),
        "collaboration": rows(Note.id, Note.contact_id, Note.body, where=Note.contact_id == contact_id),
    }


def test_contacts_contacts_unmerged_round_trip_for_all_plugins(app, ctx, member, team):
    import json

    from plugins.collaboration import services as notes
    from plugins.communications import preferences
    from plugins.communications import services as comms

    t = db.session.merge(team)
    target, source = factories.contact(t, "Ada", "One"), factories.contact(t, "Ada", "Two")
    target_id, source_id = target.id, source.id
    for cid, subject in ((source_id, "from the source"), (source_id, "again"), (target_id, "the target's")):
        comms.log_communication(member, cid, {"type": "call", "subject": subject})
    for cid, channel, status in ((source_id, "email", "opted_out"), (source_id, "sms", "opted_in"),
                                 (target_id, "email", "opted_in")):
        preferences.set_consent(member, cid, {"channel": channel, "status": status, "source": "form", "note": ""})
    preferences.set_preferences(member, source_id, {"timezone": "Europe/Rome"})
    only_source, both = groups.create_group(member, {"name": "A"}).id, groups.create_group(member, {"name": "B"}).id
    for group_id, cid in ((only_source, source_id), (both, source_id), (both, target_id)):
        groups.add_member(member, group_id, cid)
    notes.add_note(member, source_id, "met at the conference")
    notes.add_note(member, target_id, "the target's note")
    before = {cid: _plugin_rows(cid) for cid in (source_id, target_id)}
    assert all(before[source_id].values()), before[source_id]  # every plugin has rows on the source

    target, source = db.session.get(Contact, target_id), db.session.get(Contact, source_id)
    undo = {}
    for answer in relay(app).contacts_contacts_merged(target=target, source=source, actor=member):
        undo.update(answer)
    db.session.commit()
    undo = json.loads(json.dumps(undo))  # stored by the core as JSON
    assert set(undo) == {"communications", "core_taxonomy", "monitoring", "collaboration"}
    merged = _plugin_rows(source_id)
    # Everything moved, except the source's email consent: the target had its own (the opt-out won there).
    assert [c.channel for c in merged.pop("consents")] == ["email"] and not any(merged.values())

    target, source = db.session.get(Contact, target_id), db.session.get(Contact, source_id)
    relay(app).contacts_contacts_unmerged(target=target, source=source, actor=member, undo=undo)
    db.session.commit()
    after = {cid: _plugin_rows(cid) for cid in (source_id, target_id)}
    assert after[source_id] == before[source_id]
    # The target is as before too, except its append-only consent history, which records the merge and its undo.
    assert {k: v for k, v in after[target_id].items() if k != "consent_history"} == {
        k: v for k, v in before[target_id].items() if k != "consent_history"}
    assert set(before[target_id]["consent_history"]) < set(after[target_id]["consent_history"])


# --- decision hook -------------------------------------------------------------------------------


def test_contacts_permission_lets_a_plugin_refuse_before_the_core(app, ctx, recorder, admin, team):
    contact = factories.contact(db.session.merge(team))
    assert relay(app).contacts_permission(user=admin, action="contact.delete", obj=contact) is True  # the core's rule
    recorder.deny.add("contact.delete")
    assert relay(app).contacts_permission(user=admin, action="contact.delete", obj=contact) is False
    with pytest.raises(PermissionDenied):
        contact_service.delete_contact(admin, contact.id)
    assert contact_service.get_contact(admin, contact.id).deleted_at is None
