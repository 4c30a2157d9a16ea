"""The shared page cache's store on a single host without Redis: files under ``instance/page-cache``,
read and written by every worker process (flask-caching's FileSystemCache), bounded in entries.

FileSystemCache prunes one file at a time once it is full: every later ``set`` reads the header of
every file to find the oldest, ~100 ms at 20,000 entries, on every miss. This one, when the count
passes the threshold, removes the least recently written fifth in one pass (one ``scandir``, no
file opened), so a full cache costs one pass per ``threshold / 5`` writes. The count kept in a file
is updated by several processes without a lock and may drift; each pass sets it from the directory.

FileSystemCache also counts the files at every start, in every worker (``os.listdir`` and a hash of
each name: ~50 ms of CPU at 20,000 entries, ~80 ms at the ~34,000 a full bench run leaves before
its restart). ``KeptCountFileCache`` reads the count the folder keeps instead, and counts only a
folder that keeps none; the app's own FileSystemCache (``CACHE_TYPE``, core/setup.py) is one too.

``get_kept`` answers a small value read on every request (the vocabularies, the custom field
definitions: two file reads and unpickles per contact write) from a copy kept in the process while
its file is the one the copy was read from: one ``stat`` instead.
"""

from __future__ import annotations

import os
import pickle
import struct
import time

from flask_caching.backends.filesystemcache import FileSystemCache

KEEP = 0.8  # share of the threshold left after a pass


class KeptCountFileCache(FileSystemCache):
    def __init__(self, cache_dir: str, threshold: int = 500, *args, **kwargs):
        super().__init__(cache_dir, 0, *args, **kwargs)  # threshold 0: FileSystemCache counts nothing
        self._threshold = threshold
        self._kept: dict = {}
        if threshold and self.get(self._fs_count_file) is None:
            self._update_count(value=sum(1 for _ in self._list_dir()))

    def get_kept(self, key: str):
        """``get(key)``, from this process's copy while the file is unchanged (same inode, modification
        time and size: ``set`` replaces the file, ``delete`` removes it, in any process) and not
        expired. The callers share the copy: they must not change it."""
        filename = self._get_filename(key)
        try:
            found = os.stat(filename)
        except FileNotFoundError:
            self._kept.pop(key, None)
            return None
        kept = self._kept.get(key)
        if kept is not None and kept[0] == (found.st_ino, found.st_mtime_ns, found.st_size) and (
                kept[1] == 0 or kept[1] >= time.time()):
            return kept[2]
        try:
            with open(filename, "rb") as f:
                found = os.fstat(f.fileno())  # what is read now is this file's content
                expires = struct.unpack("I", f.read(4))[0]
                if expires and expires < time.time():
                    return None
                value = self.serializer.load(f)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, struct.error, pickle.UnpicklingError):
            return self.get(key)  # which reports the broken file as before
        self._kept[key] = ((found.st_ino, found.st_mtime_ns, found.st_size), expires, value)
        return value


class PageFileCache(KeptCountFileCache):
    def _prune(self) -> None:
        if not self._over_threshold():
            return
        entries = []
        with os.scandir(self._path) as found:
            for entry in found:
                if self._is_mgmt(entry.name):
                    continue
                try:
                    entries.append((entry.stat().st_mtime_ns, entry.path))
                except FileNotFoundError:  # another process removed it
                    continue
        entries.sort()
        excess = len(entries) - int(self._threshold * KEEP)
        removed = 0
        for _mtime, path in entries[: max(excess, 0)]:
            try:
                os.remove(path)
                removed += 1
            except FileNotFoundError:
                continue
        self._update_count(value=len(entries) - removed)
