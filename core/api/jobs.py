"""/api/v1/jobs: follow and cancel a background job (imports, bulk changes, scans)."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields

from ..access import login_required
from ..downloads import problem_report
from ..services import jobs as service
from .errors import DESCRIPTIONS, documented

ENDED = {**DESCRIPTIONS, 409: "The job has already ended (done, failed or cancelled): there is nothing to cancel."}

bp = Blueprint("api_jobs", __name__, url_prefix="/api/v1", description="Background jobs.")


class JobErrorSchema(ma.Schema):
    ref = fields.Raw(metadata={"description": "The item: a row number, a contact id...", "example": 17})
    message = fields.String(metadata={"description": "What was wrong with it.", "example": "email: Not a valid address."})


class JobSchema(ma.Schema):
    """A background job as the API returns it."""

    id = fields.Integer(metadata={"description": "Identifier.", "example": 7})
    kind = fields.String(metadata={"description": "What the job does.", "example": "contacts.import"})
    title = fields.String(metadata={"description": "What the job is, as shown to people.", "example": "Import contacts.csv"})
    status = fields.String(
        metadata={"description": "queued, running, done, failed or cancelled.", "example": "running"}
    )
    total = fields.Integer(allow_none=True, metadata={"description": "Items to do, when known.", "example": 1000})
    done = fields.Integer(metadata={"description": "Items done so far.", "example": 250})
    percent = fields.Integer(allow_none=True, metadata={"description": "Done, in percent, when the total is known.", "example": 25})
    error_count = fields.Integer(metadata={"description": "Items that could not be done.", "example": 2})
    errors = fields.List(fields.Nested(JobErrorSchema), metadata={
        "description": "The first 1,000 problems (every one: `/api/v1/jobs/{id}/problems.csv`)."})
    cancel_requested = fields.Boolean(metadata={"description": "Someone asked the job to stop."})
    message = fields.String(metadata={"description": "Why the job failed, if it did."})
    result = fields.Dict(metadata={"description": "What the job produced, once done."})
    created_at = fields.DateTime(format="iso", metadata={"description": "When it was started (UTC)."})
    started_at = fields.DateTime(format="iso", allow_none=True, metadata={"description": "When a worker took it (UTC)."})
    finished_at = fields.DateTime(format="iso", allow_none=True, metadata={"description": "When it ended (UTC)."})


@bp.route("/jobs/<int(max=2147483647):job_id>", methods=["GET"], tags=["jobs"])
@login_required
@bp.response(200, JobSchema)
@documented(bp, 401, 404)
def get_job(job_id: int):
    """A job you started (admins: any job)"""
    return service.get_job(current_user._get_current_object(), job_id)


@bp.route("/jobs/<int(max=2147483647):job_id>/cancel", methods=["POST"], tags=["jobs"])
@login_required
@bp.response(200, JobSchema)
@documented(bp, 401, 404, 409, descriptions=ENDED)
def cancel_job(job_id: int):
    """Ask a job to stop (at once when queued, after its current batch when running)"""
    return service.cancel(current_user._get_current_object(), job_id)


@bp.route("/jobs/<int(max=2147483647):job_id>/problems.csv", methods=["GET"], tags=["jobs"])
@login_required
@bp.response(200, description="Every problem as CSV (text/csv), streamed.", content_type="text/csv")
@documented(bp, 401, 404)
def job_problems(job_id: int):
    """Every problem of a job, as CSV

    For a CSV import: the file's own header and each row that had a problem (rejected, or imported
    with a value left out) as the file has it, then `Row` and `Problem`: fix it and upload it
    again. Otherwise `item, problem`. The same report as the job page's download.
    """
    return problem_report(service.get_job(current_user._get_current_object(), job_id))
