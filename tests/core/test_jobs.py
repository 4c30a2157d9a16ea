"""Background jobs: run to the end, report progress and per-item errors, cancel, fail clearly,
resume from the checkpoint after a worker died, and stay private to who started them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.database import transaction
from core.errors import Conflict, NotFound, ValidationError
from core.extensions import db
from core.models import Job, User, utcnow
from core.plugins import hookimpl
from core.services import jobs
from tests.core.test_api_contacts import Api, make_token

SEEN: list = []


def count_to(ctx):
    """Items 1..n in batches of 3, resuming after ctx.checkpoint["after"]; odd multiples of 5 are bad."""
    n = ctx.params["n"]
    start = ctx.checkpoint.get("after", 0)
    for first in range(start + 1, n + 1, 3):
        batch = list(range(first, min(first + 3, n + 1)))
        with transaction():
            for item in batch:
                if item % 10 == 5:
                    ctx.error(item, f"item {item} is odd")
                else:
                    SEEN.append(item)
            if ctx.params.get("cancel_at") in batch:
                db.session.get(Job, ctx.job_id).cancel_requested = True
            ctx.progress(batch[-1], n, checkpoint={"after": batch[-1]})
    return {"summary": {"Counted": len(SEEN)}, "links": [{"label": "Back", "url": "/"}]}


def refuse(ctx):
    raise ValidationError({"file": "Not a CSV file."}, message="The file is not a CSV file.")


def explode(ctx):
    raise RuntimeError("boom")


class Runners:
    @hookimpl
    def contacts_job_runners(self):
        return {"test.count": count_to, "test.refuse": refuse, "test.explode": explode}


@pytest.fixture(autouse=True)
def runners(app):
    SEEN.clear()
    pm = app.extensions["contacts_pm"]
    plugin = Runners()
    pm.register(plugin, name="test-job-runners")
    yield
    pm.unregister(plugin)


def _user(user_id):
    return db.session.get(User, user_id)


def test_a_job_runs_to_the_end_with_progress_errors_and_result(ctx, member):
    job = jobs.start(_user(member.id), "test.count", {"n": 20}, title="Count to twenty")
    db.session.refresh(job)
    assert job.status == "done" and job.done == 20 and job.total == 20 and job.percent == 100
    assert SEEN == [i for i in range(1, 21) if i % 10 != 5]
    assert job.error_count == 2 and job.errors == [
        {"ref": 5, "message": "item 5 is odd"}, {"ref": 15, "message": "item 15 is odd"}
    ]
    assert job.result["summary"] == {"Counted": 18}
    assert job.started_at and job.finished_at and job.checkpoint == {"after": 20}


def test_the_hook_lists_the_runners(app, ctx):
    found = {}
    for answer in app.extensions["contacts_pm"].hook.contacts_job_runners():
        found.update(answer)
    assert found["test.count"] is count_to


def test_an_unknown_kind_is_refused(ctx, member):
    with pytest.raises(ValidationError) as exc:
        jobs.start(_user(member.id), "test.nope", {})
    assert "kind" in exc.value.errors


def test_a_refusal_fails_the_job_with_its_message_and_a_crash_with_a_generic_one(ctx, member):
    refused = jobs.start(_user(member.id), "test.refuse", {})
    crashed = jobs.start(_user(member.id), "test.explode", {})
    db.session.refresh(refused)
    db.session.refresh(crashed)
    assert (refused.status, refused.message) == ("failed", "The file is not a CSV file.")
    assert crashed.status == "failed" and "unexpected error" in crashed.message and "boom" not in crashed.message


def test_cancel_while_running_stops_after_the_batch(ctx, member):
    job = jobs.start(_user(member.id), "test.count", {"n": 30, "cancel_at": 8})
    db.session.refresh(job)
    assert job.status == "cancelled" and job.done == 9
    assert max(SEEN) == 9


def _stored_job(user_id, **values):
    with transaction():
        job = Job(kind="test.count", title="t", params={"n": 12}, created_by_id=user_id, **values)
        db.session.add(job)
    return job


def test_a_queued_job_is_cancelled_at_once_and_then_never_runs(ctx, member):
    job = _stored_job(member.id)
    jobs.cancel(_user(member.id), job.id)
    assert job.status == "cancelled" and job.finished_at is not None
    assert jobs.run(job.id) == "skipped" and SEEN == []
    with pytest.raises(Conflict) as exc:  # the job's state, not a field of the request: 409
        jobs.cancel(_user(member.id), job.id)
    assert exc.value.message == "This job was already cancelled."


def test_a_job_left_running_by_a_dead_worker_resumes_from_its_checkpoint(ctx, member):
    stale = utcnow() - timedelta(minutes=5)
    orphan = _stored_job(member.id, status="running", heartbeat_at=stale, started_at=stale, done=6,
                         total=12, checkpoint={"after": 6})
    busy = _stored_job(member.id, status="running", heartbeat_at=utcnow(), checkpoint={"after": 3})
    assert jobs.sweep() == 1  # the busy one has a live worker
    db.session.refresh(orphan)
    db.session.refresh(busy)
    assert orphan.status == "done" and orphan.done == 12 and orphan.started_at == stale
    assert SEEN == [7, 8, 9, 10, 11, 12]  # nothing before the checkpoint is done twice
    assert busy.status == "running"
    assert jobs.run(busy.id) == "skipped"


def test_a_job_of_a_deactivated_user_fails(ctx, member):
    job = _stored_job(member.id)
    with transaction():
        _user(member.id).active = False
    assert jobs.run(job.id) == "failed"
    db.session.refresh(job)
    assert "can no longer sign in" in job.message and SEEN == []


def test_only_the_starter_and_admins_see_a_job(ctx, member, outsider, admin):
    job = jobs.start(_user(member.id), "test.count", {"n": 3})
    with pytest.raises(NotFound):
        jobs.get_job(_user(outsider.id), job.id)
    with pytest.raises(NotFound):
        jobs.cancel(_user(outsider.id), job.id)
    assert jobs.get_job(_user(admin.id), job.id).id == job.id
    assert [j.id for j in jobs.recent_jobs(_user(outsider.id))] == []
    assert [j.id for j in jobs.recent_jobs(_user(admin.id))] == [job.id]


def test_pages_show_progress_and_the_error_report(app, member_client, member, outsider_client):
    with app.app_context():
        job = jobs.start(_user(member.id), "test.count", {"n": 20}, title="Count to twenty")
        running = _stored_job(member.id, status="running", heartbeat_at=utcnow(), total=12, done=3)
        job_id, running_id = job.id, running.id
    listing = member_client.get("/jobs/").get_data(as_text=True)
    assert "Count to twenty" in listing and "2 problems" in listing
    page = member_client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "20 of 20 (100%)" in page and "Counted" in page and 'hx-trigger="every 1s"' not in page
    fragment = member_client.get(f"/jobs/{running_id}/progress", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in body and "3 of 12 (25%)" in body and "Cancel" in body
    assert fragment.headers["Cache-Control"] == "no-store"
    report = member_client.get(f"/jobs/{job_id}/errors.csv")
    assert report.mimetype == "text/csv"
    assert report.get_data(as_text=True).splitlines() == ["item,problem", "5,item 5 is odd", "15,item 15 is odd"]
    cancelled = member_client.post(f"/jobs/{running_id}/cancel", headers={"HX-Request": "true"})
    assert "Stopping after the current batch" in cancelled.get_data(as_text=True)
    assert outsider_client.get(f"/jobs/{job_id}").status_code == 404
    assert outsider_client.get(f"/jobs/{job_id}/errors.csv").status_code == 404
    assert member_client.get("/jobs/99999").status_code == 404


def test_the_empty_jobs_page_says_what_appears_there(member_client):
    assert "No jobs yet" in member_client.get("/jobs/").get_data(as_text=True)


def test_the_api_shows_and_cancels_jobs(app, member, outsider):
    with app.app_context():
        done = jobs.start(_user(member.id), "test.count", {"n": 6}).id
        queued = _stored_job(member.id).id
    api = Api(app, make_token(app, member))
    body = api.get(f"/api/v1/jobs/{done}").get_json()
    assert body["status"] == "done" and body["done"] == 6 and body["error_count"] == 1
    assert body["errors"] == [{"ref": 5, "message": "item 5 is odd"}]
    again = api.post(f"/api/v1/jobs/{done}/cancel")
    assert again.status_code == 409 and again.get_json()["message"] == "This job has already finished."
    doc = api.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/jobs/{job_id}/cancel"]["post"]["responses"]
    assert "409" in doc and "422" not in doc and "already ended" in doc["409"]["description"]
    assert api.post(f"/api/v1/jobs/{queued}/cancel").get_json()["status"] == "cancelled"
    other = Api(app, make_token(app, outsider))
    assert other.get(f"/api/v1/jobs/{done}").status_code == 404


def test_cancelling_a_finished_job_in_the_page_says_so(app, member_client, member):
    with app.app_context():
        job_id = jobs.start(_user(member.id), "test.count", {"n": 3}).id
    body = member_client.post(f"/jobs/{job_id}/cancel", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "This job has already finished." in body and "Cancel</button>" not in body
