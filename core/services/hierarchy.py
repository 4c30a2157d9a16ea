"""Hierarchy: an organization's parent organization, the contact a contact reports to.

The contacts and organizations services call ``clean_reports_to`` / ``clean_parent`` from their
``_clean``; this module refuses self-references and cycles ("Bob already reports to Ada through
Carol") and reads chains, children and org-chart levels, each an index walk.
"""

from __future__ import annotations

from sqlalchemy import and_, func, literal, select
from sqlalchemy.orm import aliased, selectinload

from ..errors import ValidationError
from ..extensions import db
from ..models import Contact, Organization
from ..policy import visible_team_ids
from .pagination import Page, paginate
from .records import int_or_none

MAX_DEPTH = 200  # a chain longer than this is refused (and bounds every walk)


def ancestors(model, column, start_id: int) -> list[int]:
    """Ids from ``start_id`` up its chain (``start_id`` first), by one recursive query."""
    chain = select(model.id, column.label("up"), literal(0).label("depth")).where(model.id == start_id)
    chain = chain.cte("chain", recursive=True)
    step = (
        select(model.id, column, (chain.c.depth + 1))
        .join(chain, model.id == chain.c.up)
        .where(chain.c.depth < MAX_DEPTH)
    )
    chain = chain.union_all(step)
    return list(db.session.scalars(select(chain.c.id).order_by(chain.c.depth)))


def _visible(actor, record) -> bool:
    teams = visible_team_ids(actor)
    return record is not None and record.deleted_at is None and (teams is None or record.owner_team_id in teams)


def _cycle_message(names: list[str], verb: str, tail: str) -> str:
    """names: [proposed parent, ..., the record itself]."""
    through = names[1:-1]
    via = f" through {', '.join(through)}" if through else ""
    return f"{names[0]} already {verb} {names[-1]}{via}; {names[-1]} cannot {tail} {names[0]}."


def clean_reports_to(actor, data: dict, existing: Contact | None, errors: dict) -> dict:
    """``{"reports_to_id": id or None}`` when the field was sent; errors name the field."""
    if "reports_to_id" not in data:
        return {}
    field = "reports_to_id"
    boss_id = int_or_none(data[field], field, errors)
    if boss_id is None or field in errors:
        return {field: boss_id}
    if existing is not None and boss_id == existing.id:
        errors[field] = "A contact cannot report to themselves."
        return {field: boss_id}
    if existing is not None and existing.reports_to_id == boss_id:
        return {field: boss_id}  # unchanged: no need to see it or walk the chain again
    boss = db.session.get(Contact, boss_id)
    if not _visible(actor, boss):
        errors[field] = "No such contact."
        return {field: boss_id}
    if existing is not None:
        chain = ancestors(Contact, Contact.reports_to_id, boss_id)
        if existing.id in chain:
            ids = chain[: chain.index(existing.id) + 1]
            names = _names(Contact, ids, lambda c: c.full_name)
            errors[field] = _cycle_message(names, "reports to", "report to")
        elif len(chain) > MAX_DEPTH:
            errors[field] = f"The reporting line would be deeper than {MAX_DEPTH} levels."
    return {field: boss_id}


def clean_parent(actor, data: dict, existing: Organization | None, errors: dict) -> dict:
    """``{"parent_id": id or None}`` when the field was sent; errors name the field."""
    if "parent_id" not in data:
        return {}
    field = "parent_id"
    parent_id = int_or_none(data[field], field, errors)
    if parent_id is None or field in errors:
        return {field: parent_id}
    if existing is not None and parent_id == existing.id:
        errors[field] = "An organization cannot be its own parent."
        return {field: parent_id}
    if existing is not None and existing.parent_id == parent_id:
        return {field: parent_id}
    parent = db.session.get(Organization, parent_id)
    if not _visible(actor, parent):
        errors[field] = "No such organization."
        return {field: parent_id}
    if existing is not None:
        chain = ancestors(Organization, Organization.parent_id, parent_id)
        if existing.id in chain:
            ids = chain[: chain.index(existing.id) + 1]
            names = _names(Organization, ids, lambda o: o.name)
            errors[field] = _cycle_message(names, "belongs to", "belong to")
        elif len(chain) > MAX_DEPTH:
            errors[field] = f"The organization tree would be deeper than {MAX_DEPTH} levels."
    return {field: parent_id}


def recheck_parent(actor, org: Organization, values: dict) -> None:
    """Under the write lock: refuse a parent that became a cycle since ``clean_parent`` ran."""
    if values.get("parent_id") is None or values["parent_id"] == org.parent_id:
        return
    errors: dict = {}
    clean_parent(actor, {"parent_id": values["parent_id"]}, org, errors)
    if errors:
        raise ValidationError(errors)


def _names(model, ids: list[int], name_of) -> list[str]:
    found = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(ids)))}
    return [name_of(found[i]) if i in found else f"#{i}" for i in ids]


# --- reading --------------------------------------------------------------------------------


def _chain(actor, model, column, record) -> list:
    """``record``'s ancestors, nearest first, up to the first one ``actor`` may not see."""
    up = getattr(record, column.key)
    if up is None:
        return []
    ids = [i for i in ancestors(model, column, up) if i != record.id]
    found = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}
    out = []
    for i in ids:
        item = found.get(i)
        if not _visible(actor, item) or item in out:
            break
        out.append(item)
    return out


def reporting_chain(actor, contact: Contact) -> list[Contact]:
    return _chain(actor, Contact, Contact.reports_to_id, contact)


def parent_chain(actor, org: Organization) -> list[Organization]:
    return _chain(actor, Organization, Organization.parent_id, org)


def _scoped(stmt, model, actor):
    """Live records ``actor`` may see. The team test is written ``owner_team_id + 0`` so that no
    index serves it: each query here walks the index of its own column (parent, manager,
    organization), which SQLite's planner would otherwise trade for a team's whole index."""
    stmt = stmt.where(model.deleted_at.is_(None))
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where((model.owner_team_id + 0).in_(teams or [-1]))
    return stmt


def direct_reports(actor, contact_id: int, *, organization_id: int | None = None, cursor=None, limit=50) -> Page:
    """One page of the live, visible contacts reporting to ``contact_id`` (by name)."""
    stmt = _scoped(select(Contact), Contact, actor).where(Contact.reports_to_id == contact_id)
    if organization_id is not None:
        stmt = stmt.where(Contact.organization_id + 0 == organization_id)  # the manager's index, not the org's
    return paginate(db.session, stmt.options(selectinload(Contact.organization)), (Contact.sort_name, Contact.id),
                    [str, int], cursor, limit, False, key_of=lambda c: [c.sort_name, c.id])


def child_organizations(actor, org_id: int, *, cursor=None, limit=50) -> Page:
    stmt = _scoped(select(Organization), Organization, actor).where(Organization.parent_id == org_id)
    return paginate(db.session, stmt, (Organization.name_key, Organization.id), [str, int], cursor, limit, False,
                    key_of=lambda o: [o.name_key, o.id])


def chart_roots(actor, org_id: int, *, cursor=None, limit=50) -> Page:
    """The top of an organization's chart: its contacts whose manager is not a live, visible
    contact of the same organization."""
    boss = aliased(Contact)
    on = and_(boss.id == Contact.reports_to_id, boss.organization_id == org_id, boss.deleted_at.is_(None))
    teams = visible_team_ids(actor)
    if teams is not None:
        on = and_(on, boss.owner_team_id.in_(teams or [-1]))
    stmt = (
        _scoped(select(Contact), Contact, actor)
        .where(Contact.organization_id == org_id)
        .outerjoin(boss, on)
        .where(boss.id.is_(None))
    )
    return paginate(db.session, stmt, (Contact.sort_name, Contact.id), [str, int], cursor, limit, False,
                    key_of=lambda c: [c.sort_name, c.id])


def report_counts(actor, contact_ids: list[int], *, organization_id: int | None = None) -> dict:
    """Direct reports per contact (for the chart's "expand" buttons): one grouped query over the
    reports_to index for a whole page of people."""
    if not contact_ids:
        return {}
    stmt = _scoped(select(Contact.reports_to_id, func.count()), Contact, actor).where(
        Contact.reports_to_id.in_(contact_ids))
    if organization_id is not None:
        stmt = stmt.where(Contact.organization_id + 0 == organization_id)  # the manager's index, not the org's
    return dict(db.session.execute(stmt.group_by(Contact.reports_to_id)).all())
