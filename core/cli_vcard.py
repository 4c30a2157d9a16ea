"""``contacts import-vcard FILE --user EMAIL``: the vCard import job, run here with a progress bar."""

from __future__ import annotations

import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("import-vcard")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "email", required=True, help="Import as this user (their permissions, the audit trail).")
@click.option("--team", "team_id", type=int, default=None, help="Owner team id of new contacts (default: the user's first).")
@with_appcontext
def import_vcard(path, email, team_id):
    """Import a vCard file (2.1, 3.0, 4.0): cards update the contact with their UID or email, or create one."""
    from sqlalchemy import func, select

    from .errors import ServiceError, ValidationError
    from .extensions import db
    from .models import User
    from .models.jobs import Job
    from .services import jobs, vcard_import

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    try:
        if user is None or not user.active:
            raise ValidationError({"user": f"No active user with the email {email!r}."})
        with open(path, "rb") as fh:
            job = vcard_import.start_import(user, path, fh.read(vcard_import.MAX_FILE_BYTES + 1), team_id)
    except ServiceError as exc:
        from .cli import _fail

        _fail(exc)
    job_id, app = job.id, current_app._get_current_object()

    def work():
        with app.app_context():
            jobs.run(job_id)  # "skipped" if a worker took it first: then we just follow it

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    with click.progressbar(length=job.total or 1, label=f"Importing {path}", file=sys.stderr) as bar:
        shown = 0
        while True:
            worker.join(0.3)
            db.session.rollback()
            job = db.session.get(Job, job_id, populate_existing=True)
            bar.update(max(0, job.done - shown))
            shown = max(shown, job.done)
            if job.finished:
                break
    for key, value in (job.result.get("summary") or {}).items():
        click.echo(f"{key}: {value}")
    for entry in job.errors:
        click.echo(f"{entry.get('ref')}: {entry.get('message')}", err=True)
    if job.status != "done":
        click.echo(f"error: the import {job.status}: {job.message}", err=True)
        sys.exit(1)
