"""Errors the services raise; the UI and the API turn each into the right answer."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str = "", **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class ValidationError(ServiceError):
    """Bad input; ``errors`` maps each field to its messages (422)."""

    status = 422

    def __init__(self, errors: dict[str, list[str] | str], message: str = "Please correct the highlighted fields."):
        super().__init__(message)
        self.errors = {k: ([v] if isinstance(v, str) else list(v)) for k, v in errors.items()}


class NotFound(ServiceError):
    status = 404

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


class PermissionDenied(ServiceError):
    status = 403


class Conflict(ServiceError):
    """The record changed since the caller read it (409); ``changes`` says what differs."""

    status = 409

    def __init__(self, message: str, current=None, changes: dict | None = None):
        super().__init__(message)
        self.current = current
        self.changes = changes or {}
