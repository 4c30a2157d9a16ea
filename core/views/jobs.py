"""Background jobs as the user follows them: a list, a page per job with a progress bar that
polls while it runs, cancel, and the per-item error report as CSV."""

from __future__ import annotations

import json

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from ..access import login_required
from ..downloads import problem_report
from ..errors import Conflict
from ..extensions import htmx
from ..services import jobs as service
from .rendering import page

bp = Blueprint("jobs", __name__, url_prefix="/jobs", template_folder="../templates")

ID = "<int(max=2147483647):job_id>"


def _user():
    return current_user._get_current_object()


@bp.get("/")
@login_required
def index():
    return render_template("core/jobs/index.html", jobs=service.recent_jobs(_user()))


@bp.get(f"/{ID}")
@login_required
def show(job_id: int):
    return page("core/jobs/show.html", "progress", job=service.get_job(_user(), job_id))


@bp.get(f"/{ID}/progress")
@login_required
def progress(job_id: int):
    job = service.get_job(_user(), job_id)
    response = make_response(render_template("core/jobs/_progress.html", job=job))
    response.headers["Cache-Control"] = "no-store"
    if job.finished:  # pages showing the job (the contacts list after a bulk action) refresh on this event
        response.headers["HX-Trigger"] = json.dumps({"jobFinished": {"id": job.id, "kind": job.kind}})
    return response


@bp.post(f"/{ID}/cancel")
@login_required
def cancel(job_id: int):
    try:
        job = service.cancel(_user(), job_id)
    except Conflict as exc:
        job = service.get_job(_user(), job_id)
        notice = exc.message
        if htmx:
            return render_template("core/jobs/_progress.html", job=job, notice=notice)
        flash(notice, "error")
        return redirect(url_for("jobs.show", job_id=job_id))
    if htmx:
        return render_template("core/jobs/_progress.html", job=job)
    flash("The job will stop after its current batch.", "success")
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.get(f"/{ID}/errors.csv")
@login_required
def errors(job_id: int):
    """Every problem of the job, streamed; for a CSV import, the file's own rows with Row and
    Problem (import_report), to fix and upload again."""
    return problem_report(service.get_job(_user(), job_id))
