"""Settings come from CONTACTS_* environment variables; every one has an embedded default.

The defaults give a working single-machine install: SQLite in ``instance/``, huey on SQLite,
an in-process cache and rate-limit store. Setting ``CONTACTS_DATABASE_URL`` and
``CONTACTS_REDIS_URL`` moves the same code onto PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    return Path(os.environ.get("CONTACTS_INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()


def load_secret_key(folder: Path) -> str:
    """Read the secret key from ``instance/secret_key``, creating it (mode 0600) on first run."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environ(env=None) -> dict:
    """Build the Flask config mapping from the environment."""
    env = os.environ if env is None else env
    folder = Path(env.get("CONTACTS_INSTANCE_PATH") or instance_path())
    redis_url = env.get("CONTACTS_REDIS_URL") or None
    database_url = env.get("CONTACTS_DATABASE_URL") or f"sqlite:///{folder / 'contacts.db'}"
    plugins = env.get("CONTACTS_PLUGINS")
    return {
        "INSTANCE_PATH": str(folder),
        "SECRET_KEY": env.get("CONTACTS_SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "HUEY_FILENAME": env.get("CONTACTS_HUEY_FILE") or str(folder / "huey.db"),
        "ENABLED_PLUGINS": [p.strip() for p in plugins.split(",") if p.strip()] if plugins is not None else None,
        "PHONE_DEFAULT_REGION": env.get("CONTACTS_PHONE_REGION", "US"),
        "EMAIL_CHECK_DELIVERABILITY": _bool(env.get("CONTACTS_EMAIL_CHECK_DNS"), False),
        # Processes that validate an import's next batch while it writes the current one (0: none).
        "IMPORT_WORKERS": int(env.get("CONTACTS_IMPORT_WORKERS", "1")),
        "LOGIN_RATE_LIMIT": env.get("CONTACTS_LOGIN_RATE_LIMIT", "10 per minute"),
        "PAGE_SIZE": int(env.get("CONTACTS_PAGE_SIZE", "50")),
        "SESSION_COOKIE_SECURE": _bool(env.get("CONTACTS_SECURE_COOKIES"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLITE_WAL_LIMIT_BYTES": int(env.get("CONTACTS_SQLITE_WAL_LIMIT", str(64 * 1024 * 1024))),
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("CONTACTS_SQLITE_BUSY_TIMEOUT_MS", "10000")),
        # production web processes checkpoint the WAL in a thread this often (core/checkpoints.py; 0: in commits)
        "SQLITE_CHECKPOINT_SECONDS": float(env.get("CONTACTS_SQLITE_CHECKPOINT_SECONDS", "1")),
        "SQLITE_CACHE_KIB": int(env.get("CONTACTS_SQLITE_CACHE_KIB", "8000")),
        # the shared page cache (core/views/page_cache.py): entries kept on disk without Redis (0: no
        # page cache), and how long an entry lives (it is never served stale: its key holds the stamps)
        "PAGE_CACHE_ENTRIES": int(env.get("CONTACTS_PAGE_CACHE_ENTRIES", "20000")),
        "PAGE_CACHE_SECONDS": int(env.get("CONTACTS_PAGE_CACHE_SECONDS", "86400")),
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        # flask-smorest
        "API_TITLE": "Contacts API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def new_test_secret() -> str:
    return secrets.token_urlsafe(32)
