"""Flask's signed-cookie session, with its signer built once per key rather than on every request.

``SecureCookieSessionInterface`` makes a new ``URLSafeTimedSerializer`` (keys list, salt, signer
settings) each time it opens or saves a session: every request, cookie or not, ~15-20 µs of CPU of
a bare request's ~450. The serializer holds no per-request state, so one per (secret key, fallback
keys) serves every request and thread; a changed key (a test's config) gets a new one.
"""

from __future__ import annotations

import flask_login
from flask import session
from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    _made: tuple | None = None  # ((secret key, fallback keys), serializer)

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = self._made
        if made is None or made[0] != key:
            made = self._made = (key, super().get_signing_serializer(app))
        return made[1]


class LoginManager(flask_login.LoginManager):
    """flask-login's, but an empty session skips its protection check at once: the check passes any
    empty session (an API request, a visitor not logged in), yet worked out the session identifier
    first (a SHA-512 of the address and the user agent, ~40 Python calls of every API request)."""

    def _session_protection_failed(self):
        if not session._get_current_object():
            return False
        return super()._session_protection_failed()
