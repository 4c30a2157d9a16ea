"""JSON errors for /api/ only: HTTP errors keep their headers, service errors get their status.

Every error body has flask-smorest's shape: ``{"code", "status", "message", "errors"}``, where
``errors`` maps a location (``json`` or ``query``) to ``{field: [messages]}``.
"""

from __future__ import annotations

from copy import deepcopy

from flask import jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from ..errors import Conflict, ServiceError, ValidationError
from .schemas import ConflictSchema, ErrorSchema

API_PREFIX = "/api/"

DESCRIPTIONS = {
    400: "The request is malformed (for example, the body is not valid JSON).",
    401: "No valid API token: send `Authorization: Bearer <token>`.",
    403: "You may see this record but not change it (viewers are read-only).",
    404: "No such record, or it belongs to a team you are not in.",
    409: "The record changed since you read it: the body shows the current record and what differs.",
    412: "If-Match does not name an ETag of this record.",
    422: "A field is invalid; `errors.json` (or `errors.query`) names each field with its messages.",
    428: "Send the record's ETag in `If-Match` to change it.",
}


MESSAGES = {
    401: "Send a valid API token: Authorization: Bearer <token>.",
    404: "No such resource.",
    500: "Internal server error.",
}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(code: int, message: str | None = None, errors: dict | None = None, headers=None, **extra):
    payload = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Unknown Error")}
    if message:
        payload["message"] = message
    if errors is not None:
        payload["errors"] = errors
    payload.update(extra)
    response = jsonify(payload)
    response.status_code = code
    if isinstance(headers, dict):
        headers = headers.items()
    for key, value in headers or ():
        response.headers.add(key, value)
    if code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="contacts"')
    return response


def http_error(error: HTTPException):
    """An HTTP error on an API path, as JSON, keeping headers such as Allow and Retry-After."""
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    extra_headers = data.get("headers") or {}
    headers.extend(extra_headers.items())
    errors = data.get("errors", data.get("messages"))
    message = data.get("message") or MESSAGES.get(code) or error.description
    return error_response(code, message, errors, headers)


def service_error(exc: ServiceError):
    """A service's refusal, as JSON with the matching status."""
    if isinstance(exc, ValidationError):
        location = "query" if request.method in ("GET", "HEAD") else "json"
        return error_response(422, exc.message, {location: exc.errors})
    if isinstance(exc, Conflict):
        return conflict(exc)
    return error_response(exc.status, exc.message or None)


def conflict(exc: Conflict):
    from ..models import Contact, Organization
    from .etags import etag_of
    from .schemas import ContactSchema, OrganizationSchema

    current = exc.current
    schema = (
        ContactSchema()
        if isinstance(current, Contact)
        else OrganizationSchema()
        if isinstance(current, Organization)
        else None
    )
    body = schema.dump(current) if schema is not None else None
    changes = {
        field: {"yours": _plain(mine), "current": _plain(theirs)} for field, (mine, theirs) in exc.changes.items()
    }
    headers = {"ETag": etag_of(current)} if schema is not None else {}
    return error_response(409, exc.message, None, headers, current=body, changes=changes)


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# One of each for the whole document (ErrorSchema is shared, never copied: core/api/schemas.py).
ERROR_SCHEMA = ErrorSchema()
CONFLICT_SCHEMA = ConflictSchema()


def documented(blueprint, *codes: int, descriptions=DESCRIPTIONS, error=ERROR_SCHEMA, conflict=CONFLICT_SCHEMA):
    """Declare the error answers of an operation in the OpenAPI document (a plugin passes its own
    descriptions and schemas).

    Records what ``blueprint.alt_response(code, schema=..., description=...)`` would, for every code
    at once and on the view itself: alt_response wraps the view once per code, each time
    deep-copying the operation's documentation gathered so far and building a new ErrorSchema,
    which was ~30 ms of each web worker's start (~280 error answers) and left a layer of calls per
    code on every request."""

    def decorator(func):
        # a copy, as flask-smorest's decorators make: the documentation may be shared with a wrapped function
        doc = deepcopy(getattr(func, "_apidoc", {}))
        answers = doc.setdefault("response", {}).setdefault("responses", {})
        for code in codes:
            schema = blueprint._make_doc_response_schema(conflict if code == 409 else error)
            answers.setdefault(code, []).append({"schema": schema, "description": descriptions[code], "content_type": None})
        func._apidoc = doc
        return func

    return decorator
