"""Organization use cases: create, read, list, update, delete (to the trash) and restore."""

from __future__ import annotations

from sqlalchemy import select

from ..database import after_commit, transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..models import Contact, Organization, utcnow
from ..plugins import hook
from ..policy import require, visible_team_ids
from . import audit, cache_keys, hierarchy
from .fields import clean_text, normalize_phone
from .pagination import Page, paginate
from .records import Owner, apply_changes, clean_owner_team, escape_like, get_owned, stale_changes

FIELDS = ("name", "website", "phone", "notes", "owner_team_id", "parent_id")


def _clean(actor, data: dict, existing: Organization | None) -> dict:
    errors: dict = {}
    out: dict = {}
    for name in sorted(set(data) - set(FIELDS) - {"version"}):
        errors[name] = "Unknown field."
    if "name" in data or existing is None:
        out["name"] = clean_text(data.get("name"), "name", errors, 200, required=True)
    if "website" in data:
        site = clean_text(data["website"], "website", errors, 300)
        if site and "website" not in errors:
            if "://" not in site:
                site = "https://" + site
            if not site.startswith(("http://", "https://")) or " " in site or "." not in site.split("://", 1)[1]:
                errors["website"] = "Enter a web address such as https://example.org."
        out["website"] = site
    if "phone" in data:
        raw = clean_text(data["phone"], "phone", errors, 40)
        out["phone"] = ""
        if raw and "phone" not in errors:
            try:
                out["phone"] = normalize_phone(raw)
            except ValueError as exc:
                errors["phone"] = str(exc)
    if "notes" in data:
        out["notes"] = clean_text(data["notes"], "notes", errors, 10000)
    out.update(hierarchy.clean_parent(actor, data, existing, errors))
    if "owner_team_id" in data or existing is None:
        out["owner_team_id"] = clean_owner_team(actor, data, existing, errors)
    if errors:
        raise ValidationError(errors)
    return out


def _apply(org: Organization, values: dict) -> dict:
    changes = apply_changes(org, values)
    if "name" in changes:
        org.name_key = org.name.lower()
    return changes


def _fire(org, actor, action, changes=None):
    after_commit(lambda: cache_keys.bump("organizations"))  # cached organization choices (views/contacts.py)
    after_commit(
        lambda: hook().contacts_record_changed(
            entity_type="organization", entity_id=org.id, action=action, actor=actor, changes=changes or {}
        )
    )


def create_organization(actor, data: dict) -> Organization:
    require(actor, "organization.create")
    values = _clean(actor, data, None)
    org = Organization(website="", phone="", notes="")
    with transaction():
        require(actor, "organization.create", Owner(values["owner_team_id"]))
        changes = _apply(org, values)
        db.session.add(org)
        db.session.flush()
        audit.record(actor, "created", "organization", org.id, {k: (None, v[1]) for k, v in changes.items()})
        _fire(org, actor, "created", changes)
    return org


def get_organization(actor, org_id: int, *, deleted: bool = False) -> Organization:
    return get_owned(actor, Organization, org_id, "organization", deleted=deleted)


def update_organization(actor, org_id: int, data: dict, expected_version: int | None) -> Organization:
    org = get_organization(actor, org_id)
    require(actor, "organization.edit", org)
    values = _clean(actor, data, org)
    with transaction():
        org = db.session.get(Organization, org_id, populate_existing=True)
        if org is None or org.deleted_at is not None:
            raise NotFound("No such organization.")
        if expected_version is not None and org.version != expected_version:
            theirs = stale_changes(org, values)
            raise Conflict(
                "Someone else changed this organization since you opened it. Review their version, then save again.",
                current=org,
                changes=theirs,
            )
        if "owner_team_id" in values and values["owner_team_id"] != org.owner_team_id:
            require(actor, "organization.edit", Owner(values["owner_team_id"]))
        hierarchy.recheck_parent(actor, org, values)  # the tree may have changed since _clean, before the lock
        changes = _apply(org, values)
        if changes:
            audit.record(actor, "updated", "organization", org.id, changes)
            _fire(org, actor, "updated", changes)
    return org


def delete_organization(actor, org_id: int) -> Organization:
    """Move to the trash. Its contacts keep their link and show it again when it is restored."""
    org = get_organization(actor, org_id)
    require(actor, "organization.delete", org)
    with transaction():
        org.deleted_at = utcnow()
        org.deleted_by_id = actor.id
        audit.record(actor, "deleted", "organization", org.id, {"deleted_at": (None, org.deleted_at)})
        _fire(org, actor, "deleted")
    return org


def restore_organization(actor, org_id: int) -> Organization:
    org = get_organization(actor, org_id, deleted=True)
    require(actor, "organization.restore", org)
    with transaction():
        before = org.deleted_at
        org.deleted_at = None
        org.deleted_by_id = None
        audit.record(actor, "restored", "organization", org.id, {"deleted_at": (before, None)})
        _fire(org, actor, "restored")
    return org


def list_organizations(actor, *, q: str = "", cursor: str | None = None, limit: int = 50, deleted: bool = False) -> Page:
    require(actor, "organization.list")
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    stmt = select(Organization).where(
        Organization.deleted_at.is_not(None) if deleted else Organization.deleted_at.is_(None)
    )
    teams = visible_team_ids(actor)
    if teams is not None:
        stmt = stmt.where(Organization.owner_team_id.in_(teams or [-1]))
    if q and q.strip():
        stmt = stmt.where(Organization.name_key.like(escape_like(q.strip().lower()) + "%", escape="\\"))
    return paginate(
        db.session, stmt, (Organization.name_key, Organization.id), [str, int], cursor, limit, False,
        key_of=lambda o: [o.name_key, o.id],
    )


def contact_count(org_id: int, limit: int = 1000) -> int:
    """Live contacts at the organization, counted up to ``limit`` (shown as "1,000+")."""
    sub = (
        select(Contact.id)
        .where(Contact.organization_id == org_id, Contact.deleted_at.is_(None))
        .limit(limit + 1)
        .subquery()
    )
    return db.session.scalar(select(db.func.count()).select_from(sub))
