"""Imports as background jobs: keep the uploaded file, preview it (a dry run of the first rows),
start the job, and the job runner ("contacts.import") that feeds the rows to the pipeline with
progress, cancel and resume. A file is a vCard file (its cards are the rows, read by
vcard_import.py; their UIDs are the external ids of source "vcard") or a CSV file (read by
csv_import.py with a column mapping).

Uploads are kept in ``<instance>/imports/`` under a random name that starts with the uploader's
id, so a user can only use their own; the job deletes its file once it has finished (or was cancelled
or failed), and uploads never started are deleted after a day.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from itertools import islice

from flask import current_app, url_for

from ..errors import ValidationError
from ..policy import require
from . import csv_import, import_report, importer, jobs, vcard_import

KIND = "contacts.import"
PREVIEW_ROWS = 500  # rows the synchronous dry-run preview looks at
KEEP_UPLOADS_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^u(\d+)-[0-9a-f]{32}$")


def _folder() -> str:
    folder = os.path.join(current_app.instance_path, "imports")
    os.makedirs(folder, exist_ok=True)
    return folder


def save_upload(actor, stream, filename: str = "") -> str:
    """Store an uploaded file; return its token. ValidationError if it is empty or too large."""
    require(actor, "contact.create")
    limit = int(current_app.config.get("IMPORT_MAX_BYTES") or current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    token = f"u{actor.id}-{secrets.token_hex(16)}"
    _sweep_old_uploads(_folder())
    path = os.path.join(_folder(), token)
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if limit and size > limit:
                out.close()
                os.unlink(path)
                raise ValidationError({"file": f"The file is larger than {limit // (1024 * 1024)} MB."})
            out.write(chunk)
    if size == 0:
        os.unlink(path)
        raise ValidationError({"file": "The file is empty."})
    return token


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sweep_old_uploads(folder: str) -> None:
    """Uploads nobody started within a day are deleted (a started import deletes its own)."""
    limit = time.time() - KEEP_UPLOADS_SECONDS
    for entry in os.scandir(folder):
        if _TOKEN.match(entry.name) and entry.stat().st_mtime < limit:
            _remove(entry.path)


def upload_path(actor, token: str) -> str:
    match = _TOKEN.match(token or "")
    path = os.path.join(_folder(), token) if match else ""
    if not match or int(match.group(1)) != actor.id or not os.path.exists(path):
        raise ValidationError({"file": "This upload is gone or is not yours; upload the file again."})
    return path


def options_from(actor, data: dict) -> importer.Options:
    """Import options from a form, the API or the CLI; ValidationError naming the field."""
    errors = {}
    team_id = data.get("team_id")
    if team_id in ("", None):
        team_id = None
    else:
        try:
            team_id = int(team_id)
        except (TypeError, ValueError):
            errors["team_id"] = "Must be a number."
            team_id = None
    dry = data.get("dry_run")
    dry = str(dry).lower() in ("1", "true", "on", "yes") if not isinstance(dry, bool) else dry
    options = importer.Options(
        key=str(data.get("key") or "email"), source=str(data.get("source") or "csv").strip()[:60], team_id=team_id, dry_run=dry
    )
    if errors:
        raise ValidationError(errors)
    importer.check_options(actor, options)
    return options


def inspect(actor, token: str) -> dict:
    """How the upload reads: its format ("csv" or "vcard"), for a CSV its layout, the auto-detected
    mapping and the first rows, and the source of its external ids."""
    path = upload_path(actor, token)
    if vcard_import.is_vcard(path):
        return {"format": "vcard", "layout": None, "mapping": {}, "rows": [], "source": vcard_import.SOURCE}
    layout = csv_import.sniff(path)
    return {
        "format": "csv",
        "layout": layout,
        "mapping": csv_import.auto_mapping(layout.headers, layout.preset),
        "rows": csv_import.preview(path, layout),
        "source": csv_import.source_of(layout),
    }


def _reader(path: str, params: dict, on_warning=None):
    """(records, count of rows) of the upload at ``path`` as ``params`` say ("format", and for a
    CSV its "layout" and "mapping")."""
    if params.get("format") == "vcard":
        return vcard_import.records(path, on_warning), lambda: vcard_import.count_cards(path)
    layout = csv_import.Layout.from_params(params["layout"])
    mapping = {int(k): v for k, v in params["mapping"].items()}
    return csv_import.records(path, layout, mapping), lambda: csv_import.count_rows(path, layout)


def _params(actor, token: str, mapping: dict, options: importer.Options) -> dict:
    """How to read the upload: its format, and for a CSV its layout and ``mapping`` (required).
    A vCard's UIDs are external ids of source "vcard" whatever ``options.source`` said."""
    path = upload_path(actor, token)
    if vcard_import.is_vcard(path):
        options.source = vcard_import.SOURCE
        return {"format": "vcard"}
    if not mapping:
        raise ValidationError({"mapping": "Map at least one column."})
    layout = csv_import.sniff(path)
    return {"format": "csv", "layout": layout.params(), "mapping": {str(k): v for k, v in mapping.items()}}


def dry_run(actor, token: str, mapping: dict, options: importer.Options, limit: int = PREVIEW_ROWS) -> importer.Outcome:
    """What importing the first ``limit`` rows (or cards) would do; nothing is written."""
    records, _count = _reader(upload_path(actor, token), _params(actor, token, mapping, options))
    options.dry_run = True
    return importer.run(actor, islice(records, limit), options)


def start(actor, token: str, mapping: dict, options: importer.Options, filename: str = ""):
    """Start the import job for an upload (a dry run when ``options.dry_run``); ``mapping`` is
    for a CSV file (a vCard file needs none)."""
    params = _params(actor, token, mapping, options)
    name = os.path.basename(filename or ("contacts.vcf" if params["format"] == "vcard" else "contacts.csv"))[:120]
    params |= {
        "file": token,
        "key": options.key,
        "source": options.source,
        "team_id": options.team_id,
        "dry_run": options.dry_run,
        "batch_size": options.batch_size,
    }
    title = f"{'Dry run of' if options.dry_run else 'Import'} {name}"
    return jobs.start(actor, KIND, params, title=title)


def _report_cells(job_id: int, path: str, params: dict) -> None:
    """The original cells of a CSV's rows that had a problem, for the report (import_report), read
    while the file is still here: only when there were problems. The last batch's problems are
    saved with its progress, before the runner returns."""
    if params.get("format") == "csv":
        import_report.attach_cells(job_id, path, csv_import.Layout.from_params(params["layout"]))


def run_job(ctx) -> dict:
    """The job runner: count the rows, then import them in batches from the checkpoint on."""
    params = ctx.params
    path = upload_path(ctx.actor, params["file"])
    options = importer.Options(
        key=params["key"], source=params["source"], team_id=params.get("team_id"), dry_run=bool(params.get("dry_run")),
        batch_size=int(params.get("batch_size") or importer.BATCH),
    )
    after = 0 if options.dry_run else int(ctx.checkpoint.get("row") or 0)

    def warn(ref, message):  # what a kept row left out, once (not again for rows done before a resume)
        if ref > after:
            ctx.error(ref, message)

    records, count = _reader(path, params, on_warning=warn)
    total = count()
    if not ctx.checkpoint:
        ctx.progress(0, total)

    def on_batch(outcome):
        if options.dry_run:
            ctx.progress(outcome.done, total)
        else:
            ctx.progress(outcome.done, total, checkpoint=outcome.checkpoint())

    try:
        outcome = importer.run(
            ctx.actor, records, options,
            checkpoint=None if options.dry_run else ctx.checkpoint, on_batch=on_batch, on_error=ctx.error,
            # Batch N is written on a thread while N+1 is read (import_pipeline.py). Not for vCard:
            # its reader reports warnings through ctx.error while it reads, on this thread.
            pipeline=params.get("format") != "vcard",
        )
    except Exception:  # cancelled or failed: it will not run again. (A killed worker keeps the file to resume.)
        _report_cells(ctx.job_id, path, params)
        _remove(path)
        raise
    _report_cells(ctx.job_id, path, params)
    if not options.dry_run:
        _remove(path)
    try:
        home = url_for("contacts.index")
    except RuntimeError:  # no request: a worker without SERVER_NAME
        home = "/"
    result = {"summary": outcome.summary(), "links": [{"label": "See the contacts", "url": home}]}
    if options.dry_run:
        result["samples"] = outcome.samples
        result["links"] = []
    return result
