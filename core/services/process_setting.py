"""A process-wide setting (the GIL's switch interval, the collector's thresholds) changed while any of
the imports running in a process runs: the first to start sets it, the last to end puts back what
was there before."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class ProcessSetting:
    def __init__(self, read: Callable, write: Callable, during: Callable):
        """``during(before)`` gives the value to hold, from the one found (read when the hold starts,
        so a module constant patched since, e.g. by the bench, is taken)."""
        self._read, self._write, self._during = read, write, during
        self._lock = threading.Lock()
        self._holders = 0
        self._before = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if not self._holders:
                self._before = self._read()
                self._write(self._during(self._before))
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if not self._holders:
                    self._write(self._before)
