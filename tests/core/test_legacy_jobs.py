"""Jobs queued before the upgrade under kinds and bulk actions that are gone: an old vCard import
(``contacts.import_vcard``, its file's text in the params) runs through the import pipeline, the
old bulk "list_add"/"list_remove" run as group adds and removes; what cannot run any more fails
with a message saying what to do, never stays queued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.database import transaction
from core.errors import ValidationError
from core.extensions import db
from core.models import Contact, ContactExternalId, GroupMember, User, utcnow
from core.models.jobs import Job
from core.services import bulk, groups, jobs
from plugins.planning.models import LegacyList
from tests import factories

CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:old-1\r\nN:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\n"
    "EMAIL:ada@example.org\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:old-2\r\nN:Hopper;Grace;;;\r\nFN:Grace Hopper\r\nEND:VCARD\r\n"
)


def _queued(user_id: int, kind: str, params: dict, **values) -> int:
    """A job row as the old code left it in the table (queued, or running when the worker died)."""
    with transaction():
        job = Job(kind=kind, title="old", params=params, created_by_id=user_id, **values)
        db.session.add(job)
        db.session.flush()
        return job.id


def _job(job_id: int) -> Job:
    return db.session.get(Job, job_id, populate_existing=True)


def _names() -> list[str]:
    return list(db.session.scalars(select(Contact.first_name).order_by(Contact.id)))


def test_a_queued_old_vcard_import_runs_through_the_import_pipeline(ctx, member, team):
    job_id = _queued(
        member.id, "contacts.import_vcard", {"text": CARDS, "filename": "old.vcf", "owner_team_id": team.id}
    )
    assert jobs.run(job_id) == "done"
    job = _job(job_id)
    assert job.kind == "contacts.import" and "text" not in job.params
    assert job.result["summary"]["Created"] == 2
    assert _names() == ["Ada", "Grace"]
    stored = db.session.scalars(select(ContactExternalId.external_id).where(ContactExternalId.source == "vcard"))
    assert sorted(stored) == ["old-1", "old-2"]  # re-importing the file later updates them
    assert all(c.owner_team_id == team.id for c in db.session.scalars(select(Contact)))


def test_an_old_vcard_import_cut_short_resumes_after_its_last_card(ctx, member, team):
    stale = utcnow() - timedelta(minutes=5)
    job_id = _queued(
        member.id,
        "contacts.import_vcard",
        {"text": CARDS, "filename": "old.vcf", "owner_team_id": team.id},
        status="running",
        heartbeat_at=stale,
        started_at=stale,
        checkpoint={"card": 1, "counts": {"Created": 1, "Updated": 0, "Rejected": 0}},
    )
    assert jobs.sweep() == 1
    job = _job(job_id)
    assert job.status == "done" and job.result["summary"]["Created"] == 2
    assert _names() == ["Grace"]  # card 1 was imported before the upgrade: not again


def test_an_old_vcard_import_that_cannot_run_says_what_to_do(ctx, member, other_team):
    lost = _queued(member.id, "contacts.import_vcard", {"filename": "old.vcf"})
    foreign = _queued(member.id, "contacts.import_vcard", {"text": CARDS, "owner_team_id": other_team.id})
    assert jobs.run(lost) == jobs.run(foreign) == "failed"
    assert "import the file again" in _job(lost).message
    assert "choose one of your teams" in _job(foreign).message
    assert _names() == []


@pytest.fixture
def old_list(member, team):
    """Group that was list 41, and three contacts of the member's team; the first in the group."""
    with transaction():
        group = groups.create_group(db.session.get(User, member.id), {"name": "Prospects"})
        ids = [factories.contact(db.session.merge(team), name).id for name in ("Ada", "Bob", "Cy")]
        db.session.add(LegacyList(list_id=41, group_id=group.id))
    groups.add_member(db.session.get(User, member.id), group.id, ids[0])
    return group.id, ids


def _members(group_id: int) -> list[int]:
    return sorted(db.session.scalars(select(GroupMember.contact_id).where(GroupMember.group_id == group_id)))


def test_queued_bulk_list_jobs_run_as_group_adds_and_removes(ctx, member, old_list):
    group_id, ids = old_list
    add = _queued(member.id, bulk.JOB_KIND, {"action": "list_add", "params": {"list_id": "41"}, "ids": ids})
    assert jobs.run(add) == "done"
    assert _members(group_id) == ids
    assert _job(add).result["summary"] == {"Changed": 2, "Skipped": 0}  # Ada was there already: not changed
    remove = _queued(member.id, bulk.JOB_KIND, {"action": "list_remove", "params": {"list_id": "41"}, "query": ""})
    assert jobs.run(remove) == "done"
    assert _members(group_id) == []


def test_a_bulk_job_that_cannot_run_any_more_says_what_to_do(ctx, member, old_list):
    gone = _queued(member.id, bulk.JOB_KIND, {"action": "list_add", "params": {"list_id": "42"}, "ids": old_list[1]})
    unknown = _queued(member.id, bulk.JOB_KIND, {"action": "frobnicate", "params": {}, "ids": old_list[1]})
    assert jobs.run(gone) == jobs.run(unknown) == "failed"
    assert "use \u201cAdd to a group\u201d" in _job(gone).message
    assert "'frobnicate' is no longer available" in _job(unknown).message
    assert "actions the contacts list offers" in _job(unknown).message


def test_retired_bulk_actions_are_not_offered(ctx, member, old_list):
    assert "list_add" not in bulk.actions() and "list_add" in bulk.actions(retired=True)
    with pytest.raises(ValidationError) as exc:
        bulk.start(db.session.get(User, member.id), "list_add", {"list_id": "41"}, ids=old_list[1])
    assert exc.value.errors == {"action": ["Choose an action."]}
