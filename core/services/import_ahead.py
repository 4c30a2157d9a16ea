"""Validating an import's next batch in another process while this one writes the current one
(importer.run; the machine has more than one core, the import is bound by one).

The worker runs ``fields.check_many``: the very ``normalize_email`` (email-validator) and
``normalize_phone`` (phonenumbers) the form and the API use, with the app's settings, on the
batch's email and phone cells. Its answers are only a head start: the importer processes each
batch exactly as before, in order, in its own transaction, and ``contacts._clean`` takes an
answer from ``fields.prevalidated`` instead of working it out again. So per-row errors, the
checkpoint and resume, and the batch atomicity are those of importer.py; a cell without an
answer (a worker that died) is validated in this process as usual. Imports of a single batch
never start a process.

The first batch is validated in the worker too (it is read before the worker is started, once a
second batch shows it is worth one): waiting for the worker to start (~0.15 s) costs no CPU here,
while validating the first two batches here as it started cost ~0.13 CPU s (bench.import_floor
capture of 30,000 rows: the job thread 30-32 -> 25-28 µs a row). Each batch's answers are waited
for only when first asked (``_Answers``): the importer reads and matches the batch meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from flask import current_app

from . import fields

log = logging.getLogger(__name__)


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def cells(batch: list) -> list[tuple[str, str]]:
    """The ``(kind, raw)`` cells of a batch that ``contacts._clean`` and the appliers normalize,
    as they will pass them (trimmed)."""
    out = []
    append = out.append
    for _ref, record in batch:
        if not isinstance(record, dict):
            continue
        email = record.get("email")
        if email is not None and (email := _text(email)):
            append(("email", email))
        extra = record.get("extra")
        phones = extra.get("phones") if extra else None
        for phone in phones or (record.get("phone"),):
            if phone is not None and (phone := _text(phone)):
                append(("phone", phone))
    return out


def ahead(batches: Iterable[list], workers: int | None = None) -> Iterator[tuple[list, dict]]:
    """Yield ``(batch, answers)`` for ``fields.prevalidated``; batch N+1 is being validated in a
    worker process while the caller writes batch N. ``workers`` (default: the IMPORT_WORKERS
    setting) 0 validates nothing ahead: every answer is then ``{}``."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A worker being started re-runs the main script (spawn): one that imports at top level
        # would import its file again from the worker. Python requires the guard; say so.
        raise RuntimeError("An import ran while a worker process was starting: put the script's "
                           "code under `if __name__ == '__main__':`.")
    config = current_app.config
    workers = int(config.get("IMPORT_WORKERS", 1) if workers is None else workers)
    settings = (bool(config["EMAIL_CHECK_DELIVERABILITY"]), config["PHONE_DEFAULT_REGION"])
    pool: ProcessPoolExecutor | None = None
    pending: tuple[list, Future | None] | None = None
    try:
        for batch in batches:
            if pool is None and pending is not None and workers > 0:  # a second batch: worth a process
                pool = _start(workers)
                workers = workers if pool is not None else 0
                if pool is not None:  # the first batch too: the worker starts on it
                    pending = (pending[0], _submit(pool, pending[0], settings))
                    if pending[1] is None:
                        pool, workers = _stop(pool), 0
            future = None
            if pool is not None:
                future = _submit(pool, batch, settings)
                if future is None:
                    pool, workers = _stop(pool), 0
            if pending is not None:
                yield pending[0], _Answers(pending[1]) if pending[1] is not None else {}
            pending = (batch, future)
        if pending is not None:
            yield pending[0], _Answers(pending[1]) if pending[1] is not None else {}
    finally:
        _stop(pool)


class _Answers:
    """A batch's answers for ``fields.prevalidated``, waited for when first asked (``get``): the
    caller reads the batch and looks up its keys meanwhile. Once there, ``get`` is the dict's own."""

    def __init__(self, future: Future):
        self._future = future

    def __bool__(self) -> bool:
        return True

    def get(self, key, default=None):
        answers = _answers(self._future)
        self.get = answers.get  # the next asks go straight to the dict
        return answers.get(key, default)


# The worker runs at a lower priority than the import's writer thread, the critical path (the job's
# thread and the worker have slack: the job's thread waited for the writer about half the import).
# Three busy threads on two cores made the writer wait for a core ~3.2 s of a 60,000-row import at
# 1M; niced, ~1.2 s, and the job's thread no longer waited for it (bench.import_floor capture
# --threads, alternate runs at load 1.5-2.3: wall 9.94/10.07 -> 9.50/9.72 s).
WORKER_NICE = 10


def _start(workers: int) -> ProcessPoolExecutor | None:
    if multiprocessing.current_process().daemon:  # a daemonic process may not have children
        return None
    # Spawn, not fork: this process has threads (one may hold a lock the child would need) and open
    # database connections. Spawn starts a fresh interpreter that imports the main module again
    # (``python -m``, console scripts and servers guard it with ``if __name__ == "__main__"``).
    try:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=os.nice, initargs=(WORKER_NICE,))
    except (OSError, ValueError):
        log.warning("import: no validation worker; validating in this process", exc_info=True)
        return None


def _submit(pool: ProcessPoolExecutor, batch: list, settings: tuple) -> Future | None:
    try:
        return pool.submit(fields.check_many, cells(batch), *settings)
    except RuntimeError:  # the pool broke (a worker died)
        log.warning("import: the validation worker is gone; validating in this process", exc_info=True)
        return None


def _answers(future: Future | None) -> dict:
    if future is None:
        return {}
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - a dead worker costs speed, never rows: they are validated here
        log.warning("import: the validation worker failed; validating this batch in this process", exc_info=True)
        return {}


def _stop(pool: ProcessPoolExecutor | None) -> None:
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
