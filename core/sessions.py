"""Flask's signed-cookie session, with its serializer and signer built once per key rather than on
every request.

``SecureCookieSessionInterface`` makes a new ``URLSafeTimedSerializer`` (keys list, salt, signer
settings) each time it opens or saves a session: every request, cookie or not, ~15-20 µs of CPU of
a bare request's ~450. The serializer in turn makes a new ``TimestampSigner`` for every ``loads``
and ``dumps``, and the signer derives its key (an HMAC of the salt) again for every signature it
makes or checks. None of them holds per-request state, so one serializer per (secret key, fallback
keys), one signer per salt and one derived key per secret serve every request and thread; a changed
key (a test's config) gets new ones.
"""

from __future__ import annotations

import flask_login
from flask import session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner, URLSafeTimedSerializer


class KeptSigner(TimestampSigner):
    """A signer that derives the key of each secret once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._derived: dict = {}

    def derive_key(self, secret_key=None):
        found = self._derived.get(secret_key)
        if found is None:
            found = self._derived[secret_key] = super().derive_key(secret_key)
        return found


class KeptSerializer(URLSafeTimedSerializer):
    """A serializer that makes its signer once per salt."""

    default_signer = KeptSigner

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._signers: dict = {}

    def make_signer(self, salt=None):
        found = self._signers.get(salt)
        if found is None:
            found = self._signers[salt] = super().make_signer(salt)
        return found


class SessionInterface(SecureCookieSessionInterface):
    _made: tuple | None = None  # ((secret key, fallback keys), serializer)

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = self._made
        if made is None or made[0] != key:
            made = self._made = (key, _kept(super().get_signing_serializer(app)))
        return made[1]


def _kept(serializer: URLSafeTimedSerializer | None) -> KeptSerializer | None:
    """Flask's serializer, made again as a ``KeptSerializer`` with the same keys and settings."""
    if serializer is None:  # no secret key
        return None
    return KeptSerializer(
        serializer.secret_keys, salt=serializer.salt, serializer=serializer.serializer,
        signer=KeptSigner, signer_kwargs=serializer.signer_kwargs,
    )


class LoginManager(flask_login.LoginManager):
    """flask-login's, but an empty session skips its protection check at once: the check passes any
    empty session (an API request, a visitor not logged in), yet worked out the session identifier
    first (a SHA-512 of the address and the user agent, ~40 Python calls of every API request)."""

    def _session_protection_failed(self):
        if not session._get_current_object():
            return False
        return super()._session_protection_failed()
