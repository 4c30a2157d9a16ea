"""A file to download (an export, a job's problem report, a vCard), answered the same way from a
page and from the API: an attachment under its name, streamed when it comes in chunks, never
stored by a cache (it is the user's data as of now), and not content-sniffed."""

from __future__ import annotations

from flask import Response, stream_with_context


def download(body, filename: str, mimetype: str) -> Response:
    """``body``: text or bytes, or an iterable of chunks (streamed inside the request's context)."""
    if not isinstance(body, str | bytes):
        body = stream_with_context(body)
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })



def problem_report(job) -> Response:
    """Every problem of ``job`` as CSV (core/services/import_report.py), streamed."""
    from .services import import_report

    return download(import_report.chunks(job), f"job-{job.id}-problems.csv", "text/csv")
