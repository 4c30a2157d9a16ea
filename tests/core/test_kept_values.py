"""Small values read on every request (vocabularies, custom field definitions) are kept in each
process while the shared file cache's file is unchanged (core/page_store.py ``get_kept``): a change
made by another process (its ``set`` or ``delete``) is seen at the next read, an expired one is gone."""

from __future__ import annotations

import pickle

import pytest

from core import create_app
from core.extensions import cache, db
from core.models import User
from core.page_store import KeptCountFileCache
from core.services import custom_fields, vocabulary
from tests import conftest, factories


def _loads(monkeypatch) -> list:
    calls = []
    real = pickle.load

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pickle, "load", counting)
    return calls


def test_a_kept_value_follows_the_other_processes_changes(tmp_path, monkeypatch):
    mine, other = KeptCountFileCache(str(tmp_path)), KeptCountFileCache(str(tmp_path))  # two processes
    assert mine.get_kept("vocabulary") is None
    other.set("vocabulary", {"status": [("lead", "Lead")]}, timeout=300)
    loads = _loads(monkeypatch)
    first = mine.get_kept("vocabulary")
    assert first == {"status": [("lead", "Lead")]} and len(loads) == 1
    assert mine.get_kept("vocabulary") is first and len(loads) == 1  # the file is unchanged: no read
    other.set("vocabulary", {"status": [("won", "Won")]}, timeout=300)
    assert mine.get_kept("vocabulary") == {"status": [("won", "Won")]}
    other.delete("vocabulary")
    assert mine.get_kept("vocabulary") is None


def test_an_expired_value_is_not_kept(tmp_path, monkeypatch):
    cache = KeptCountFileCache(str(tmp_path))
    cache.set("fields", [1, 2], timeout=300)
    assert cache.get_kept("fields") == [1, 2]
    monkeypatch.setattr("core.page_store.time.time", lambda: 2**32 - 1)  # past every expiry
    assert cache.get_kept("fields") is None
    cache.set("forever", "x", timeout=0)
    assert cache.get_kept("forever") == "x"


@pytest.fixture
def file_cache_app(tmp_path_factory):
    """The production cache of a single host: the file cache (SQLite, no Redis)."""
    folder = tmp_path_factory.mktemp("kept")
    config = conftest.test_config(tmp_path_factory, REDIS_URL=None, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'k.db'}",
                                  CACHE_TYPE="core.page_store.KeptCountFileCache", CACHE_DIR=str(folder / "cache"))
    app = create_app(config, plugins=[])
    with app.app_context():
        db.create_all()
        vocabulary.ensure_defaults()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_vocabulary_and_field_definitions_change_at_the_next_read(file_cache_app):
    """Through the services: a change drops the shared entry and the next request reads the new one."""
    app = file_cache_app
    with app.app_context():
        admin_id = factories.user("admin").id
        assert getattr(cache.cache, "get_kept", None) is not None
    with app.test_request_context():
        before = [k for k, _ in vocabulary.terms("status")]
        assert [f.key for f in custom_fields.definitions()] == []
    with app.test_request_context():
        assert vocabulary.terms("status") is not None  # kept now
        actor = db.session.get(User, admin_id)
        vocabulary.add_term(actor, "status", "kept-test", "Kept")
        custom_fields.create_field(actor, {"key": "kept_test", "label": "Kept", "kind": "text"})
    with app.test_request_context():
        assert [k for k, _ in vocabulary.terms("status")] == [*before, "kept-test"]
        assert [f.key for f in custom_fields.definitions()] == ["kept_test"]
