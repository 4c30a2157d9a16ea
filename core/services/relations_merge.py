"""The merge contract for relationships and reporting lines (``contacts_contacts_merged`` /
``contacts_contacts_unmerged``, see core/relations_hooks.py).

Merging ``source`` into ``target``: the source's relationships move to the target (those that
would relate the target to itself, repeat one the target already has, or contradict one at the
same time, "Bob manager of Ada" beside "Ada manager of Bob", are deleted and kept in the undo
record); contacts reporting to the source report to the target (one that the target
itself reports to, directly or not, is detached instead: no cycle). Unmerging puts everything
back as it was, skipping what changed since.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select, update

from ..database import transaction
from ..models import Contact, Relationship, RelationshipType, User, utcnow
from . import audit
from .hierarchy import ancestors
from .relationships import contradicted

KEY = "core_relations"
COLUMNS = ("contact_id", "other_contact_id")


def _row(rel: Relationship) -> dict:
    return {
        "id": rel.id, "type_id": rel.type_id, "contact_id": rel.contact_id, "other_contact_id": rel.other_contact_id,
        "organization_id": rel.organization_id, "note": rel.note, "created_by_id": rel.created_by_id,
        "start_date": rel.start_date.isoformat() if rel.start_date else None,
        "end_date": rel.end_date.isoformat() if rel.end_date else None,
        "created_at": rel.created_at.isoformat(), "updated_at": rel.updated_at.isoformat(),
    }


def _key(type_id, symmetric, a, b, org):
    if org is not None:
        return (type_id, a, "org", org)
    return (type_id, *sorted((a, b))) if symmetric else (type_id, a, b)


def merge(target: Contact, source: Contact, actor) -> dict | None:
    with transaction() as session:
        rows = session.scalars(
            select(Relationship).where(or_(Relationship.contact_id.in_([source.id, target.id]),
                                           Relationship.other_contact_id.in_([source.id, target.id])))
            .order_by(Relationship.id)
        ).all()
        kinds = {t.id: t for t in session.scalars(select(RelationshipType))}
        symmetric = {i: t.symmetric for i, t in kinds.items()}
        swap = {source.id: target.id}
        seen = set()
        for rel in rows:  # the target's own rows first decide what counts as a duplicate
            if source.id not in (rel.contact_id, rel.other_contact_id):
                seen.add(_key(rel.type_id, symmetric.get(rel.type_id), rel.contact_id, rel.other_contact_id,
                              rel.organization_id))
        moved, dropped = [], []
        for rel in rows:
            if source.id not in (rel.contact_id, rel.other_contact_id):
                continue
            a, b = swap.get(rel.contact_id, rel.contact_id), swap.get(rel.other_contact_id, rel.other_contact_id)
            key = _key(rel.type_id, symmetric.get(rel.type_id), a, b, rel.organization_id)
            if a == b or key in seen or (b is not None and rel.organization_id is None and rel.type_id in kinds
                                         and contradicted(kinds[rel.type_id], a, b, rel.start_date, rel.end_date)):
                dropped.append(_row(rel))
                session.delete(rel)
                continue
            seen.add(key)
            moved.append([rel.id, [c for c in COLUMNS if getattr(rel, c) == source.id]])
            rel.contact_id, rel.other_contact_id = a, b
        session.flush()
        reports = _repoint_reports(session, target, source)
        if not (moved or dropped or reports):
            return None
        audit.record(actor, "merged", "relationship", None, {
            "contact_id": (source.id, target.id), "moved": (None, len(moved)), "dropped": (None, len(dropped)),
            "reports_to": (None, len(reports)),
        })
    return {"moved": moved, "dropped": dropped, "reports": reports}


def _repoint_reports(session, target: Contact, source: Contact) -> list[list]:
    """Contacts reporting to ``source`` now report to ``target``; [[contact id, before, after]]."""
    ids = list(session.scalars(select(Contact.id).where(Contact.reports_to_id == source.id).order_by(Contact.id)))
    if not ids:
        return []
    above = set(ancestors(Contact, Contact.reports_to_id, target.id)) if target.reports_to_id else {target.id}
    above.add(target.id)
    changed = []
    for contact_id in ids:
        after = None if contact_id in above else target.id
        changed.append([contact_id, source.id, after])
    for after in (target.id, None):
        group = [c for c, _b, a in changed if a == after]
        for start in range(0, len(group), 500):
            session.execute(update(Contact).where(Contact.id.in_(group[start:start + 500]))
                            .values(reports_to_id=after, version=Contact.version + 1))
    return changed


def unmerge(target: Contact, source: Contact, actor, record: dict | None) -> int:
    """Undo ``merge`` from its record; idempotent, skips what changed since. Returns rows restored."""
    if not record:
        return 0
    restored = 0
    with transaction() as session:
        for rel_id, columns in record.get("moved") or []:
            rel = session.get(Relationship, int(rel_id))
            if rel is None:
                continue
            changed = False
            for column in columns:
                if column in COLUMNS and getattr(rel, column) == target.id:
                    setattr(rel, column, source.id)
                    changed = True
            restored += changed
        users = {d.get("created_by_id") for d in record.get("dropped") or [] if d.get("created_by_id")}
        users = set(session.scalars(select(User.id).where(User.id.in_(users)))) if users else set()
        for row in record.get("dropped") or []:
            if session.get(Relationship, int(row["id"])) is not None:
                continue
            ends = [row.get("other_contact_id"), row["contact_id"]]
            if row.get("organization_id") is None and any(session.get(Contact, c) is None for c in ends if c):
                continue
            session.add(Relationship(
                id=int(row["id"]), type_id=row["type_id"], contact_id=row["contact_id"],
                other_contact_id=row.get("other_contact_id"), organization_id=row.get("organization_id"),
                note=row.get("note") or "", created_by_id=row.get("created_by_id") if row.get("created_by_id") in users
                else None,
                start_date=date.fromisoformat(row["start_date"]) if row.get("start_date") else None,
                end_date=date.fromisoformat(row["end_date"]) if row.get("end_date") else None,
                created_at=_dt(row.get("created_at")), updated_at=_dt(row.get("updated_at")),
            ))
            restored += 1
        session.flush()
        for contact_id, before, after in record.get("reports") or []:
            restored += session.execute(
                update(Contact).where(Contact.id == int(contact_id),
                                      Contact.reports_to_id.is_(None) if after is None else Contact.reports_to_id == after)
                .values(reports_to_id=before, version=Contact.version + 1)
            ).rowcount or 0
        if restored:
            audit.record(actor, "unmerged", "relationship", None,
                         {"contact_id": (target.id, source.id), "restored": (None, restored)})
    return restored


def _dt(value):
    return datetime.fromisoformat(value) if value else utcnow()
