"""Background jobs: start one, follow its progress, cancel it, resume it after a crash.

A job kind is a runner registered through the ``contacts_job_runners`` hook (the core's own
kinds too). ``start`` records the job and queues it after commit; the huey task ``core.jobs.run``
claims it and calls ``runner(ctx)`` as the user who started it. The runner reports with
``ctx.progress(done, total, checkpoint=...)`` between batches: that saves the count, the
bookmark and the per-item errors, beats the heartbeat, and raises ``JobCancelled`` once someone
asked to cancel. Called inside the runner's own ``transaction()``, the bookmark commits together
with the batch it describes, so a resumed run neither skips nor repeats work.

A worker that dies mid-job leaves it "running" with a stale heartbeat; the periodic sweep
(every minute, and when a worker starts) queues it again and the runner resumes from
``ctx.checkpoint``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, literal, or_, select, tuple_, update

from ..database import after_commit, in_write, transaction
from ..errors import Conflict, NotFound, ServiceError, ValidationError
from ..extensions import db
from ..models import MAX_ID, User, utcnow
from ..models.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job, JobProblem
from ..plugins import hook
from ..policy import require
from ..tasks import enqueue

log = logging.getLogger(__name__)

RUN_TASK = "core.jobs.run"
SWEEP_TASK = "core.jobs.sweep"
MAX_ERRORS = 1000  # kept for the error report; every error is counted
STALE_AFTER = timedelta(minutes=2)  # a running job whose heartbeat is older was orphaned
ENDED = {
    DONE: "This job has already finished.",
    FAILED: "This job has already stopped on an error.",
    CANCELLED: "This job was already cancelled.",
}


class JobCancelled(Exception):
    """Raised by ``ctx.progress`` when the job was asked to stop."""


@dataclass
class JobContext:
    job_id: int
    kind: str
    params: dict
    actor: User
    checkpoint: dict = field(default_factory=dict)
    _errors: list = field(default_factory=list)

    def error(self, ref, message: str) -> None:
        """Note a problem with one item (a CSV row, a contact); saved with the next progress."""
        self._errors.append({"ref": ref, "message": str(message)})

    def progress(self, done: int, total: int | None = None, checkpoint: dict | None = None) -> None:
        """Save how far the job got (and the errors noted since); raise JobCancelled if asked to stop."""
        if checkpoint is not None:
            self.checkpoint = dict(checkpoint)
        errors, self._errors = self._errors, []
        nested = in_write()
        with transaction():
            job = db.session.get(Job, self.job_id, populate_existing=True)
            job.done = done
            if total is not None:
                job.total = total
            if checkpoint is not None:
                job.checkpoint = dict(checkpoint)
            _keep_errors(job, errors)
            job.heartbeat_at = utcnow()
            if job.cancel_requested and nested:
                # Inside the runner's transaction: the batch is done; stop once it is committed.
                after_commit(_stop)
            cancel = job.cancel_requested
        if cancel and not nested:
            raise JobCancelled()


def _keep_errors(job: Job, errors: list) -> None:
    """Add ``errors`` to the job: the first MAX_ERRORS are kept on it (the page, the API), every one
    is counted and kept in ``job_problems`` (the downloadable report, ``problems``)."""
    if errors:
        room = max(0, MAX_ERRORS - len(job.errors))
        job.errors = [*job.errors, *errors[:room]]
        job.error_count += len(errors)
        from .bulk_insert import insert_rows

        insert_rows(JobProblem.__table__, [
            {"job_id": job.id, "ref": _number(e["ref"]), "item": str(e["ref"])[:100], "message": e["message"]}
            for e in errors
        ])


def _number(ref) -> int | None:
    return ref if isinstance(ref, int) and not isinstance(ref, bool) and abs(ref) <= MAX_ID else None


def problems(job: Job, chunk: int = 1000):
    """Every problem of ``job`` as ``(ref, item, message, cells)``, in item order, read a chunk at a
    time (a report may hold a problem per row of a large file). Jobs from before ``job_problems``
    have only their first MAX_ERRORS, on the job."""
    table = JobProblem.__table__
    ref = func.coalesce(table.c.ref, -1)
    after = (-2, 0)  # (ref or -1, id): keyset
    found = False
    while True:
        rows = db.session.execute(
            select(table.c.id, table.c.ref, table.c.item, table.c.message, table.c.cells)
            .where(table.c.job_id == job.id, tuple_(ref, table.c.id) > tuple_(literal(after[0]), literal(after[1])))
            .order_by(ref, table.c.id).limit(chunk)
        ).all()
        for row in rows:
            found = True
            yield row.ref, row.item, row.message, row.cells
        if len(rows) < chunk:
            break
        after = (rows[-1].ref if rows[-1].ref is not None else -1, rows[-1].id)
    if not found and job.errors:
        for entry in job.errors:
            yield _number(entry.get("ref")), str(entry.get("ref", "")), str(entry.get("message", "")), None


def _stop():
    raise JobCancelled()


def runners() -> dict[str, Callable[[JobContext], dict | None]]:
    found: dict = {}
    for answer in hook().contacts_job_runners():
        found.update(answer or {})
    return found


def start(actor, kind: str, params: dict | None = None, *, title: str = "", total: int | None = None) -> Job:
    """Record a job for ``actor`` and queue it once the caller's transaction commits."""
    require(actor, "job.start")
    if kind not in runners():
        raise ValidationError({"kind": f"Unknown job kind {kind!r}."})
    job = Job(kind=kind, title=title[:200] or kind, params=params or {}, total=total, created_by_id=actor.id)
    with transaction():
        db.session.add(job)
        db.session.flush()
        job_id = job.id
        after_commit(lambda: enqueue(RUN_TASK, job_id))
    return job


def get_job(actor, job_id: int) -> Job:
    """The job if ``actor`` started it (or is an admin); NotFound otherwise."""
    job = db.session.get(Job, job_id) if 0 < job_id <= MAX_ID else None
    if job is None or not (actor.role == "admin" or job.created_by_id == actor.id):
        raise NotFound("No such job.")
    return job


def recent_jobs(actor, limit: int = 50) -> list[Job]:
    stmt = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if actor.role != "admin":
        stmt = stmt.where(Job.created_by_id == actor.id)
    return list(db.session.scalars(stmt))


def cancel(actor, job_id: int) -> Job:
    """Ask a job to stop. A queued job stops at once; a running one at its next progress report.
    One that has ended is a Conflict (409): the job's state, not the request, is in the way."""
    with transaction():
        job = get_job(actor, job_id)
        db.session.refresh(job)
        if job.finished:
            raise Conflict(ENDED[job.status])
        job.cancel_requested = True
        if job.status == QUEUED:
            _finish(job, CANCELLED)
    return job


def _finish(job: Job, status: str, **values) -> None:
    job.status = status
    job.finished_at = utcnow()
    for name, value in values.items():
        setattr(job, name, value)


def _claim(job_id: int) -> bool:
    """Take the job: it is queued, or running with a stale heartbeat (its worker died)."""
    now = utcnow()
    with transaction():
        claimed = db.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .where(or_(Job.status == QUEUED, (Job.status == RUNNING) & (Job.heartbeat_at < now - STALE_AFTER)))
            .values(status=RUNNING, heartbeat_at=now)
        ).rowcount
        if claimed:
            db.session.execute(update(Job).where(Job.id == job_id, Job.started_at.is_(None)).values(started_at=now))
    return bool(claimed)


def run(job_id: int) -> str:
    """The huey task: run the job's runner to the end (or to a cancel, or a failure)."""
    if not _claim(job_id):
        return "skipped"
    job = db.session.get(Job, job_id, populate_existing=True)
    actor = db.session.get(User, job.created_by_id)
    runner = runners().get(job.kind)
    ctx = JobContext(job_id=job.id, kind=job.kind, params=dict(job.params), actor=actor, checkpoint=dict(job.checkpoint))
    status, values = DONE, {}
    if runner is None:
        status, values = FAILED, {"message": f"No runner for {job.kind!r}: enable the plugin that runs it, "
                                   "or start the work again from its page."}
    elif actor is None or not actor.active:
        status, values = FAILED, {"message": "The user who started this job can no longer sign in."}
    else:
        try:
            values["result"] = runner(ctx) or {}
        except JobCancelled:
            status = CANCELLED
        except ServiceError as exc:
            db.session.rollback()
            status, values = FAILED, {"message": exc.message or "The job stopped on an error."}
        except Exception:
            log.exception("job %s (%s) failed", job_id, job.kind)
            db.session.rollback()
            status, values = FAILED, {"message": "The job stopped on an unexpected error; it is in the server log."}
    with transaction():
        job = db.session.get(Job, job_id, populate_existing=True)
        _keep_errors(job, ctx._errors)
        if status == DONE and job.cancel_requested:
            status = CANCELLED
        _finish(job, status, **values)
    return status


def sweep() -> int:
    """Queue again every job a dead worker left behind (and queued ones that were never picked up)."""
    stale = utcnow() - STALE_AFTER
    ids = list(
        db.session.scalars(
            select(Job.id).where(
                or_(
                    (Job.status == RUNNING) & (Job.heartbeat_at < stale),
                    (Job.status == QUEUED) & (Job.created_at < stale),
                )
            )
        )
    )
    db.session.rollback()
    for job_id in ids:
        enqueue(RUN_TASK, job_id)
    return len(ids)
