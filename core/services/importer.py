"""The import pipeline: records in, contacts created or updated, every row accounted for.

Format-neutral: a reader (CSV in csv_import.py, vCard in vcard_import.py) yields ``(ref, record)`` pairs,
where ``ref`` is the row number (an int that grows) and ``record`` is either a dict as below or
a string saying why that row could not be read (it is reported as rejected).

The record dict (every key optional; values are strings as found in the file, trimmed here)::

    {
        "first_name": "Ada", "last_name": "Lovelace",
        "email": "ada@example.org",          # normalized and checked like the contact form
        "phone": "+44 20 7946 0958",         # parsed to E.164 (default region from the config)
        "organization": "Analytical Engines", # a name: found in the owner team, or created
        "type": "person", "status": "active", # a key or a label of the admin vocabularies
        "external_id": "100001",             # the source system's id: re-imports match on it
        "tags": ["customer", "2024"],        # names; handed to the appliers (see below)
        "custom": {"shoe_size": "42"},       # custom-field cells by key, as CSV text (checked per row)
        "extra": {"title": "...", "notes": "...", ...},  # anything else: handed to the appliers;
                                             # "phones": [...] = every phone cell (text, or
                                             # {"label", "value"} as vCard's TELs), the first
                                             # valid one is used when "phone" is not
    }

Rules, per row:
- Validation is ``contacts._clean`` (the same rules as the form and the API); a row that fails is
  rejected with the field and the message, the other rows go on. An email or phone that is not one
  at all is left out of a row that is still a contact without it (a name or an email left), as a
  vCard's is, and reported as a warning on its row; so is what the details leave out (a bad
  birthday, a further phone...). ``on_error`` gets the warnings too (they start "Imported, but");
  ``Outcome.warnings`` counts them.
- Upsert: the row is matched to an existing contact by the chosen key (``email`` or
  ``external_id``), falling back to the other one; unmatched rows are created. External ids are
  stored in ``contact_external_ids`` ((source, external_id) -> contact), so a re-import of the
  same file creates nothing new (a row with neither gets an id made from its content and its
  occurrence in the file, so the same row imported again is found too). Several rows of one
  file for the same person merge (later non-empty values win). On an update, empty cells leave
  the stored value alone. A contact the user may not edit, or one in the trash, is not touched
  (the row is rejected saying so).
- Permissions: the actor needs ``contact.create``; new contacts go to ``Options.team_id`` (one of
  the actor's writable teams) or the actor's first team; organizations are found by name in that
  team, or created there with the batch (checked by organizations._clean and the
  ``organization.create`` permission, audited).
- Atomicity: rows are written in batches, one transaction each, together with their audit
  entries and the checkpoint (the last row of the batch), so a crash loses the batch in flight
  and a resumed run starts right after the last committed one. If a batch fails on the database
  (a concurrent edit took an email meanwhile), it is redone one row per transaction.
- Dry run: the same work without writing anything; counts plus the first rows of each outcome.
- Speed: one query per batch for the emails, one for the external ids, one for the matched
  contacts, one for the organization names; the writes (import_writer.py) are multi-row inserts
  with their audit entries, through one DBAPI executemany each (bulk_insert.py), and the heap that
  existed before the import is kept out of the garbage collector's full passes while it runs. The
  emails and phones of the next batch are validated in a worker process meanwhile
  (import_ahead.py: the same functions; ``_clean`` takes their answers), the vocabularies are
  read once per batch, and plugins hear of a batch through ``contacts_records_changed`` (one call
  per record type) rather than once per contact. A job's import (not a dry run, not vCard) writes
  each batch on a thread of its own while the next one is planned (import_pipeline.py): the
  batch is split into ``_parse`` (once per row), ``_plan`` (reads: validation, matching) and
  ``_write`` (the transaction's writes, errors and progress).

``APPLIERS`` is a hook-like list the app wires for what the core contact has no column for
(tags, title, notes, addresses, custom fields): each is called inside the batch's transaction as
``applier(actor, rows, dry_run)`` with ``rows`` = a list of ``(contact_id, record, created)``
(``contact_id`` is None in a dry run for rows that would be created). It may return
``{contact_id: {field: (before, after)}}`` for contacts the batch created: those changes are
recorded in the contacts' creation entries (one audit entry per new contact, as when a contact is
created with its details through the form), not in entries of their own. In a dry run it writes
nothing and may return ``{contact_id: changes}`` for the existing contacts it would change (the
same comparison as when it writes): the preview counts those as updated, as the import will. What
it leaves out of a record goes in ``record["detail_warnings"]`` (a list of messages), reported as
the row's warnings.
"""

from __future__ import annotations

import gc
import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from ..database import transaction
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..models import Contact, ContactExternalId, Organization
from ..policy import can, pinned_teams, require, writable_teams
from . import contacts as contact_service
from . import import_ahead, import_appliers, import_pipeline, import_writer, vcard_export, vcard_import, vocabulary
from . import organizations as org_service
from .fields import normalize_email, normalize_phone, prevalidated
from .process_setting import ProcessSetting
from .records import Owner

KEYS = ("email", "external_id")
FIELDS = ("first_name", "last_name", "email", "phone", "organization", "type", "status", "external_id", "tags", "extra",
          "custom")
# Rows per batch (one transaction each). 2,000 rather than 1,000: a batch rewrites the same hot
# pages of the contacts' indexes, so a commit's log write grows less than its rows (at 1M contacts
# the import's writer thread spent ~11 µs a row less, bench.import_floor capture); each batch holds
# the write lock ~0.2 s, about what a batch of 1,000 held before this session's cuts.
BATCH = 2000
SAMPLES = 10
APPLIERS: list[Callable] = []


@dataclass
class Options:
    key: str = "email"
    source: str = "csv"  # the system external ids come from
    team_id: int | None = None  # owner team of created contacts (default: the actor's first)
    dry_run: bool = False
    batch_size: int = BATCH


@dataclass
class Outcome:
    counts: dict = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0})
    samples: dict = field(default_factory=lambda: {"created": [], "updated": [], "rejected": [], "warnings": [],
                                                   "look_alikes": []})
    last_ref: int = 0
    new_organizations: int = 0
    warnings: int = 0  # what kept rows left out (a bad email, phone or detail): rows counted as usual

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def checkpoint(self) -> dict:
        return {"row": self.last_ref, "counts": dict(self.counts), "new_organizations": self.new_organizations,
                "warnings": self.warnings}

    sample_limit = SAMPLES

    def sample(self, kind: str, item: dict) -> None:
        if len(self.samples[kind]) < SAMPLES:
            self.samples[kind].append(item)

    def warn(self, ref, message: str) -> None:
        self.warnings += 1
        self.sample("warnings", {"row": ref, "problem": message})

    def snapshot(self) -> tuple:
        return (dict(self.counts), {k: list(v) for k, v in self.samples.items()}, self.last_ref, self.new_organizations,
                self.warnings)

    def restore(self, saved: tuple) -> None:
        self.counts, self.samples, self.last_ref, self.new_organizations, self.warnings = (
            dict(saved[0]), saved[1], saved[2], saved[3], saved[4])

    def merge(self, batch: Outcome) -> None:
        """Add the outcome of one batch (counted on its own, starting from zero) to this one."""
        for kind, count in batch.counts.items():
            self.counts[kind] += count
        for kind, items in batch.samples.items():
            self.samples[kind].extend(items[:max(0, SAMPLES - len(self.samples[kind]))])
        self.last_ref = batch.last_ref or self.last_ref
        self.new_organizations += batch.new_organizations
        self.warnings += batch.warnings

    def summary(self) -> dict:
        out = {k.capitalize(): v for k, v in self.counts.items()}
        if self.new_organizations:
            out["New organizations"] = self.new_organizations
        if self.warnings:
            out["Warnings"] = self.warnings
        return out


class _Slot:
    """One contact a batch creates or updates; several rows of the file may feed it."""

    __slots__ = ("contact", "values", "refs", "external_ids", "records")

    def __init__(self, contact):
        self.contact = contact
        self.values: dict = {}
        self.refs: list = []
        self.external_ids: set = set()
        self.records: list = []


def check_options(actor, options: Options) -> None:
    errors = {}
    if options.key not in KEYS:
        errors["key"] = f"Choose one of: {', '.join(KEYS)}."
    if not options.source or len(options.source) > 50:
        errors["source"] = "Between 1 and 50 characters."
    if options.team_id is not None and options.team_id not in {t.id for t in writable_teams(actor)}:
        errors["team_id"] = "Choose one of your teams."
    if not 1 <= options.batch_size <= 10000:
        errors["batch_size"] = "Between 1 and 10,000."
    if errors:
        raise ValidationError(errors)


def run(actor, records: Iterable, options: Options, *, checkpoint: dict | None = None,
        on_batch: Callable[[Outcome], None] | None = None, on_error: Callable | None = None,
        pipeline: bool = False) -> Outcome:
    """Import ``records``; resume after ``checkpoint["row"]`` when given.

    ``on_batch(outcome)`` is called inside each batch's transaction after its rows are written
    (a job saves its progress and checkpoint there); ``on_error(ref, message)`` per rejected row,
    also inside the transaction of the batch it belongs to. With ``pipeline`` (not a dry run), a
    batch is written on a thread of its own while the next one is prepared (import_pipeline.py);
    ``on_batch`` and ``on_error`` are then called on that thread, so they must not share state
    with the reader of ``records``.
    """
    require(actor, "contact.create")
    check_options(actor, options)
    outcome = Outcome()
    checkpoint = checkpoint or {}
    after = int(checkpoint.get("row") or 0)
    if checkpoint:
        outcome.counts.update(checkpoint.get("counts") or {})
        outcome.new_organizations = int(checkpoint.get("new_organizations") or 0)
        outcome.warnings = int(checkpoint.get("warnings") or 0)
        outcome.last_ref = after
    state = _State(actor, options)
    # The next batch is validated in another process while this one writes (import_ahead.py).
    with _heap_frozen():
        batches = import_ahead.ahead(_batches(state, records, after, outcome))
        if pipeline and not options.dry_run and import_pipeline.possible():
            import_pipeline.run(state, batches, outcome, on_batch, on_error)
            return outcome
        for batch, answers in batches:
            with prevalidated(answers), vocabulary.pinned(), pinned_teams():
                _run_batch(state, _parse(state, batch), outcome, on_batch, on_error)
    return outcome


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the objects that exist before the import (the app, its modules, the ORM's mappers: a
    couple of hundred thousand) out of the garbage collector's full passes until it ends. An
    import allocates enough to set off a full pass every few thousand rows, and walking that heap
    each time cost 40-50 µs per row, a quarter of the import. What the import itself leaves is
    collected as usual; what was frozen goes back to the collector afterwards (``gc.freeze``).
    Meanwhile the youngest generation is collected every ``GC_YOUNG`` allocations rather than 700:
    a batch's rows live across many young passes, so each pass walked them again and moved them
    on to the older generations, to be walked there too (the first of several imports running at
    once in a process sets it, the last one to end puts it back). 200,000 rather than 50,000 (about
    two batches' worth of the objects a batch makes, held until the next pass): the collector's own
    CPU time over a 60,000-row import went from 0.37 to 0.12 s (timed by ``gc.callbacks``), ~4 µs a
    row of the process."""
    gc.freeze()
    try:
        with _young_every.held():
            yield
    finally:
        gc.unfreeze()


GC_YOUNG = 200_000
_young_every = ProcessSetting(gc.get_threshold, lambda t: gc.set_threshold(*t),
                              lambda before: (max(GC_YOUNG, before[0]), *before[1:]))


def _batches(state: _State, records: Iterable, after: int, outcome: Outcome):
    """The rows after ``after`` in batches; one empty batch when there is nothing at all (so the
    caller still reports its progress)."""
    batch: list = []
    given = False
    for ref, record in records:
        if ref <= after:
            if isinstance(record, dict):
                _data(state, record)  # count the rows already imported, for content_id
            continue
        batch.append((ref, record))
        if len(batch) >= state.options.batch_size:
            given = True
            yield batch
            batch = []
    if batch or (not given and outcome.done == 0):
        yield batch


class _State:
    """What an import keeps between batches: the vocabularies, the owner team, known organizations,
    and in a dry run the keys already seen (nothing is written, so the database cannot tell)."""

    def __init__(self, actor, options: Options):
        self.actor = actor
        self.options = options
        self.team_id = options.team_id or next((t.id for t in writable_teams(actor)), None)
        self.vocab = {}
        for kind in ("type", "status"):
            terms = vocabulary.terms(kind)
            self.vocab[kind] = {k.lower(): k for k, _ in terms} | {label.lower(): k for k, label in terms}
        self.orgs: dict[str, int | None] = {}
        self.absent_orgs: set = set()  # names the batch looked up and its team does not have
        self.seen_email: set = set()
        self.seen_ext: set = set()
        self.occurrences: dict = {}
        self.alike: dict = {}  # a dry run: (reason, identifier) -> (the contact or first row it is, the row)

    def content_id(self, data: dict, organization: str) -> str:
        """The id of a row with neither email nor external id: its content, and which occurrence
        of that content in the file it is. Importing the same file again finds the same contacts;
        two identical rows stay two contacts."""
        content = json.dumps([data.get(k, "").lower() for k in ("first_name", "last_name", "phone")] + [
            organization.lower()], ensure_ascii=False)
        digest = hashlib.sha256(content.encode()).hexdigest()[:32]
        count = self.occurrences[digest] = self.occurrences.get(digest, 0) + 1
        return f"row:{digest}:{count}"

    def prefetch_orgs(self, names) -> None:
        """Look up the batch's organization names in one query (``org_id`` then asks no more)."""
        keys = {n.strip().lower() for n in names if n} - self.orgs.keys()
        self.absent_orgs = set()
        if not keys:
            return
        found: dict = {}
        for key, oid in db.session.execute(
            select(Organization.name_key, Organization.id).where(
                Organization.name_key.in_(sorted(keys)), Organization.owner_team_id == self.team_id,
                Organization.deleted_at.is_(None),
            ).order_by(Organization.id)
        ):
            found.setdefault(key, oid)
        self.orgs.update(found)
        self.absent_orgs = keys - found.keys()

    def org_id(self, name: str, pending: dict):
        """The id of the organization ``name`` in the import's team; for one not there yet, a
        ``NewOrg`` that import_writer creates with the batch (None in a dry run). Raises
        ValidationError (bad name) or PermissionDenied (the actor may not create organizations)."""
        key = name.strip().lower()
        if key in self.orgs:
            return self.orgs[key]
        if key in pending:
            return pending[key]
        found = None if key in self.absent_orgs else db.session.scalar(
            select(Organization.id).where(
                Organization.name_key == key, Organization.owner_team_id == self.team_id, Organization.deleted_at.is_(None)
            ).order_by(Organization.id).limit(1)
        )
        if found is not None:
            self.orgs[key] = found
            return found
        values = org_service._clean(self.actor, {"name": name.strip()[:200], "owner_team_id": self.team_id}, None)
        require(self.actor, "organization.create", Owner(self.team_id))
        pending[key] = None if self.options.dry_run else NewOrg(values["name"])
        return pending[key]


class NewOrg:
    """An organization a batch needs that does not exist yet; import_writer sets ``id``."""

    __slots__ = ("name", "id")

    def __init__(self, name: str):
        self.name = name
        self.id: int | None = None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


_CONTACT_KEYS = ("first_name", "last_name", "email", "phone")


def _data(state: _State, record: dict) -> tuple[dict, dict]:
    """The contact fields of ``record`` for ``contacts._clean`` (empty cells left out), and the rest: its
    organization, external id and email key (worked out once here: the plan and the pipeline look it up)."""
    data = {}
    get = record.get
    for k in _CONTACT_KEYS:  # _text of each, inline (four calls a row)
        value = get(k)
        if value is not None:
            value = value.strip() if type(value) is str else str(value).strip()
            if value:
                data[k] = value
    phones = (record.get("extra") or {}).get("phones") or []
    if len(phones) > 1 and data.get("phone"):
        data["phone"] = _first_valid_phone(phones) or data["phone"]
    for kind in ("type", "status"):
        raw = get(kind)
        if raw is not None and (raw := _text(raw)):
            data[kind] = state.vocab[kind].get(raw.lower(), raw)
    rest = {"organization": _text(get("organization"))[:200], "external_id": _text(get("external_id")),
            "email_key": _email_key(data["email"]) if data.get("email") else None}  # looked up as written
    if not rest["external_id"] and not data.get("email"):
        rest["external_id"] = state.content_id(data, rest["organization"])
    return data, rest


def _first_valid_phone(candidates: list) -> str | None:
    for raw in candidates:
        try:
            return normalize_phone(_text(raw["value"] if isinstance(raw, dict) else raw))
        except ValueError:
            continue
    return None


def _email_key(raw: str) -> str:
    """The stored ``email_key`` of an address as written, without the cost of validating it."""
    return unicodedata.normalize("NFC", raw.strip()).lower()


def _parse(state: _State, batch: list) -> list:
    """The batch's rows as ``(ref, record, data, rest)`` (``_data``), or ``(ref, message)`` for a
    row that could not be read. Done once per row: ``content_id`` counts occurrences."""
    return [(ref, record) if isinstance(record, str) else (ref, record, *_data(state, record)) for ref, record in batch]


def _run_batch(state: _State, batch: list, outcome: Outcome, on_batch, on_error) -> None:
    """Plan and write one batch (``_parse``d) in one transaction, on this thread."""
    if state.options.dry_run:
        _process(state, batch, outcome, on_batch, on_error, write=False)
        return
    saved = outcome.snapshot()
    try:
        with transaction():
            pending = _process(state, batch, outcome, on_batch, on_error, write=True)
        state.orgs.update(pending)
    except IntegrityError:
        # Someone else wrote a clashing email or external id since we looked: redo row by row,
        # so only the clashing row is rejected.
        outcome.restore(saved)
        for item in batch:
            saved = outcome.snapshot()
            try:
                with transaction():
                    pending = _process(state, [item], outcome, on_batch, on_error, write=True)
                state.orgs.update(pending)
            except IntegrityError:
                outcome.restore(saved)
                outcome.counts["rejected"] += 1
                outcome.last_ref = item[0]
                with transaction():
                    if on_error:
                        on_error(item[0], "email: Another contact already has this email address.")
                    if on_batch:
                        on_batch(outcome)


def _process(state: _State, batch: list, outcome: Outcome, on_batch, on_error, *, write: bool) -> dict:
    """One ``_parse``d batch: plan it, then write it (or only count it, in a dry run)."""
    return _write(state, _plan(state, batch, outcome, write=write), outcome, on_batch, on_error, write=write)


class _Plan:
    """What ``_plan`` made of a batch for ``_write``: the contacts to create and update, the rows
    rejected, the organizations to create, and the batch's keys (import_pipeline waits for a
    batch in flight before planning one that shares a key with it)."""

    __slots__ = ("slots", "errors", "pending_orgs", "last_ref", "emails", "ext_ids", "warnings", "new_rows")

    def __init__(self, slots, errors, pending_orgs, last_ref, emails, ext_ids, warnings=()):
        self.slots, self.errors, self.pending_orgs, self.last_ref = slots, errors, pending_orgs, last_ref
        self.emails, self.ext_ids = emails, ext_ids
        self.warnings = list(warnings)  # (ref, message): what kept rows left out; more come from the appliers
        self.new_rows = None  # import_writer.new_rows(slots), when import_pipeline built them before the write


def batch_keys(batch: list) -> tuple[set, set]:
    """The email keys (as written) and external ids of a ``_parse``d batch."""
    emails, ext_ids = set(), set()
    for item in batch:
        if len(item) == 4:
            if item[3]["email_key"]:
                emails.add(item[3]["email_key"])
            if item[3]["external_id"]:
                ext_ids.add(item[3]["external_id"])
    return emails, ext_ids


def _plan(state: _State, batch: list, outcome: Outcome, *, write: bool) -> _Plan:
    """Validate and match a ``_parse``d batch (reads only): rejected rows are counted in
    ``outcome`` and kept for the error report; the rest become slots for ``_write``."""
    actor, options = state.actor, state.options
    errors: list = []
    pending_orgs: dict = {}

    def reject(ref, message):
        errors.append((ref, message))
        outcome.counts["rejected"] += 1
        outcome.sample("rejected", {"row": ref, "problem": message})

    warnings: list = []

    def warn(ref, message):
        warnings.append((ref, message))
        outcome.warn(ref, message)

    parsed = []
    for item in batch:
        if len(item) == 2:
            reject(*item)
            continue
        parsed.append(item)

    # One query each for the emails and external ids of the batch.
    # Looked up lower-cased as written; _clean normalizes (and the rare address whose normal
    # form differs, e.g. an IDN domain, is looked up again below).
    emails = {rest["email_key"]: None for _r, _c, _d, rest in parsed if rest["email_key"]}
    ext_ids = {rest["external_id"] for _r, _c, _d, rest in parsed if rest["external_id"]}
    by_email = dict(db.session.execute(
        select(Contact.email_key, Contact.id).where(Contact.email_key.in_(list(emails)))
    ).all()) if emails else {}
    by_ext = dict(db.session.execute(
        select(ContactExternalId.external_id, ContactExternalId.contact_id).where(
            ContactExternalId.source == options.source, ContactExternalId.external_id.in_(list(ext_ids))
        )
    ).all()) if ext_ids else {}
    if options.source == vcard_import.SOURCE:  # the UIDs our own vCard export made up name their contact
        by_ext.update(vcard_export.contacts_of(ext_ids - by_ext.keys()))
    state.prefetch_orgs({rest["organization"] for _r, _c, _d, rest in parsed})
    wanted = set(by_email.values()) | set(by_ext.values())
    # Their columns only (the organization and team are not needed to plan or write an update).
    existing = {c.id: c for c in db.session.scalars(
        select(Contact).where(Contact.id.in_(wanted)).options(lazyload(Contact.organization), lazyload(Contact.owner_team))
        .execution_options(populate_existing=True))} if wanted else {}

    slots: list[_Slot] = []
    slot_by_email: dict = {}
    slot_by_ext: dict = {}
    slot_by_contact: dict = {}
    # The keys a row is matched on, the chosen one first: (key index in the row's pair, this batch's
    # slots by it, the contacts found by it).
    order = ((0, slot_by_email, by_email), (1, slot_by_ext, by_ext))
    if options.key == "external_id":
        order = order[::-1]
    for ref, record, data, rest in parsed:
        email_key = rest["email_key"]
        ext = rest["external_id"] or None
        if ext and len(ext) > 200:
            reject(ref, "external_id: At most 200 characters.")
            continue
        keys = (email_key, ext)
        slot = None
        contact_id = None
        for index, slots_by, ids_by in order:
            value = keys[index]
            if not value:
                continue
            slot = slots_by.get(value)
            if slot is not None:
                break
            contact_id = ids_by.get(value)
            if contact_id is not None:
                break
        if slot is None and contact_id is not None:
            slot = slot_by_contact.get(contact_id)
        contact = slot.contact if slot is not None else existing.get(contact_id) if contact_id else None
        if contact is not None and (contact.deleted_at is not None or not can(actor, "contact.edit", contact)):
            why = "is in the trash; restore it first" if contact.deleted_at is not None else "is not one you may edit"
            reject(ref, f"The existing contact with this {'email' if email_key in by_email else 'id'} {why}.")
            continue
        if contact is None and slot is None and not write and (
            (email_key and email_key in state.seen_email) or (ext and ext in state.seen_ext)
        ):
            outcome.counts["updated"] += 1  # a dry run: an earlier batch of this file creates it
            continue
        if contact is None:  # a copy: a batch redone row by row plans its rows again
            data = {**data, "owner_team_id": state.team_id}
        try:
            try:
                values, dropped = contact_service._clean(actor, data, contact), None
            except ValidationError as exc:  # rare: keep the row without a bad email or phone if it can be
                values, dropped = _left_out(actor, data, contact, record, exc)
            if record.get("custom"):  # custom-field cells, checked now so a bad one rejects the row
                record["custom_values"] = import_appliers.custom_values(record["custom"])
            if record.get("tags"):  # likewise the tag names (the appliers add them inside the batch)
                record["tags"] = import_appliers.tag_names(record["tags"])
        except ValidationError as exc:
            reject(ref, _problem(exc))
            continue
        held = ()  # the row's warnings, given once it is kept
        if dropped:  # rare: a bad email or phone left out of a row that is still a contact
            if "email" in dropped and contact is None and slot is None and not ext:
                # Known by its content, as a row (or a card) without email or id: importing the
                # same file again finds the contact this row makes.
                ext = rest["external_id"] = state.content_id(data, rest["organization"])  # once: a redo matches on it
                slot, contact = _by_content(state, ext, slot_by_ext, slot_by_contact)
                if contact is not None and slot is None and (contact.deleted_at is not None
                                                             or not can(actor, "contact.edit", contact)):
                    why = "is in the trash; restore it first" if contact.deleted_at is not None else "is not one you may edit"
                    reject(ref, f"The existing contact with this row's other cells {why}.")
                    continue
                if contact is not None:
                    kept = {k: v for k, v in data.items() if k not in dropped and k != "owner_team_id"}
                    try:
                        values = contact_service._clean(actor, kept, contact)
                    except ValidationError as exc:
                        reject(ref, _problem(exc))
                        continue
            new = contact is None and slot is None
            held = [f"Imported, but {key} {raw[:60]!r} skipped: {why}" + (
                " The row was not matched on it: a new contact is made." if key == "email" and new
                and options.key == "email" else "") for key, (raw, why) in dropped.items()]
            if "email" in dropped:
                email_key = None
        if values.get("email") and values["email"].lower() != email_key:
            email_key = values["email"].lower()  # normalizing changed more than the case: look again
            by_email.update(db.session.execute(select(Contact.email_key, Contact.id).where(Contact.email_key == email_key)).all())
        if email_key and email_key in by_email and (contact is None or by_email[email_key] != contact.id):
            reject(ref, "email: Another contact already has this email address.")
            continue
        if email_key and email_key in slot_by_email and slot_by_email[email_key] is not slot:
            reject(ref, "email: Another row of this file has this email address.")
            continue
        if rest["organization"]:
            try:
                values["organization_id"] = state.org_id(rest["organization"], pending_orgs)
            except ValidationError as exc:
                reject(ref, "organization: " + " ".join(" ".join(v) for v in exc.errors.values()))
                continue
            except PermissionDenied:
                reject(ref, "organization: You may not create organizations; leave the column out or ask a manager.")
                continue
        if slot is None:
            slot = _Slot(contact)
            slots.append(slot)
            if contact is not None:
                slot_by_contact[contact.id] = slot
        if slot.values:  # a later row of the same person: only what it says
            values = {k: v for k, v in values.items() if k in data or k == "organization_id"}
        if contact is not None or slot.values:
            values = {k: v for k, v in values.items() if v not in ("", None)}
        slot.values.update(values)
        slot.refs.append(ref)
        for message in held:
            warn(ref, message)
        slot.records.append(record)
        if email_key:
            slot_by_email[email_key] = slot
        if ext:
            slot.external_ids.add(ext)
            slot_by_ext[ext] = slot

    emails, ext_ids = batch_keys(batch)
    return _Plan(slots, errors, pending_orgs, batch[-1][0] if batch else None, emails, ext_ids, warnings)



def _problem(exc: ValidationError) -> str:
    """A rejected row's problem: each field with its messages."""
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())


_DROPPABLE = {"email": 254, "phone": 40}  # the kept row's fields a bad value is left out of (their length limits)


def _left_out(actor, data: dict, contact, record: dict, exc: ValidationError) -> tuple[dict, dict]:
    """After ``contacts._clean`` of a row's fields raised ``exc``: its values without a bad email or
    phone (as a vCard's), and ``{field: (value, why)}`` of those left out, when what is left is a
    contact (a name or an email); else a ValidationError naming every problem. A left-out phone is
    taken out of the record's phone cells too, so the details do not report it again."""
    dropped = {key: (data[key], " ".join(exc.errors[key])) for key in _DROPPABLE
               if key in exc.errors and data.get(key) and _unusable(key, data[key])}
    if not dropped or set(exc.errors) - set(dropped):
        raise exc
    kept = {k: v for k, v in data.items() if k not in dropped}
    try:
        values = contact_service._clean(actor, kept, contact)
    except ValidationError as again:
        raise ValidationError({**exc.errors, **again.errors}) from None
    if "phone" in dropped:
        record["phone"] = ""
        extra = record.get("extra") or {}
        if extra.get("phones"):
            extra["phones"] = [p for p in extra["phones"] if _text(p["value"] if isinstance(p, dict) else p) != dropped["phone"][0]]
    return values, dropped


def _by_content(state: _State, ext: str, slot_by_ext: dict, slot_by_contact: dict):
    """(slot, contact) a row known by its content id ``ext`` goes to: a slot of this batch, or the
    contact an earlier import made of it (one query: only rows whose email was left out get here)."""
    slot = slot_by_ext.get(ext)
    if slot is not None:
        return slot, slot.contact
    found = db.session.scalar(select(ContactExternalId.contact_id).where(
        ContactExternalId.source == state.options.source, ContactExternalId.external_id == ext))
    if found is None:
        return None, None
    slot = slot_by_contact.get(found)
    if slot is not None:
        return slot, slot.contact
    # Its columns only, as ``_plan`` reads the contacts it matches (import_pipeline hands them over).
    return None, db.session.scalars(
        select(Contact).where(Contact.id == found).options(lazyload(Contact.organization), lazyload(Contact.owner_team))
        .execution_options(populate_existing=True)).first()


def _unusable(key: str, raw: str) -> bool:
    """Whether ``raw`` is not an email address (phone number) at all, as opposed to one another
    contact has (an email's clash is the row's error, not a value to leave out)."""
    raw = raw.strip()
    if len(raw) > _DROPPABLE[key]:
        return True
    try:
        (normalize_email if key == "email" else normalize_phone)(raw)
    except ValueError:
        return True
    return False


def _write(state, plan: _Plan, outcome: Outcome, on_batch, on_error, *, write: bool) -> dict:
    """Write a planned batch (in the caller's transaction), report its errors and progress, and
    return the organizations it created (name key -> id)."""
    import_writer.write_batch(state, plan.slots, outcome, write, APPLIERS, plan.new_rows)
    if not write:
        _look_alikes(state, plan.slots, outcome)
    for slot in plan.slots:  # what the appliers left out of kept rows (import_appliers.apply_details)
        for ref, record in zip(slot.refs, slot.records, strict=True):
            for message in record.pop("detail_warnings", None) or ():
                plan.warnings.append((ref, f"Imported, but {message}"))
                outcome.warn(ref, f"Imported, but {message}")
    if plan.last_ref is not None:
        outcome.last_ref = plan.last_ref
    pending_orgs = plan.pending_orgs
    if write:  # only those a kept row needed were created
        pending_orgs = {k: v.id for k, v in pending_orgs.items() if v is not None and v.id is not None}
    else:
        state.orgs.update(pending_orgs)
    outcome.new_organizations += len(pending_orgs)
    report(plan, on_error)
    if on_batch:
        on_batch(outcome)
    return pending_orgs


def _look_alikes(state: _State, slots: list, outcome: Outcome) -> None:
    """A dry run (the preview): rows of the file that look alike (the same email or phone, as the
    duplicate check compares them) but are not the same contact by the import's key: both are
    imported, as two contacts. One sample per such row (the first rows only)."""
    from . import duplicates

    for slot in slots:
        token = slot.contact.id if slot.contact is not None else ("row", slot.refs[0])
        for reason, key in duplicates.identifiers(slot.values).items():
            seen = state.alike.setdefault((reason, key), (token, slot.refs[0]))
            if seen[0] != token:
                outcome.sample("look_alikes", {"row": slot.refs[0], "other": seen[1],
                                               "why": duplicates.REASON_LABELS[reason]})
                break


def report(plan: _Plan, on_error) -> None:
    """Hand the batch's rejected rows and its warnings (what kept rows left out) to ``on_error``,
    in row order: the problem report holds both."""
    if on_error:
        for ref, message in sorted([*plan.errors, *plan.warnings], key=lambda item: item[0]):
            on_error(ref, message)


def _wire_appliers() -> None:
    import_appliers.register(APPLIERS)


_wire_appliers()
