"""Hierarchy: an organization's parent organization, the contact a contact reports to.

The contacts and organizations services call ``clean_reports_to`` / ``clean_parent`` from their
``_clean``; this module refuses self-references and cycles ("Bob already reports to Ada through
Carol") and reads chains, children and org-chart levels, each an index walk.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func, literal, select
from sqlalchemy.orm import aliased

from ..errors import ValidationError
from ..extensions import db
from ..models import Contact, Organization
from ..policy import visible_team_ids
from .pagination import Page, paginate
from .records import int_or_none

MAX_DEPTH = 200  # a chain longer than this is refused (and bounds every walk)


def ancestors(model, column, start_id: int) -> list[int]:
    """Ids from ``start_id`` up its chain (``start_id`` first), by one recursive query."""
    return list(db.session.scalars(_ancestors_query(model, column.key), {"start_id": start_id}))


@functools.cache
def _ancestors_query(model, key: str):
    """The recursive query of ``ancestors``, built once per pointer (the contact page asks for it
    on every view: building the CTE cost more than running it)."""
    chain = _ancestors_cte(model, key)
    return select(chain.c.id).order_by(chain.c.depth)


@functools.cache
def _ancestors_cte(model, key: str):
    """(id, up, depth) from ``start_id`` up its chain."""
    column = getattr(model, key)
    chain = select(model.id, column.label("up"), literal(0).label("depth")).where(model.id == bindparam("start_id"))
    chain = chain.cte("chain", recursive=True)
    step = (
        select(model.id, column, (chain.c.depth + 1))
        .join(chain, model.id == chain.c.up)
        .where(chain.c.depth < MAX_DEPTH)
    )
    return chain.union_all(step)


def _visible(actor, record) -> bool:
    teams = visible_team_ids(actor)
    return record is not None and record.deleted_at is None and (teams is None or record.owner_team_id in teams)


def _cycle_message(names: list[str], verb: str, tail: str) -> str:
    """names: [proposed parent, ..., the record itself]."""
    through = names[1:-1]
    via = f" through {', '.join(through)}" if through else ""
    return f"{names[0]} already {verb} {names[-1]}{via}; {names[-1]} cannot {tail} {names[0]}."


@dataclass(frozen=True)
class _Pointer:
    """A record's pointer up its own tree (a contact's manager, an organization's parent)."""

    model: type
    column: object
    field: str
    name_of: Callable
    itself: str  # the message when it points at itself
    missing: str
    verb: str  # "<parent> already <verb> <record>"
    tail: str  # "<record> cannot <tail> <parent>"
    too_deep: str


REPORTS_TO = _Pointer(Contact, Contact.reports_to_id, "reports_to_id", lambda c: c.full_name,
                      "A contact cannot report to themselves.", "No such contact.", "reports to", "report to",
                      f"The reporting line would be deeper than {MAX_DEPTH} levels.")
PARENT = _Pointer(Organization, Organization.parent_id, "parent_id", lambda o: o.name,
                  "An organization cannot be its own parent.", "No such organization.", "belongs to", "belong to",
                  f"The organization tree would be deeper than {MAX_DEPTH} levels.")


def _clean_pointer(p: _Pointer, actor, data: dict, existing, errors: dict) -> dict:
    """``{field: id or None}`` when the field was sent: a visible record, not the record itself, and
    no cycle (the message names the chain); errors name the field."""
    if p.field not in data:
        return {}
    field = p.field
    target_id = int_or_none(data[field], field, errors)
    if target_id is None or field in errors:
        return {field: target_id}
    if existing is not None and target_id == existing.id:
        errors[field] = p.itself
        return {field: target_id}
    if existing is not None and getattr(existing, field) == target_id:
        return {field: target_id}  # unchanged: no need to see it or walk the chain again
    if not _visible(actor, db.session.get(p.model, target_id)):
        errors[field] = p.missing
        return {field: target_id}
    if existing is not None:
        chain = ancestors(p.model, p.column, target_id)
        if existing.id in chain:
            names = _names(p.model, chain[: chain.index(existing.id) + 1], p.name_of)
            errors[field] = _cycle_message(names, p.verb, p.tail)
        elif len(chain) > MAX_DEPTH:
            errors[field] = p.too_deep
    return {field: target_id}


def clean_reports_to(actor, data: dict, existing: Contact | None, errors: dict) -> dict:
    """``{"reports_to_id": id or None}`` when the field was sent; errors name the field."""
    return _clean_pointer(REPORTS_TO, actor, data, existing, errors)


def clean_parent(actor, data: dict, existing: Organization | None, errors: dict) -> dict:
    """``{"parent_id": id or None}`` when the field was sent; errors name the field."""
    return _clean_pointer(PARENT, actor, data, existing, errors)


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


@functools.cache
def _chain_query(model, key: str):
    """The records up the chain from ``start_id`` (itself first), nearest first: the recursive query
    of ``ancestors`` joined to the records, one statement built once per pointer."""
    chain = _ancestors_cte(model, key)
    return select(model).join(chain, model.id == chain.c.id).order_by(chain.c.depth)


def up_from(model, column, start_id: int) -> list:
    """The records from ``start_id`` up its chain (itself first), nearest first, by one statement; a
    cycle repeats them (up to MAX_DEPTH rows)."""
    return db.session.scalars(_chain_query(model, column.key), {"start_id": start_id}).all()


def _chain(actor, model, column, record) -> list:
    """``record``'s ancestors, nearest first, up to the first one ``actor`` may not see."""
    up = getattr(record, column.key)
    if up is None:
        return []
    out = []
    for item in up_from(model, column, up):
        if item.id == record.id:
            continue
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


@functools.cache
def _reports_query(by_team: bool, by_organization: bool, names: bool = False):
    """``direct_reports``'s statement, built once (every contact page asks it): ``_scoped`` with the
    teams as a parameter. ``names``: plain columns for ``report_names`` instead of the contacts."""
    if names:
        stmt = (select(Contact.id, Contact.first_name, Contact.last_name, Contact.email, Contact.sort_name,
                       Organization.name.label("organization_name"))
                .outerjoin(Organization, Organization.id == Contact.organization_id)
                .where(Contact.deleted_at.is_(None)))
    else:
        stmt = select(Contact).where(Contact.deleted_at.is_(None))
    if by_team:
        stmt = stmt.where((Contact.owner_team_id + 0).in_(bindparam("teams", expanding=True)))
    stmt = stmt.where(Contact.reports_to_id == bindparam("manager_id"))
    if by_organization:  # the manager's index, not the org's
        stmt = stmt.where(Contact.organization_id + 0 == bindparam("organization_id"))
    return stmt  # the organizations come with the contacts (Contact.organization is a joined load)


def direct_reports(actor, contact_id: int, *, organization_id: int | None = None, cursor=None, limit=50) -> Page:
    """One page of the live, visible contacts reporting to ``contact_id`` (by name)."""
    teams = visible_team_ids(actor)
    params = {"manager_id": contact_id, "organization_id": organization_id, "teams": list(teams or ()) or [-1]}
    return paginate(db.session, _reports_query(teams is not None, organization_id is not None),
                    (Contact.sort_name, Contact.id), [str, int], cursor, limit, False,
                    key_of=lambda c: [c.sort_name, c.id], params=params)


@dataclass(frozen=True)
class Report:
    """A direct report as the contact page lists it: a name and an organization's, not a Contact."""

    id: int
    full_name: str
    organization_name: str | None


def report_names(actor, contact_id: int, *, cursor=None, limit=50) -> Page:
    """``direct_reports`` as ``Report``s, from plain rows: a manager's page of 50 contacts with their
    organizations and teams cost ~1 ms as objects."""
    teams = visible_team_ids(actor)
    params = {"manager_id": contact_id, "teams": list(teams or ()) or [-1]}
    return paginate(db.session, _reports_query(teams is not None, False, names=True), (Contact.sort_name, Contact.id),
                    [str, int], cursor, limit, False, key_of=lambda r: [r.sort_name, r.id], params=params,
                    make=lambda r: Report(r.id, Contact.full_name.fget(r), r.organization_name))


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
