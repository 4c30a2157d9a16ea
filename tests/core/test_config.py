"""Configuration: the generated secret key, environment settings."""

import os
import stat

from core.config import from_environ, load_secret_key


def test_secret_key_is_generated_once_with_mode_0600(tmp_path):
    key = load_secret_key(tmp_path)
    path = tmp_path / "secret_key"
    assert len(key) >= 40
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret_key(tmp_path) == key  # kept across restarts


def test_defaults_are_embedded(tmp_path):
    config = from_environ({"CONTACTS_INSTANCE_PATH": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'contacts.db'}"
    assert config["REDIS_URL"] is None
    assert config["ENABLED_PLUGINS"] is None
    assert config["SECRET_KEY"] is None  # generated into the instance folder by create_app
    assert config["SQLITE_BUSY_TIMEOUT_MS"] >= 5000


def test_environment_moves_to_postgresql_and_redis(tmp_path):
    config = from_environ(
        {
            "CONTACTS_INSTANCE_PATH": str(tmp_path),
            "CONTACTS_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "CONTACTS_REDIS_URL": "redis://127.0.0.1:6379/3",
            "CONTACTS_PLUGINS": "planning, monitoring,",
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert config["REDIS_URL"] == "redis://127.0.0.1:6379/3"
    assert config["ENABLED_PLUGINS"] == ["planning", "monitoring"]


def test_sqlite_pragmas_are_set(app):
    from core.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() > 0
