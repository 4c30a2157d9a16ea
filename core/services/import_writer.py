"""The writing half of the import pipeline (importer.py): one batch of contacts to create and
update becomes a multi-row insert with ids allocated up front, ORM updates for the matched
contacts, the external-id links, the appliers, multi-row inserts of audit entries (one entry per
new contact, holding what the appliers gave it too: its details, tags and custom fields, as
``contacts.create_contact`` does), and the same hooks a one-by-one save fires (after commit)."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text

from ..database import after_commit, larger_page_cache, transaction
from ..extensions import db
from ..models import Contact, ContactExternalId, Organization, utcnow
from ..plugins import hook, records_changed
from . import audit, cache_keys, import_appliers
from . import contacts as contact_service
from .bulk_insert import insert_rows

# SQLite's page cache while a batch is written: at 1M contacts a batch of 2,000 changes ~4,000 pages
# of the contacts' indexes, the audit trail and the search index (16 MB), more than the 8 MB the
# connections keep (bench.import_floor replay: 5-7 µs a row less with 64 MB).
WRITE_CACHE_KIB = 65536


def write_batch(state, slots: list, outcome, write: bool, appliers: list, prepared: NewRows | None = None) -> None:
    """Create and update the batch's contacts (``slots``), with their audit entries, external ids,
    appliers and after-commit hooks; in a dry run only count them. An applier may return
    ``{contact_id: changes}`` for contacts the batch created: those changes go into the contacts'
    creation entries (written after the appliers) instead of entries of their own. ``prepared``:
    ``new_rows(slots)``, when the caller built them already (import_pipeline, on the job's thread)."""
    actor, options = state.actor, state.options
    if write:
        larger_page_cache(db.session, WRITE_CACHE_KIB)
    org_ids = _create_organizations(state, slots) if write else []
    creates = [s for s in slots if s.contact is None]
    updates = [s for s in slots if s.contact is not None]
    created_ids: list = []
    creation_rows: list = []  # (id, row) of the contacts inserted
    creation: dict = {}  # new contact id -> its changes, audited once the appliers have added theirs
    if creates:
        new = prepared if prepared is not None else new_rows(creates)
        rows = new.rows
        if write:
            new.resolve_organizations()
            created_ids = _allocate_ids(len(rows))
            for cid, row in zip(created_ids, rows, strict=True):
                row["id"] = cid
            insert_rows(Contact.__table__, new.by_sort_name)
            creation_rows = list(zip(created_ids, rows, strict=True))
            creation = dict(zip(created_ids, new.changes, strict=True))
        else:
            created_ids = [None] * len(creates)
        outcome.counts["created"] += len(creates)
        outcome.counts["updated"] += sum(len(slot.refs) for slot in creates) - len(creates)
        for slot, row in zip(creates, rows, strict=True):
            if write and len(outcome.samples["created"]) >= outcome.sample_limit:
                break  # nothing more to do per row
            if len(outcome.samples["created"]) < outcome.sample_limit:  # the rows shown, not every row
                # The preview warns when a row would create a look-alike of an existing contact
                # (same phone, close name at the same organization): only for the rows it shows.
                alike = _look_alikes(actor, row) if not write else None
                outcome.sample("created", {"row": slot.refs[0], **_shown(row), **({"looks_like": alike} if alike else {})})
            if not write:
                state.seen_email.update([row["email_key"]] if row["email_key"] else [])
                state.seen_ext.update(slot.external_ids)
    updated: list = []
    unchanged: dict = {}  # contact -> its version
    for slot in updates:
        contact = slot.contact
        changes = {k: (getattr(contact, k), v) for k, v in slot.values.items() if getattr(contact, k) != v}
        extra_rows = len(slot.refs) - 1
        if changes:
            outcome.counts["updated"] += 1
            if len(outcome.samples["updated"]) < outcome.sample_limit:
                outcome.sample("updated", {"row": slot.refs[0], "id": contact.id, "changes": {
                    k: [audit.jsonable(a), audit.jsonable(b)] for k, (a, b) in changes.items()}})
            if write:
                contact_service._apply(contact, {k: b for k, (_a, b) in changes.items()})
                updated.append((contact, changes))
        else:
            outcome.counts["unchanged"] += 1
            unchanged[contact] = contact.version  # until an applier changes its tags, details or custom fields
        outcome.counts["updated"] += extra_rows
    if write and updated:
        db.session.flush()
        audit.record_many(actor, "updated", "contact", [(c.id, ch) for c, ch in updated])
    if write:
        links = []
        for slot, cid in [*zip(creates, created_ids, strict=True), *((s, s.contact.id) for s in updates)]:
            links.extend({"source": options.source, "external_id": e, "contact_id": cid} for e in slot.external_ids)
        known = _known_external_ids(options.source, [link["external_id"] for link in links])
        new_links = [link for link in links if link["external_id"] not in known]
        if new_links:
            insert_rows(ContactExternalId.__table__, new_links)
        _notify(actor, created_ids, updated, org_ids)
    rows = [(cid, record, True) for slot, cid in zip(creates, created_ids, strict=True) for record in slot.records]
    rows += [(s.contact.id, record, False) for s in updates for record in s.records]
    would: dict = {}  # a dry run: what the appliers would change on existing contacts
    with import_appliers.written({cid: (row["email"], row["phone"]) for cid, row in creation_rows}):
        for applier in appliers:
            folded = applier(actor, rows, not write)
            if write and folded:
                for cid, changes in folded.items():
                    entry = creation.get(cid)
                    if entry is not None:
                        for k, (_before, after) in changes.items():
                            entry[k] = (None, after)
            elif folded:
                for cid, changes in folded.items():
                    would.setdefault(cid, {}).update(changes)
    if would and unchanged:  # as the import counts them: an applier's change makes an update
        _count_would(outcome, updates, unchanged, would)
    if creation:
        audit.record_many(actor, "created", "contact", creation.items())
    if write and unchanged:
        db.session.flush()  # an applier's change moved the contact's version on
        moved = sum(1 for contact, version in unchanged.items() if contact.version != version)
        outcome.counts["unchanged"] -= moved
        outcome.counts["updated"] += moved


def _count_would(outcome, updates: list, unchanged: dict, would: dict) -> None:
    for slot in updates:
        changes = would.get(slot.contact.id) if slot.contact in unchanged else None
        if changes:
            outcome.counts["unchanged"] -= 1
            outcome.counts["updated"] += 1
            outcome.sample("updated", {"row": slot.refs[0], "id": slot.contact.id, "changes": {
                k: [audit.jsonable(a), audit.jsonable(b)] for k, (a, b) in changes.items()}})


class NewRows:
    """The ``contacts`` rows of the contacts a batch creates, as inserted but for their ids, with their
    creation entries' changes: pure Python, so import_pipeline builds them on the job's thread (where
    it overlaps the writer's SQLite of the batch before) instead of on the writer's, the import's
    critical path. An organization the batch creates is still its ``NewOrg`` in them until
    ``resolve_organizations`` (on the writer, once it has its id)."""

    __slots__ = ("rows", "changes", "by_sort_name", "orgs")

    def __init__(self, rows: list, changes: list, orgs: list):
        self.rows, self.changes, self.orgs = rows, changes, orgs
        # Ids in file order, rows sent in sort-name order: seven of the contacts' indexes lead
        # with (a column a file rarely varies, deleted_at, sort_name), so each one is walked
        # forward once instead of at random (bench.import_floor replay at 1M: ~8 µs a row less).
        self.by_sort_name = sorted(rows, key=_by_sort_name)

    def resolve_organizations(self) -> None:
        for row, changes in self.orgs:
            org_id = row["organization_id"] = row["organization_id"].id
            changes["organization_id"] = (None, org_id)
        self.orgs = []


def new_rows(slots: list) -> NewRows:
    """``NewRows`` of the ``slots`` that create a contact (``slot.contact`` None)."""
    from .importer import NewOrg

    now = utcnow()
    rows, changes, orgs = [], [], []
    sort_name = contact_service.sort_name
    for slot in slots:
        if slot.contact is not None:
            continue
        row = {"first_name": "", "last_name": "", "email": None, "phone": "", "organization_id": None, **slot.values}
        row["email_key"] = row["email"].lower() if row["email"] else None
        row["sort_name"] = sort_name(row["first_name"], row["last_name"])
        row["created_at"] = row["updated_at"] = now
        row["version"] = 1
        rows.append(row)
        changes.append(change := {k: (None, row[k]) for k in slot.values})
        if type(row["organization_id"]) is NewOrg:
            orgs.append((row, change))
    return NewRows(rows, changes, orgs)


def _by_sort_name(row: dict) -> str:
    return row["sort_name"]


def _allocate_ids(count: int, model=Contact) -> list[int]:
    """Ids for ``count`` new rows of ``model``, so one executemany inserts them (RETURNING ids in
    order makes SQLAlchemy insert row by row on SQLite). SQLite: after the largest id, under the
    write lock this transaction holds; PostgreSQL: from the table's sequence."""
    table = model.__table__.name
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count}
        ))
    start = (db.session.scalar(select(func.max(model.id))) or 0) + 1
    return list(range(start, start + count))


def _create_organizations(state, slots: list) -> list[int]:
    """Create the organizations the batch's kept rows name (``NewOrg`` values), in one insert with
    their audit entries, and put their ids in the rows. A ``NewOrg`` that already has its id was
    created by the batch before (import_pipeline hands them on): only its id is put in."""
    from .importer import NewOrg

    new = {}
    for slot in slots:
        value = slot.values.get("organization_id")
        if isinstance(value, NewOrg):
            if value.id is None:
                new[id(value)] = value
            else:
                slot.values["organization_id"] = value.id
    if not new:
        return []
    orgs = list(new.values())
    now = utcnow()
    rows = []
    for oid, org in zip(_allocate_ids(len(orgs), Organization), orgs, strict=True):
        org.id = oid
        rows.append({"id": oid, "name": org.name, "name_key": org.name.lower(), "website": "", "phone": "", "notes": "",
                     "owner_team_id": state.team_id, "version": 1, "created_at": now, "updated_at": now})
    db.session.execute(insert(Organization.__table__), rows)
    audit.record_many(state.actor, "created", "organization", [
        (r["id"], {"name": (None, r["name"]), "owner_team_id": (None, r["owner_team_id"])}) for r in rows
    ])
    for slot in slots:
        value = slot.values.get("organization_id")
        if isinstance(value, NewOrg):
            slot.values["organization_id"] = value.id
    after_commit(lambda: cache_keys.bump("organizations"))  # cached organization choices
    return [r["id"] for r in rows]


def _known_external_ids(source: str, ids: list) -> set:
    if not ids:
        return set()
    return set(db.session.scalars(
        select(ContactExternalId.external_id).where(ContactExternalId.source == source, ContactExternalId.external_id.in_(ids))
    ))


def _look_alikes(actor, row: dict) -> list[dict]:
    from . import duplicates

    return [{"id": s.contact.id, "name": s.contact.full_name, "why": s.why}
            for s in duplicates.find_similar(actor, row, limit=3)]


def _shown(row: dict) -> dict:
    return {k: row[k] for k in ("first_name", "last_name", "email", "phone", "type", "status") if row.get(k)}


def _notify(actor, created_ids: list, updated: list, org_ids: list) -> None:
    """The same hooks a one-by-one save fires, after the batch commits; contacts are loaded for
    ``contacts_contact_created`` only when some plugin listens."""
    relay = hook()

    def run():
        if created_ids and relay.contacts_contact_created.get_hookimpls():
            for contact in db.session.scalars(select(Contact).where(Contact.id.in_(created_ids))):
                relay.contacts_contact_created(contact=contact, actor=actor)
        for contact, changes in updated:
            relay.contacts_contact_updated(contact=contact, actor=actor, changes=changes)
        if relay.contacts_record_changed.get_hookimpls() or relay.contacts_records_changed.get_hookimpls():
            # One write transaction for the batch's notifications, and one call per record type: a
            # listener that writes (the activity feed) inserts its rows for the batch at once.
            with transaction():
                records_changed("organization", [(oid, "created", {}) for oid in org_ids], actor)
                records_changed("contact", [
                    *((cid, "created", {}) for cid in created_ids),
                    *((contact.id, "updated", changes) for contact, changes in updated),
                ], actor)

    after_commit(run)
