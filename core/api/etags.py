"""ETags and If-Match: optimistic concurrency for PATCH.

A record's ETag is ``"<id>-<version>"`` (strong: the JSON of one version never changes). A PATCH
must send it back in ``If-Match``: none answers 428, one that names no version of this record
412, a stale one 409 (raised by the service, which compares inside its transaction).
``If-Match: *`` deliberately overwrites whatever is stored.
"""

from __future__ import annotations

import re

from flask import request
from flask_smorest import abort

_TAG = re.compile(r'(?:W/)?"(\d{1,19})-(\d{1,19})"')


def etag_of(record) -> str:
    return f'"{record.id}-{record.version}"'


def with_etag(response, record):
    response.headers["ETag"] = etag_of(record)
    return response


def expected_versions(record_id: int) -> list[int] | None:
    """The versions the client's If-Match names for this record; None for ``*``."""
    header = (request.headers.get("If-Match") or "").strip()
    if not header:
        abort(428, message="Send the record's ETag in If-Match (GET the record to learn it).")
    if header == "*":
        return None
    versions = []
    for part in header.split(","):
        match = _TAG.fullmatch(part.strip())
        if match and int(match[1]) == record_id:
            versions.append(int(match[2]))
    if not versions:
        abort(412, message=f'If-Match names no ETag of this record; expected "{record_id}-<version>".')
    return versions


def pick_version(versions: list[int] | None, current_version) -> int | None:
    """One expected version for the service: the current one when the client listed it."""
    if versions is None:
        return None
    if len(versions) > 1 and current_version() in versions:
        return current_version()
    return versions[0]


def etag_header(description: str) -> dict:
    """The OpenAPI ``headers`` entry for a response that carries the record's ETag."""
    return {"ETag": {"description": description, "schema": {"type": "string"}}}


def if_match_parameter(example: str) -> dict:
    """The OpenAPI ``If-Match`` header parameter that an update requires."""
    return {
        "in": "header",
        "name": "If-Match",
        "required": True,
        "schema": {"type": "string"},
        "description": f'The ETag from the last GET, e.g. "{example}".',
    }
