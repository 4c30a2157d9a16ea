"""Writing an import's batch N on a thread of its own while batch N+1 is read, validated and
matched on the job's thread (importer.run with ``pipeline``).

Why: a batch's write is mostly SQLite (or the PostgreSQL driver) at work: the multi-row inserts,
their indexes and the search-index triggers, the commit. The driver releases the GIL meanwhile, so
the next batch's Python (CSV, ``contacts._clean``, lookups, building rows) runs on the other core.

What stays as in the serial import (importer.py):
- Batches are written one at a time, in file order, each in its own transaction with its audit
  entries, its rows' errors and the job's progress and checkpoint (``on_batch`` runs inside it).
  At most one batch is in flight; the job's thread waits for it before handing over the next, and
  before it stops for any reason (an error, a cancel, a killed worker's SystemExit), so a crash
  loses at most the batch in flight and a resumed run starts after the last committed one.
- The planning of batch N+1 reads what is committed. A batch that shares an email or external id
  with the batch in flight waits for it first (so a person met in both is matched, not created
  twice); an organization batch N creates is handed to batch N+1 as the same ``NewOrg`` (its id is
  set when N writes it, before N+1 is written).
- Each batch is counted on its own ``Outcome`` and added to the import's inside its transaction.
- A batch whose write fails on a unique key (a concurrent edit) is rolled back and done again on
  the job's thread the serial way (row by row where needed), and the batch planned meanwhile is
  planned again.

The writer thread has its own app context, hence its own session and connection; the actor is
loaded again there. Reads on the job's thread start a fresh snapshot before each batch
(``database.end_read_snapshot``; the contacts a batch matches are read with ``populate_existing``).
Those contacts are read once: the job's thread hands them over to the writer's session
(``_hand_over``), which checks under the write lock that none changed since (their versions).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import end_read_snapshot, transaction
from ..extensions import db
from ..models import Contact, User
from ..policy import pinned_teams
from . import import_writer, vocabulary
from .fields import prevalidated
from .process_setting import ProcessSetting

log = logging.getLogger(__name__)


def possible() -> bool:
    """A second connection sees the same database (not so for SQLite's private in-memory one)."""
    url = db.engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class Writer:
    """One thread running the write transactions handed to it, one at a time, in order."""

    def __init__(self, app):
        self._app = app
        self._todo: queue.Queue = queue.Queue()
        self._done: queue.Queue = queue.Queue()
        self.busy = False
        self._thread = threading.Thread(target=self._loop, name="import-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        with self._app.app_context():
            while (work := self._todo.get()) is not None:
                try:
                    work()
                except BaseException as exc:  # noqa: BLE001 - handed to the job's thread by wait()
                    self._done.put(exc)
                else:
                    self._done.put(None)
                finally:
                    db.session.remove()  # the next batch starts with a fresh session

    def submit(self, work) -> None:
        assert not self.busy, "one batch in flight at a time"
        self.busy = True
        self._todo.put(work)

    def wait(self) -> None:
        """Wait for the batch in flight (if any); raise what its write raised."""
        if not self.busy:
            return
        error = self._done.get()
        self.busy = False
        if error is not None:
            raise error

    def close(self) -> None:
        """Wait for the batch in flight and end the thread. Called when the job's thread stops, also
        on an error: what that batch raised then is logged (the first error is the one raised)."""
        try:
            self.wait()
        except BaseException:  # noqa: BLE001 - the job is stopping on an earlier error
            log.warning("import: the batch in flight failed while the import was stopping", exc_info=True)
        finally:
            self._todo.put(None)
            self._thread.join()


class _WriteState:
    """What import_writer needs of the import's state, for the writer thread's session."""

    __slots__ = ("actor", "options", "team_id")

    def __init__(self, actor, options, team_id):
        self.actor, self.options, self.team_id = actor, options, team_id


def run(state, batches, outcome, on_batch, on_error) -> None:
    """Import ``batches`` (``(batch, answers)`` from import_ahead) as importer.run does, writing
    each batch on the writer thread while the next one is planned here."""
    with _switching():
        _run(state, batches, outcome, on_batch, on_error)


def _run(state, batches, outcome, on_batch, on_error) -> None:
    from . import importer

    writer = Writer(current_app._get_current_object())
    actor_id, options, team_id = state.actor.id, state.options, state.team_id
    inflight = None  # (parsed batch, plan, answers) being written

    def write(plan, updates, batch_outcome, answers) -> None:
        """On the writer thread: the batch's transaction, as importer._run_batch writes it. Nothing
        of the job thread's session is touched here: ``updates`` were taken out of it."""
        with prevalidated(answers), vocabulary.pinned(), pinned_teams(), transaction():
            wstate = _WriteState(db.session.get(User, actor_id), options, team_id)
            if updates:  # the contacts the job's thread loaded, as they are now (see _hand_over)
                versions = dict(db.session.execute(
                    select(Contact.id, Contact.version).where(Contact.id.in_([c.id for c in updates]))).all())
                if any(versions.get(c.id) != c.version for c in updates):
                    raise _Redo("a contact to update was changed or deleted since the batch was planned")
                db.session.add_all(updates)
            saved = outcome.snapshot()
            try:
                importer._write(wstate, plan, batch_outcome, None, None, write=True)
                outcome.merge(batch_outcome)
                importer.report(plan, on_error)  # its rejected rows and warnings
                if on_batch:
                    on_batch(outcome)
            except BaseException:
                outcome.restore(saved)
                raise

    def settle() -> bool:
        """Wait for the batch in flight; if a unique key failed it, do it again here, the serial
        way. True when it had to be done again (what was planned meanwhile must be planned again)."""
        nonlocal inflight
        if inflight is None:
            return False
        parsed, plan, answers = inflight
        inflight = None
        try:
            writer.wait()
            return False
        except (IntegrityError, _Redo):
            _forget_new_orgs(state, plan)
            with prevalidated(answers), vocabulary.pinned(), pinned_teams():
                importer._run_batch(state, parsed, outcome, on_batch, on_error)
            return True

    try:
        for batch, answers in batches:
            with prevalidated(answers), vocabulary.pinned(), pinned_teams():
                parsed = importer._parse(state, batch)
                if inflight is not None and _shares_keys(parsed, inflight[1]):
                    settle()
                while True:
                    end_read_snapshot(db.session())  # see the batches written since
                    batch_outcome = importer.Outcome(counts=dict.fromkeys(outcome.counts, 0))
                    plan = importer._plan(state, parsed, batch_outcome, write=True)
                    if not settle():
                        break
                    _forget_new_orgs(state, plan)  # planned against a batch that was done again
            _keep_new_orgs(state, plan)
            updates = _hand_over(plan)
            plan.new_rows = import_writer.new_rows(plan.slots)  # pure Python: here, off the writer's path
            inflight = (parsed, plan, answers)
            writer.submit(lambda p=plan, u=updates, o=batch_outcome, a=answers: write(p, u, o, a))
        settle()
    finally:
        writer.close()


# How often (seconds) a thread holding the GIL is asked to hand it to one waiting for it, while an
# import's two threads run (Python's default: 0.005).
SWITCH_INTERVAL = 0.0002


def _switching():
    """The GIL changes hands every ``SWITCH_INTERVAL`` rather than every 5 ms while the import runs.
    The writer's executemany gives the GIL up for each row SQLite stores and must take it back for
    the next one: while the job's thread plans the next batch, each of those rows waited up to the
    interval (bench.import_floor capture --threads, 60,000 rows at 1M: the writer asleep 1.2-1.3 s
    at 5 ms, 0.33-0.46 s at 0.2 ms). Process-wide: the first of several imports running at once in
    a process sets it, the last one to end puts the old value back."""
    return _switch_interval.held()


_switch_interval = ProcessSetting(sys.getswitchinterval, sys.setswitchinterval,
                                  lambda before: min(SWITCH_INTERVAL, before))


def _hand_over(plan) -> list:
    """The contacts the batch updates, taken out of this thread's session for the writer's: they
    were loaded for the plan (``importer._plan``, their columns only) and are not read again. The
    writer checks that each still has the version it was planned with (one light query: every
    change of a contact bumps it), else the batch is done again the serial way."""
    contacts = [slot.contact for slot in plan.slots if slot.contact is not None]
    for contact in contacts:
        db.session.expunge(contact)
    return contacts


class _Redo(Exception):
    """The batch cannot be written as planned: it is done again the serial way."""


def _shares_keys(parsed: list, plan) -> bool:
    from .importer import batch_keys

    emails, ext_ids = batch_keys(parsed)
    return not (emails.isdisjoint(plan.emails) and ext_ids.isdisjoint(plan.ext_ids))


def _keep_new_orgs(state, plan) -> None:
    """The organizations this batch creates, for the batches planned after it (the same objects:
    their ids are set when this batch is written)."""
    kept = {id(slot.values.get("organization_id")) for slot in plan.slots}
    state.orgs.update((k, v) for k, v in plan.pending_orgs.items() if v is not None and id(v) in kept)


def _forget_new_orgs(state, plan) -> None:
    for key, org in plan.pending_orgs.items():
        if state.orgs.get(key) is org:
            del state.orgs[key]
