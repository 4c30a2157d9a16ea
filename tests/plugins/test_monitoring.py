"""The monitoring plugin: the activity feed, its pages and its hooks."""

from __future__ import annotations

import logging

import pytest
from flask_login import FlaskLoginClient
from sqlalchemy import func, inspect, select

from core import create_app
from core.database import transaction
from core.errors import ValidationError
from core.extensions import db
from core.models import Contact, Team
from core.plugins import hook, records_changed
from core.services import contacts as contact_service
from core.services import vocabulary
from core.services.accounts import SYSTEM
from core.services.pagination import encode_cursor
from plugins.monitoring import services
from plugins.monitoring.models import Activity
from tests import factories
from tests.conftest import test_config

HTMX = {"HX-Request": "true"}


def entries(**where):
    stmt = select(Activity).order_by(Activity.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Activity, key) == value)
    return db.session.scalars(stmt).all()


def tid(team) -> int:
    """The id of a detached (expired) team from a fixture."""
    return inspect(team).identity[0]


def make_contact(app, team, **extra) -> int:
    with app.app_context():
        return factories.contact(db.session.merge(team), **extra).id


def test_contact_lifecycle_is_recorded_with_actor(ctx, member, team):
    contact = contact_service.create_contact(member, {"first_name": "Ada", "email": "ada@example.org"})
    other_status = [k for k, _ in vocabulary.terms("status") if k != contact.status][0]
    contact_service.update_contact(
        member, contact.id, {"email": "ada@example.com", "status": other_status}, contact.version
    )
    contact_service.delete_contact(member, contact.id)
    contact_service.restore_contact(member, contact.id)

    rows = entries(contact_id=contact.id)
    assert [r.action for r in rows] == ["created", "updated", "deleted", "restored"]
    assert {r.actor_id for r in rows} == {member.id}
    assert {r.actor_name for r in rows} == {member.display_name}
    assert {r.owner_team_id for r in rows} == {tid(team)}
    assert {(r.entity_type, r.entity_id) for r in rows} == {("contact", contact.id)}
    assert rows[0].summary == "created contact"
    assert rows[1].summary == "changed email, status"
    assert len(entries()) == 4  # one entry per change: the contact-specific hooks are not doubled


def test_contacts_record_written_entry_commits_and_rolls_back_with_the_change(ctx, member, team):
    with pytest.raises(RuntimeError), transaction():
        contact = contact_service.create_contact(member, {"first_name": "Ada", "email": "ada@example.org"})
        # written with the contact, before anything is committed (contacts_record_written)
        assert [(e.action, e.contact_id) for e in entries()] == [("created", contact.id)]
        raise RuntimeError("the write fails after the feed's entry")
    assert entries() == []
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_an_update_refused_at_commit_leaves_no_entry(ctx, member, team):
    contact_service.create_contact(member, {"first_name": "Ada", "email": "ada@example.org"})
    grace = contact_service.create_contact(member, {"first_name": "Grace", "email": "grace@example.org"})
    with pytest.raises(ValidationError) as refused:  # the unique index refuses the e-mail at the commit
        contact_service.update_contact(member, grace.id, {"email": "ada@example.org"}, None)
    assert "email" in refused.value.errors
    assert [e.action for e in entries()] == ["created", "created"]


def test_contact_changes_reach_the_feed_once_not_again_after_commit(ctx, member, team, monkeypatch):
    after = []
    monkeypatch.setattr(services, "record", lambda *a, **k: after.append(a))
    contact = contact_service.create_contact(member, {"first_name": "Ada"})
    contact_service.update_contact(member, contact.id, {"last_name": "Lovelace"}, None)
    assert after == []  # contacts_record_changed skips a plugin that took contacts_record_written
    assert [e.action for e in entries()] == ["created", "updated"]


def test_plugin_records_derive_contact_and_team(ctx, member, team, app):
    contact = factories.contact(db.session.merge(team))
    hook().contacts_record_changed(
        entity_type="note", entity_id=7, action="created", actor=member, changes={"contact_id": (None, contact.id)}
    )
    hook().contacts_record_changed(
        entity_type="note", entity_id=7, action="updated", actor=member,
        changes={"contact_id": (contact.id, contact.id), "body": ("a", "b")},
    )
    hook().contacts_record_changed(entity_type="list", entity_id=3, action="created", actor=SYSTEM, changes={})
    note_created, note_updated, listed = entries()
    assert (note_created.contact_id, note_created.owner_team_id) == (contact.id, tid(team))
    assert note_created.summary == "created note"
    assert note_updated.summary == "changed body"
    assert (listed.contact_id, listed.owner_team_id, listed.actor_id, listed.actor_name) == (None, None, None, "system")


def test_a_batch_is_recorded_like_one_change_each(ctx, member, team):
    ada, bob = factories.contact(db.session.merge(team)), factories.contact(db.session.merge(team))
    records_changed("contact", [(ada.id, "created", {}), (bob.id, "updated", {"email": ("a@x.org", "b@x.org")})], member)
    records_changed("note", [(7, "created", {"contact_id": (None, ada.id)})], SYSTEM)
    rows = entries()
    assert [(r.entity_type, r.entity_id, r.contact_id, r.action, r.summary) for r in rows] == [
        ("contact", ada.id, ada.id, "created", "created contact"),
        ("contact", bob.id, bob.id, "updated", "changed email"),
        ("note", 7, ada.id, "created", "created note"),
    ]
    assert {r.owner_team_id for r in rows} == {tid(team)}
    assert [(r.actor_id, r.actor_name) for r in rows] == [(member.id, member.display_name)] * 2 + [(None, "system")]


def test_imported_contacts_are_in_the_feed(ctx, member, team):
    import io

    from core.services import import_jobs, importer

    data = b"First Name,Email,Company\nAda,ada@example.org,Engines\nBob,bob@example.org,Engines\n,not-an-email,\n"
    token = import_jobs.save_upload(member, io.BytesIO(data), "people.csv")
    info = import_jobs.inspect(member, token)
    import_jobs.start(member, token, info["mapping"], importer.Options())
    contacts = {c.email: c.id for c in db.session.scalars(select(Contact))}
    rows = entries()
    assert sorted((r.entity_type, r.action, r.contact_id) for r in rows) == sorted([
        ("organization", "created", None),
        ("contact", "created", contacts["ada@example.org"]),
        ("contact", "created", contacts["bob@example.org"]),
    ])  # the rejected row is not in the feed
    assert {r.owner_team_id for r in rows} == {tid(team)} and {r.actor_id for r in rows} == {member.id}


def test_a_broken_feed_never_breaks_a_batch(ctx, member, monkeypatch, caplog):
    monkeypatch.setattr(services, "actor_label", lambda actor: None)  # NOT NULL violation at insert
    with caplog.at_level(logging.ERROR, logger="plugins.monitoring.services"), transaction():
        db.session.add(Team(name="Kept"))
        assert services.record_many("contact", [(1, "created", {}), (2, "created", {})], member) == 0
    assert db.session.scalar(select(func.count()).select_from(Team).where(Team.name == "Kept")) == 1
    assert entries() == [] and "could not record" in caplog.text


def test_owner_team_from_changes_wins(ctx, member, other_team):
    services.record("list", 4, "created", member, {"owner_team_id": (None, tid(other_team)), "contact_id": "junk"})
    (row,) = entries()
    assert (row.owner_team_id, row.contact_id) == (tid(other_team), None)


def test_broken_feed_never_breaks_saving_a_contact(ctx, member, monkeypatch, caplog):
    # The entry is written in the change's transaction (contacts_record_written): one that can not
    # be built is left out and logged, and the contact is saved.
    monkeypatch.setattr(services, "summarize", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    with caplog.at_level(logging.ERROR, logger="plugins.monitoring.services"):
        contact = contact_service.create_contact(member, {"first_name": "Grace"})
    assert contact_service.get_contact(member, contact.id).first_name == "Grace"
    assert entries() == []
    assert "could not record" in caplog.text

    contact_service.update_contact(member, contact.id, {"last_name": "Hopper"}, None)
    assert contact_service.get_contact(member, contact.id).last_name == "Hopper"


def test_failure_inside_an_open_transaction_keeps_the_callers_work(ctx, member, monkeypatch):
    monkeypatch.setattr(services, "actor_label", lambda actor: None)
    with transaction():
        db.session.add(Team(name="Kept"))
        assert services.record("contact", 1, "created", member, {}) is None
    assert db.session.scalar(select(func.count()).select_from(Team).where(Team.name == "Kept")) == 1


def test_activity_page_shows_only_visible_teams(app, member_client, admin_client, member, outsider, team, other_team):
    with app.test_request_context():
        mine = contact_service.create_contact(member, {"first_name": "Mine", "last_name": "Own"})
        contact_service.create_contact(outsider, {"first_name": "Theirs", "last_name": "Secret"})
        services.record("list", 1, "created", SYSTEM, {})  # no team: admins only
        mine_id = mine.id
    page = member_client.get("/monitoring/activity")
    assert page.status_code == 200
    assert b"Mine Own" in page.data and f"/contacts/{mine_id}".encode() in page.data
    assert b"Theirs" not in page.data and b"list #1" not in page.data
    assert b'href="/monitoring/activity"' in page.data  # the nav item
    everything = admin_client.get("/monitoring/activity")
    assert b"Mine Own" in everything.data and b"Theirs Secret" in everything.data and b"list #1" in everything.data


def test_filters_by_entity_type_and_actor(app, admin_client, member, manager):
    with app.test_request_context():
        contact_service.create_contact(member, {"first_name": "ByMember"})
        contact_service.create_contact(manager, {"first_name": "ByManager"})
        services.record("organization", 9, "created", member, {})
    by_member = admin_client.get(f"/monitoring/activity?actor={member.id}", headers=HTMX)
    assert b"ByMember" in by_member.data and b"ByManager" not in by_member.data
    assert b"<html" not in by_member.data  # the rows only
    orgs = admin_client.get("/monitoring/activity?entity_type=organization", headers=HTMX)
    assert b"organization #9" in orgs.data and b"ByMember" not in orgs.data


@pytest.mark.parametrize(
    "query, field",
    [("actor=abc", b"actor"), ("actor=99999999999999999999", b"actor"), ("entity_type=" + "x" * 51, b"entity_type"),
     ("cursor=%%%", b"cursor"), ("cursor=" + encode_cursor([2**40]), b"cursor")],
)
def test_bad_filters_answer_422_naming_the_field(admin_client, query, field):
    response = admin_client.get(f"/monitoring/activity?{query}")
    assert response.status_code == 422
    assert field in response.data


def test_keyset_load_more(app, admin_client, admin):
    with app.test_request_context():
        for n in range(55):
            services.record("list", n + 1, "created", admin, {})
        first = services.list_activity(admin, limit=50)
        second = services.list_activity(admin, cursor=first.next_cursor, limit=50)
    assert [e.entity_id for e in first.items] == list(range(55, 5, -1))
    assert [e.entity_id for e in second.items] == [5, 4, 3, 2, 1] and second.next_cursor is None

    page = admin_client.get("/monitoring/activity")
    assert b"Load more" in page.data and b"list #6<" in page.data and b"list #5<" not in page.data
    more = admin_client.get(f"/monitoring/activity?cursor={first.next_cursor}", headers=HTMX)
    assert b"list #5<" in more.data and b"list #6<" not in more.data and b"Load more" not in more.data


def test_contact_panel_and_permissions(app, member_client, outsider_client, viewer_client, member, team):
    with app.test_request_context():
        contact = contact_service.create_contact(member, {"first_name": "Panel"})
        contact_service.update_contact(member, contact.id, {"last_name": "Person"}, None)
        cid = contact.id
    response = member_client.get(f"/monitoring/contacts/{cid}/activity")
    assert response.status_code == 200
    assert b"changed last_name" in response.data and b"created contact" in response.data
    assert b"<html" not in response.data and b'hx-trigger="contact-changed from:body"' in response.data
    assert viewer_client.get(f"/monitoring/contacts/{cid}/activity").status_code == 200
    assert outsider_client.get(f"/monitoring/contacts/{cid}/activity").status_code == 404
    assert member_client.get("/monitoring/contacts/2147483647/activity").status_code == 404


def test_contact_panel_load_more(app, member_client, member, team):
    cid = make_contact(app, team)
    with app.test_request_context():
        for n in range(25):
            services.record("note", n + 1, "created", member, {"contact_id": (None, cid)})
    first = member_client.get(f"/monitoring/contacts/{cid}/activity")
    assert first.data.count(b"created note") == 20 and b"Load more" in first.data
    with app.test_request_context():
        contact = db.session.get(Contact, cid)
        cursor = services.contact_activity(member, contact).next_cursor
    rest = member_client.get(f"/monitoring/contacts/{cid}/activity?cursor={cursor}", headers=HTMX)
    assert rest.data.count(b"created note") == 5 and b"Load more" not in rest.data
    assert member_client.get(f"/monitoring/contacts/{cid}/activity?cursor=bad!").status_code == 422


def test_ui_hooks_return_panels(app, member, team):
    cid = make_contact(app, team)
    with app.test_request_context():
        contact = db.session.get(Contact, cid)
        panels = [p for ps in hook().contacts_contact_panels(contact=contact, user=member) for p in ps or []]
        assert any(p.url == f"/monitoring/contacts/{cid}/activity" for p in panels)
        widgets = [p for ps in hook().contacts_dashboard_widgets(user=member) for p in ps or []]
        assert [w.url for w in widgets if w.key == "activity"] == ["/monitoring/widget"]
        assert "activity.list" in {k for d in hook().contacts_permissions() for k in (d or {})}


def test_dashboard_widget(app, member_client, member):
    with app.test_request_context():
        contact_service.create_contact(member, {"first_name": "Widget", "last_name": "Shown"})
    response = member_client.get("/monitoring/widget")
    assert response.status_code == 200
    assert b"Recent activity" in response.data and b"Widget Shown" in response.data


def test_merge_repoints_entries(ctx, member, team):
    source = factories.contact(db.session.merge(team))
    target = factories.contact(db.session.merge(team))
    services.record("contact", source.id, "updated", member, {"phone": ("", "+1")})
    hook().contacts_contacts_merged(target=target, source=source, actor=member)
    assert [e.contact_id for e in entries()] == [target.id]


def test_unmerge_puts_entries_back(ctx, member, team):
    source = factories.contact(db.session.merge(team))
    target = factories.contact(db.session.merge(team))
    services.record("contact", source.id, "updated", member, {"phone": ("", "+1")})
    services.record("contact", source.id, "updated", member, {"phone": ("+1", "+2")})
    services.record("contact", target.id, "updated", member, {"phone": ("", "+3")})
    before = [(e.id, e.contact_id) for e in entries()]
    undo = {k: v for a in hook().contacts_contacts_merged(target=target, source=source, actor=member) for k, v in a.items()}
    assert undo["monitoring"] == {"activity": [i for i, c in before if c == source.id]}
    assert {e.contact_id for e in entries()} == {target.id}
    with transaction() as session:
        session.delete(session.get(Activity, before[0][0]))  # gone since the merge: skipped
    hook().contacts_contacts_unmerged(target=target, source=source, actor=member, undo=undo)
    hook().contacts_contacts_unmerged(target=target, source=source, actor=member, undo=undo)
    assert [(e.id, e.contact_id) for e in entries()] == before[1:]


def test_feed_requires_login(client):
    assert client.get("/monitoring/activity").status_code == 302


def test_app_works_without_monitoring(app, tmp_path_factory):
    other = create_app(test_config(tmp_path_factory), plugins=["collaboration"])
    other.test_client_class = FlaskLoginClient
    assert "monitoring" not in other.blueprints
    with other.app_context():
        db.create_all()
        vocabulary.ensure_defaults()
        user = factories.user("member", [factories.team("Solo")])
        with other.test_request_context():
            contact = contact_service.create_contact(user, {"first_name": "Alone"})
            contact_service.update_contact(user, contact.id, {"last_name": "Here"}, None)
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 0
        client = other.test_client(user=user)
        assert client.get("/monitoring/activity").status_code == 404
        assert client.get(f"/collaboration/contacts/{contact.id}/notes").status_code == 200
        db.session.remove()
        db.engine.dispose()
