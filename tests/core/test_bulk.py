"""Bulk actions: per-record permissions (skipped, counted, never touched), audit, the job path
with progress and cancel, the contacts_bulk_actions hook (core and planning actions), the page
and the API."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from core.errors import ValidationError
from core.extensions import db
from core.models import AuditEntry, Contact, Job, User
from core.plugins import hook, hookimpl
from core.services import bulk
from core.services.list_query import ListQuery
from core.ui import BulkAction
from tests.core.test_api_contacts import Api, make_token


def _user(u):
    db.session.commit()
    return db.session.get(User, u.id)


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(bulk, "SYNC_LIMIT", 5)
    monkeypatch.setattr(bulk, "BATCH", 4)


def _make(team, n, **extra):
    ids = []
    for i in range(n):
        c = Contact(first_name="P", last_name=f"Person{i:03}", sort_name=f"person{i:03} p", phone="",
                    type=extra.get("type", "person"), status=extra.get("status", "active"), owner_team_id=team.id)
        db.session.add(c)
        db.session.flush()
        ids.append(c.id)
    db.session.commit()
    return ids


@pytest.fixture
def people(ctx, team, other_team, member, viewer, outsider):
    mine = _make(db.session.merge(team), 3)
    theirs = _make(db.session.merge(other_team), 2)
    return {"mine": mine, "theirs": theirs}


def _statuses(ids):
    db.session.commit()
    return db.session.scalars(select(Contact.status).where(Contact.id.in_(ids)).order_by(Contact.id)).all()


def _audits(action="updated"):
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.entity_type == "contact", AuditEntry.action == action))


def test_the_hook_lists_core_and_plugin_actions(ctx):
    found = {a.key for answer in hook().contacts_bulk_actions() for a in (answer or []) if a.offered}
    assert {"status", "type", "owner_team", "delete"} <= found
    assert {"group_add", "group_remove"} <= found and not {"list_add", "list_remove"} & found  # lists are groups
    assert list(bulk.actions())[:3] == ["status", "type", "owner_team"]


def test_a_small_set_runs_at_once_skipping_what_the_user_may_not_change(people, member):
    ids = people["mine"] + people["theirs"] + [999999]
    result = bulk.start(_user(member), "status", {"status": "lead"}, ids=ids)
    assert (result.changed, result.skipped, result.job) == (3, 3, None)
    assert _statuses(people["mine"]) == ["lead"] * 3
    assert _statuses(people["theirs"]) == ["active"] * 2  # never touched
    assert _audits() == 3
    again = bulk.start(_user(member), "status", {"status": "lead"}, ids=people["mine"])
    assert (again.changed, again.skipped) == (0, 0)  # nothing to change, nothing audited
    assert _audits() == 3


def test_viewers_change_nothing(people, viewer):
    result = bulk.start(_user(viewer), "type", {"type": "customer"}, ids=people["mine"])
    assert (result.changed, result.skipped) == (0, 3)


def test_params_are_checked_against_the_offered_options(people, member, other_team):
    with pytest.raises(ValidationError) as caught:
        bulk.start(_user(member), "status", {"status": "zombie"}, ids=people["mine"])
    assert "status" in caught.value.errors
    with pytest.raises(ValidationError) as caught:
        bulk.start(_user(member), "owner_team", {"owner_team_id": str(other_team.id)}, ids=people["mine"])
    assert "owner_team_id" in caught.value.errors
    with pytest.raises(ValidationError) as caught:
        bulk.start(_user(member), "nosuch", {}, ids=people["mine"])
    assert "action" in caught.value.errors
    for bad in ([], ["x"], [0], list(range(1, bulk.MAX_IDS + 2))):
        with pytest.raises(ValidationError) as caught:
            bulk.start(_user(member), "delete", {}, ids=bad)
        assert "ids" in caught.value.errors


def test_delete_moves_to_the_trash_and_owner_team_moves(people, member, admin, other_team):
    result = bulk.start(_user(member), "delete", {}, ids=people["mine"][:2] + people["theirs"])
    assert (result.changed, result.skipped) == (2, 2)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Contact.deleted_at.is_not(None))) == 2
    assert _audits("deleted") == 2
    result = bulk.start(_user(admin), "owner_team", {"owner_team_id": str(other_team.id)}, ids=people["mine"][2:])
    assert result.changed == 1
    assert db.session.get(Contact, people["mine"][2]).owner_team_id == other_team.id


def test_a_large_filter_runs_as_a_job_in_batches(people, member, team, small_limits):
    extra = _make(db.session.merge(team), 8, status="lead")
    query = ListQuery.from_args({"f": ["status.is.lead", "or", "name.starts.person000"]})
    result = bulk.start(_user(member), "status", {"status": "inactive"}, query=query)
    assert result.job is not None and result.total == 9
    job = db.session.get(Job, result.job.id)
    db.session.refresh(job)
    assert (job.kind, job.status, job.done, job.total, job.percent) == ("contacts.bulk", "done", 9, 9, 100)
    assert job.result["summary"] == {"Changed": 9, "Skipped": 0}
    assert job.checkpoint["after"] == max(extra)
    assert _statuses(extra) == ["inactive"] * 8 and _audits() == 9
    assert _statuses(people["theirs"]) == ["active", "active"]


def test_a_job_skips_per_record_too(people, member, small_limits):
    ids = people["mine"] + people["theirs"] + [999998, 999999]
    result = bulk.start(_user(member), "status", {"status": "lead"}, ids=ids)
    job = db.session.get(Job, result.job.id)
    db.session.refresh(job)
    assert job.status == "done" and job.result["summary"] == {"Changed": 3, "Skipped": 4}
    assert _statuses(people["theirs"]) == ["active", "active"]


class CancellingAction:
    """A bulk action that asks its own job to stop during the first batch."""

    @hookimpl
    def contacts_bulk_actions(self):
        def apply(actor, contact_ids, params):
            db.session.execute(update(Job).where(Job.kind == "contacts.bulk").values(cancel_requested=True))
            db.session.execute(update(Contact).where(Contact.id.in_(contact_ids)).values(status="lead"))
            return len(contact_ids), 0

        return [BulkAction("test_cancel", "Cancel me", apply)]


@pytest.fixture
def cancelling(app):
    pm = app.extensions["contacts_pm"]
    plugin = CancellingAction()
    pm.register(plugin, name="test-cancelling")
    yield
    pm.unregister(plugin)


def test_a_cancelled_job_stops_after_the_batch_it_is_in(people, member, team, small_limits, cancelling):
    ids = _make(db.session.merge(team), 10)
    result = bulk.start(_user(member), "test_cancel", {}, query=ListQuery.from_args({"f": ["name.starts.person"]}))
    job = db.session.get(Job, result.job.id)
    db.session.refresh(job)
    assert job.status == "cancelled" and job.done == 4 and job.total == 13
    assert _statuses(sorted(people["mine"] + ids)).count("lead") == 4  # one batch, committed; no more


@pytest.fixture
def page_people(app, team, other_team, member):
    with app.app_context():
        mine = _make(db.session.merge(team), 3)
        theirs = _make(db.session.merge(other_team), 1)
    return {"mine": mine, "theirs": theirs}


def test_the_page_runs_small_sets_at_once_with_a_toast(page_people, member_client):
    page = member_client.get("/").get_data(as_text=True)
    assert 'name="ids"' in page and 'id="bulk-form"' in page and "Change status" in page
    fields = member_client.get("/contacts/bulk/form?action=status").get_data(as_text=True)
    assert 'name="param_status"' in fields
    response = member_client.post("/contacts/bulk", headers={"HX-Request": "true"}, data={
        "action": "status", "param_status": "lead", "scope": "ids",
        "ids": [str(i) for i in page_people["mine"][:2] + page_people["theirs"]]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 changed, 1 skipped" in body
    assert json.loads(response.headers["HX-Trigger"]) == {"contactsChanged": True}
    response = member_client.post("/contacts/bulk", headers={"HX-Request": "true"},
                                  data={"action": "status", "param_status": "", "scope": "ids", "ids": ["1"]})
    assert response.status_code == 422 and "Choose status" in response.get_data(as_text=True)


def test_the_page_runs_all_matching_as_a_job_with_a_progress_bar(page_people, member_client, small_limits, monkeypatch):
    monkeypatch.setattr(bulk, "SYNC_LIMIT", 2)
    response = member_client.post("/contacts/bulk", headers={"HX-Request": "true"}, data={
        "action": "status", "param_status": "inactive", "scope": "all", "f": ["name.starts.person"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<progress" in body and "Change status: 3 contacts" in body
    job_id = int(body.split('id="job-')[1].split('"')[0])
    progress = member_client.get(f"/jobs/{job_id}/progress")
    assert json.loads(progress.headers["HX-Trigger"])["jobFinished"]["id"] == job_id


def test_api_bulk(page_people, app, member, small_limits, monkeypatch):
    monkeypatch.setattr(bulk, "SYNC_LIMIT", 2)
    api = Api(app, make_token(app, member))
    response = api.post("/api/v1/contacts/bulk", json={"action": "type", "params": {"type": "customer"},
                                                        "ids": page_people["mine"][:1] + page_people["theirs"]})
    assert response.status_code == 200 and response.json == {"changed": 1, "skipped": 1, "total": 2, "job": None}
    response = api.post("/api/v1/contacts/bulk", json={"action": "delete", "filter": {"f": ["name.starts.person"]}})
    assert response.status_code == 202 and response.json["job"]["status"] == "done"
    assert response.json["job"]["result"]["summary"] == {"Changed": 3, "Skipped": 0}
    assert api.post("/api/v1/contacts/bulk", json={"action": "delete"}).status_code == 422
    bad = api.post("/api/v1/contacts/bulk", json={"action": "delete", "filter": {"f": ["status.like.x"]}})
    assert bad.status_code == 422 and "f" in json.dumps(bad.json)
