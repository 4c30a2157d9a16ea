"""Job kinds the core no longer starts, for the jobs queued before an upgrade that still name them.

``contacts.import_vcard``: the vCard import had a runner of its own that carried the file's text in
the job's params (upsert by UID, else email). vCard files now go through the import pipeline
(``contacts.import``, core/services/import_jobs.py), which upserts by external id (a card's UID,
source "vcard"), else email: the same rule. Such a job is turned into an import job (the text
saved as an upload of the user who started it, the params and the bookmark rewritten, so a run
cut short resumes as an import job) and runs as one.
"""

from __future__ import annotations

import io

from ..database import transaction
from ..errors import ServiceError, ValidationError
from ..extensions import db
from ..models import Job
from . import import_jobs, importer, vcard_import

VCARD_KIND = "contacts.import_vcard"
_OLD_COUNTS = {"Created": "created", "Updated": "updated", "Rejected": "rejected"}


def _checkpoint(old: dict) -> dict:
    """The old runner's bookmark (the last card done and its counts) as the pipeline's."""
    if not old.get("card"):
        return {}
    counts = {new: int((old.get("counts") or {}).get(key) or 0) for key, new in _OLD_COUNTS.items()}
    return {"row": int(old["card"]), "counts": counts}


def run_vcard_import(ctx) -> dict:
    """Run an old ``contacts.import_vcard`` job as the ``contacts.import`` job it would be now."""
    text = ctx.params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ServiceError(
            "This vCard import was queued before an upgrade and its file was not kept: "
            "import the file again from the import page."
        )
    options = importer.Options(key="external_id", source=vcard_import.SOURCE, team_id=ctx.params.get("owner_team_id"))
    try:
        importer.check_options(ctx.actor, options)
    except ValidationError:
        raise ServiceError(
            "This vCard import was queued for a team you can no longer add contacts to: "
            "import the file again and choose one of your teams."
        ) from None
    token = import_jobs.save_upload(ctx.actor, io.BytesIO(text.encode("utf-8")), ctx.params.get("filename") or "")
    params = {
        "format": "vcard",
        "file": token,
        "key": options.key,
        "source": options.source,
        "team_id": options.team_id,
        "dry_run": False,
        "batch_size": options.batch_size,
    }
    checkpoint = _checkpoint(ctx.checkpoint)
    with transaction():
        job = db.session.get(Job, ctx.job_id, populate_existing=True)
        job.kind, job.params, job.checkpoint = import_jobs.KIND, params, checkpoint
    ctx.kind, ctx.params, ctx.checkpoint = import_jobs.KIND, params, checkpoint
    return import_jobs.run_job(ctx)
