"""The process copy of values kept under the shared version (``stamps.local``): bounded, and what the
active pages keep asking for stays when the bound is reached."""

from __future__ import annotations

from core.services import stamps


def test_a_full_copy_drops_the_least_recently_used_entry_only(ctx, monkeypatch):
    """Many users on one worker: each page keeps a few entries (identity, menus, nav). When the copy is
    full, the entry not asked for the longest goes, not all of them (emptying the whole copy made every
    active user's entries again)."""
    monkeypatch.setattr(stamps, "LOCAL_SIZE", 4)
    stamps.page_version()  # a list page's stamps: the shared version is known
    made = []

    def get(key):
        return stamps.local("test-lru", key, make=lambda: made.append(key) or key)

    for key in range(4):
        assert get(key) == key
    assert get(0) == 0  # asked again: now the most recent
    assert get(4) == 4  # the copy is full: 1, the least recently used, goes
    assert made == [0, 1, 2, 3, 4]
    assert [get(k) for k in (0, 2, 3, 4)] == [0, 2, 3, 4]
    assert made == [0, 1, 2, 3, 4]  # all still kept
    assert get(1) == 1 and made[-1] == 1  # made again
    assert len([k for k in stamps._LOCAL if k[0] == "test-lru"]) == 4
