"""Delivery settings: SMTP and the retry policy.

Each setting is read from the app config (``COMMUNICATIONS_SMTP_HOST`` ...) and, when that is not
set, from the environment (``CONTACTS_SMTP_HOST`` ...), so a deployment only exports variables.
With no SMTP host, email goes to ``instance/outbox/`` as ``.eml`` files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

ENV = {
    "SMTP_HOST": "CONTACTS_SMTP_HOST",
    "SMTP_PORT": "CONTACTS_SMTP_PORT",
    "SMTP_USER": "CONTACTS_SMTP_USER",
    "SMTP_PASSWORD": "CONTACTS_SMTP_PASSWORD",
    "SMTP_TLS": "CONTACTS_SMTP_TLS",  # "starttls", "ssl" or "none"
    "SMTP_TIMEOUT": "CONTACTS_SMTP_TIMEOUT",
    "MAIL_FROM": "CONTACTS_MAIL_FROM",
    "MAX_ATTEMPTS": "CONTACTS_COMMUNICATIONS_MAX_ATTEMPTS",
    "RETRY_BASE_SECONDS": "CONTACTS_COMMUNICATIONS_RETRY_BASE_SECONDS",
    "RETRY_MAX_SECONDS": "CONTACTS_COMMUNICATIONS_RETRY_MAX_SECONDS",
    "CLAIM_TTL_SECONDS": "CONTACTS_COMMUNICATIONS_CLAIM_TTL_SECONDS",
}
TLS_MODES = ("starttls", "ssl", "none")


def get(name: str, default=None):
    value = current_app.config.get(f"COMMUNICATIONS_{name}")
    if value is None or value == "":
        value = os.environ.get(ENV[name]) or None
    return default if value is None else value


def _int(name: str, default: int, low: int = 0) -> int:
    try:
        return max(low, int(get(name, default)))
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    user: str
    password: str
    tls: str
    timeout: float
    sender: str


def smtp() -> Smtp | None:
    """The SMTP settings, or None when no host is configured (the file outbox is used)."""
    host = (get("SMTP_HOST") or "").strip()
    if not host:
        return None
    tls = str(get("SMTP_TLS", "")).strip().lower()
    port = _int("SMTP_PORT", 0)
    if tls in ("", "auto"):  # no port either: STARTTLS on 587; a local relay on another port: plain
        tls = "ssl" if port == 465 else "starttls" if port in (0, 587) else "none"
    if tls in ("1", "true", "yes", "on"):
        tls = "starttls"
    if tls in ("0", "false", "no", "off"):
        tls = "none"
    if tls not in TLS_MODES:
        raise ValueError(f"CONTACTS_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    port = port or {"ssl": 465, "starttls": 587}.get(tls, 25)
    return Smtp(
        host=host, port=port, user=get("SMTP_USER", ""), password=get("SMTP_PASSWORD", ""), tls=tls,
        timeout=float(get("SMTP_TIMEOUT", 30)), sender=sender(),
    )


def sender() -> str:
    return str(get("MAIL_FROM", "contacts@localhost")).strip()


def outbox_folder() -> Path:
    return Path(current_app.config.get("INSTANCE_PATH") or current_app.instance_path) / "outbox"


def max_attempts() -> int:
    return _int("MAX_ATTEMPTS", 5, low=1)


def retry_delay_seconds(attempts: int) -> int:
    """Exponential backoff: base, 2×base, 4×base ... capped (attempts counts the failed ones)."""
    base = _int("RETRY_BASE_SECONDS", 60)
    cap = _int("RETRY_MAX_SECONDS", 3600)
    return min(cap, base * 2 ** max(0, attempts - 1))


def claim_ttl_seconds() -> int:
    """How long a worker may hold a send before the sweeper treats the worker as dead.

    Far above the SMTP timeout, so a live worker never loses its claim in the middle of a send.
    """
    return _int("CLAIM_TTL_SECONDS", 600, low=1)
