"""Import a vCard file as a background job (core/services/jobs.py): each card is upserted by its
UID, else by its email, through core/services/contacts.py and details.apply_extra; a card that
cannot be imported is reported (``ctx.error``) and the rest of the file goes on.

Interim: the format-neutral pipeline (core/services/importer.py) will take over upsert, dry run
and the job; then ``import_record`` is what it calls per record and this runner goes away.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ..database import transaction
from ..errors import ServiceError, ValidationError
from ..extensions import db
from ..models import Contact, Organization
from ..policy import can, require, visible_team_ids, writable_teams
from . import contacts as contacts_service
from . import details, jobs, taxonomy
from . import organizations as org_service
from .fields import normalize_email, normalize_phone
from .records import int_or_none
from .vcard import read_cards

KIND = "contacts.import_vcard"
MAX_FILE_BYTES = 10 * 1024 * 1024
BATCH = 25
CARD_COUNT = re.compile(r"^[ \t]*BEGIN:VCARD[ \t\r]*$", re.IGNORECASE | re.MULTILINE)


def start_import(actor, filename: str, data: bytes, owner_team_id=None):
    """Check the upload and start the job; the file travels in the job's params."""
    from .vcard import decode_file

    require(actor, "contact.create")
    if not data:
        raise ValidationError({"file": "Choose a .vcf file."})
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError({"file": f"At most {MAX_FILE_BYTES // (1024 * 1024)} MB."})
    text = decode_file(data)
    total = len(CARD_COUNT.findall(text))
    if not total:
        raise ValidationError({"file": "This is not a vCard file: no BEGIN:VCARD line."})
    errors: dict = {}
    allowed = [t.id for t in writable_teams(actor)]
    team = int_or_none(owner_team_id, "owner_team_id", errors) if owner_team_id else None
    if errors or (team is not None and team not in allowed):
        raise ValidationError({"owner_team_id": "Choose one of your teams."})
    if not allowed:
        raise ValidationError({"owner_team_id": "You cannot create contacts in any team."})
    name = (filename or "contacts.vcf").rsplit("/", 1)[-1][:100]
    params = {"text": text, "filename": name, "owner_team_id": team or allowed[0]}
    return jobs.start(actor, KIND, params, title=f"Import {name}", total=total)


def settle(record: dict) -> tuple[dict, list[str]]:
    """Pick a valid primary email and phone (the first valid, preferred first); the others stay
    as extras. Returns (record, warnings)."""
    extra = dict(record.get("extra") or {})
    warnings: list[str] = []
    out = dict(record, extra=extra)
    for key, normalize in (("email", normalize_email), ("phone", normalize_phone)):
        candidates = ([{"label": "other", "value": record[key]}] if record.get(key) else []) + list(
            extra.get(key + "s") or []
        )
        primary, rest = None, []
        for item in candidates:
            if primary is None:
                try:
                    primary = normalize(item["value"])
                    continue
                except ValueError as exc:
                    if key == "email":
                        warnings.append(f"email {item['value'][:60]!r} skipped: {exc}")
                        continue
            rest.append(item)
        out[key] = primary or ("" if key == "phone" else None)
        if candidates:
            extra[key + "s"] = rest
    return out, warnings


def _find(actor, record: dict) -> Contact | None:
    contact = details.find_by_uid(actor, record["external_id"]) if record.get("external_id") else None
    if contact is None and record.get("email"):
        contact = db.session.scalar(select(Contact).where(Contact.email_key == record["email"].lower()))
        if contact is not None and (contact.deleted_at is not None or not can(actor, "contact.view", contact)):
            where = "is in the trash" if contact.deleted_at else "is not visible to you"
            raise ValidationError({"email": f"Another contact has this email address and {where}."})
    return contact


def _organization_id(actor, name: str, team_id: int, cache: dict) -> int | None:
    name = name.strip()[:200]
    if not name:
        return None
    if name.lower() not in cache:
        stmt = select(Organization.id).where(Organization.name_key == name.lower(), Organization.deleted_at.is_(None))
        teams = visible_team_ids(actor)
        if teams is not None:
            stmt = stmt.where(Organization.owner_team_id.in_(teams or [-1]))
        found = db.session.scalar(stmt.order_by(Organization.id).limit(1))
        if found is None:
            found = org_service.create_organization(actor, {"name": name, "owner_team_id": team_id}).id
        cache[name.lower()] = found
    return cache[name.lower()]


def import_record(actor, record: dict, owner_team_id: int, orgs: dict | None = None) -> tuple[str, Contact, list]:
    """Upsert one record (by UID, else email); returns ("created" | "updated", contact, warnings)."""
    record, warnings = settle(record)
    contact = _find(actor, record)
    core = {k: record[k] for k in ("first_name", "last_name", "email", "phone") if record.get(k)}
    if record.get("organization"):
        core["organization_id"] = _organization_id(actor, record["organization"], owner_team_id, orgs or {})
    if contact is None:
        outcome = "created"
        contact = contacts_service.create_contact(actor, {**core, "owner_team_id": owner_team_id})
    else:
        outcome = "updated"
        contact = contacts_service.update_contact(actor, contact.id, core, None)
    warnings += details.apply_extra(actor, contact, record.get("extra") or {}, lenient=True)
    if record.get("tags"):  # CATEGORIES: added to the contact's tags (created when new)
        names = [part.strip() for tag in record["tags"] for part in str(tag).split(",") if part.strip()]
        taxonomy.add_tags(actor, [contact.id], names[:50])
    if record.get("external_id"):
        details.set_uid(actor, contact, record["external_id"])
    return outcome, contact, warnings


def run(ctx) -> dict:
    """The job runner: cards in batches, each batch one transaction with its bookmark."""
    params, actor = ctx.params, ctx.actor
    after = int(ctx.checkpoint.get("card", 0))
    counts = dict(ctx.checkpoint.get("counts") or {"Created": 0, "Updated": 0, "Rejected": 0})
    total = len(CARD_COUNT.findall(params["text"])) or None
    orgs: dict = {}
    cards = ((n, r) for n, r in read_cards(params["text"]) if n > after)
    done = after
    try:
        while True:
            batch = [card for _, card in zip(range(BATCH), cards, strict=False)]
            if not batch:
                break
            with transaction():
                for number, record in batch:
                    counts_key = _one(ctx, actor, number, record, params["owner_team_id"], orgs)
                    counts[counts_key] = counts.get(counts_key, 0) + 1
                    done = number
                ctx.progress(done, total, checkpoint={"card": done, "counts": counts})
    except jobs.JobCancelled:
        _forget_file(ctx.job_id)
        raise
    _forget_file(ctx.job_id)
    return {"summary": counts, "links": [{"label": "Contacts", "url": "/"}]}


def _forget_file(job_id: int) -> None:
    """The file is kept in the job only while it may still be resumed (the jobs list reads params)."""
    from ..models.jobs import Job

    with transaction():
        job = db.session.get(Job, job_id)
        job.params = {k: v for k, v in job.params.items() if k != "text"}


def _one(ctx, actor, number: int, record, team_id: int, orgs: dict) -> str:
    ref = f"card {number}"
    if isinstance(record, str):
        ctx.error(ref, record)
        return "Rejected"
    savepoint = db.session.begin_nested()
    try:
        outcome, _contact, warnings = import_record(actor, record, team_id, orgs)
    except ServiceError as exc:
        savepoint.rollback()
        orgs.clear()  # organizations created in this savepoint are gone again
        messages = getattr(exc, "errors", None)
        text = "; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items()) if messages else exc.message
        ctx.error(ref, f"{_name(record)}: {text or 'not allowed'}")
        return "Rejected"
    savepoint.commit()
    for warning in warnings:
        ctx.error(ref, f"{_name(record)}: {warning}")
    return outcome.capitalize()


def _name(record: dict) -> str:
    return " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p) or record.get("email") or "?"
