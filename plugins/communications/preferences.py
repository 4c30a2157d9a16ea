"""Consent and preference use cases: read, change (audited, with a history row), validate.

Reading needs ``contact.view`` on the contact, changing needs ``contact.edit``: consent belongs
to the contact record, so the contact's owner team decides, through ``core.policy``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from core.database import transaction
from core.errors import Conflict, NotFound, ValidationError
from core.extensions import db
from core.models import Contact, User, utcnow
from core.policy import require
from core.services import audit
from core.services.contacts import get_contact as _get_contact
from core.services.fields import clean_text
from core.services.pagination import Page, paginate

from .consent import channel_key
from .models_prefs import CONSENT_STATES, Consent, ConsentChange, Preferences

MAX_ID = 2**31 - 1
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:00)?$")


def channel_keys() -> list[str]:
    """Channel keys from the channel registry (built-ins plus plugin channels)."""
    from . import channels

    return list(channels.registry())


def channel_choices() -> list[tuple[str, str]]:
    """(key, label) of every channel, for forms."""
    from . import channels

    return [(c.key, c.label) for c in channels.registry().values()]


def get_contact(actor, contact_id: int) -> Contact:
    if not 0 < contact_id <= MAX_ID:
        raise NotFound("No such contact.")
    return _get_contact(actor, contact_id)


# --- consent -------------------------------------------------------------------------------------


@dataclass
class ConsentState:
    channel: str
    status: str
    source: str = ""
    changed_at: datetime | None = None
    changed_by_id: int | None = None
    changed_by_name: str = ""
    label: str = ""


@functools.cache
def _consents_query():
    """A contact's consent rows, built once (the consent panel of every contact page reads them)."""
    return select(Consent).where(Consent.contact_id == bindparam("contact_id"))


@functools.cache
def _history_query():
    return select(ConsentChange).where(ConsentChange.contact_id == bindparam("contact_id"))


def consents(actor, contact_id: int) -> list[ConsentState]:
    """The current consent for every channel (``unknown`` where nothing was ever recorded)."""
    contact = get_contact(actor, contact_id)
    rows = {c.channel: c for c in db.session.scalars(_consents_query(), {"contact_id": contact.id})}
    names = _user_names({r.changed_by_id for r in rows.values()})
    out = []
    labels = dict(channel_choices())
    keys = list(labels)
    for key in keys + sorted(set(rows) - set(keys)):  # a channel whose plugin is gone still shows
        row = rows.get(key)
        if row is None:
            out.append(ConsentState(key, "unknown", label=labels.get(key, key)))
        else:
            out.append(ConsentState(key, row.status, row.source, row.changed_at, row.changed_by_id,
                                    names.get(row.changed_by_id, ""), labels.get(key, key)))
    return out


def set_consent(actor, contact_id: int, data: dict) -> ConsentChange:
    """Record a consent answer for one channel: the current row changes, a history row is added."""
    contact = get_contact(actor, contact_id)
    require(actor, "contact.edit", contact)
    errors: dict = {}
    for name in sorted(set(data) - {"channel", "status", "source", "note", "csrf_token"}):
        errors[name] = "Unknown field."
    channel = channel_key(clean_text(data.get("channel"), "channel", errors, 50, required=True))
    if "channel" not in errors and channel not in channel_keys():
        errors["channel"] = f"Choose one of: {', '.join(channel_keys())}."
    status = clean_text(data.get("status"), "status", errors, 20, required=True)
    if "status" not in errors and status not in CONSENT_STATES:
        errors["status"] = f"Choose one of: {', '.join(CONSENT_STATES)}."
    source = clean_text(data.get("source"), "source", errors, 200, required=True)
    note = clean_text(data.get("note"), "note", errors, 500)
    if errors:
        raise ValidationError(errors)
    now = utcnow()
    actor_id = getattr(actor, "id", None)  # before the transaction: loading the user may autoflush
    try:
        with transaction():
            row = db.session.scalars(
                select(Consent).where(Consent.contact_id == contact.id, Consent.channel == channel)
            ).first()
            before = row.status if row else "unknown"
            if row is None:
                row = Consent(contact_id=contact.id, channel=channel)
                db.session.add(row)
            row.status, row.source, row.changed_at, row.changed_by_id = status, source, now, actor_id
            change = ConsentChange(contact_id=contact.id, channel=channel, previous_status=before, status=status,
                                   source=source, note=note, changed_at=now, changed_by_id=actor_id)
            db.session.add(change)
            db.session.flush()
            audit.record(actor, "consent", "contact", contact.id,
                         {f"consent.{channel}": (before, status), "source": (None, source)})
    except IntegrityError:  # two first answers for the same channel at once: the other one won
        raise Conflict("Someone else recorded consent for this channel at the same moment; reload and retry.") from None
    return change


def consent_history(actor, contact_id: int, *, cursor: str | None = None, limit: int = 50) -> Page:
    """Every consent change of the contact, newest first."""
    contact = get_contact(actor, contact_id)
    if not 1 <= limit <= 200:
        raise ValidationError({"limit": "Between 1 and 200."})
    page = paginate(db.session, _history_query(), (ConsentChange.changed_at, ConsentChange.id), [datetime, int],
                    cursor, limit, True, key_of=lambda c: [c.changed_at, c.id], params={"contact_id": contact.id})
    page.extra["names"] = _user_names({c.changed_by_id for c in page.items})
    return page


def _user_names(ids) -> dict[int, str]:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


# --- preferences ---------------------------------------------------------------------------------

PREF_FIELDS = ("preferred_channel", "quiet_start", "quiet_end", "timezone")


def get_preferences(actor, contact_id: int) -> Preferences:
    """The contact's preferences; a blank, unsaved row (version 0) when none were ever set."""
    contact = get_contact(actor, contact_id)
    prefs = db.session.get(Preferences, contact.id)
    if prefs is None:
        prefs = Preferences(contact_id=contact.id, version=0)
    return prefs


def parse_time(value, field: str, errors: dict) -> time | None:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    text = clean_text(value, field, errors, 8)
    if field in errors or not text:
        return None
    match = HHMM.match(text)
    if not match:
        errors[field] = "Use a 24-hour time such as 21:30."
        return None
    return time(int(match.group(1)), int(match.group(2)))


def valid_timezone(name: str) -> bool:
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def clean_preferences(data: dict) -> dict:
    errors: dict = {}
    for name in sorted(set(data) - set(PREF_FIELDS) - {"version", "csrf_token"}):
        errors[name] = "Unknown field."
    for name in PREF_FIELDS:
        if name in data and data[name] is not None and not isinstance(data[name], str | time):
            errors[name] = "Must be a string."
    if errors:
        raise ValidationError(errors)
    preferred = clean_text(data.get("preferred_channel"), "preferred_channel", errors, 50) or None
    if preferred and "preferred_channel" not in errors:
        preferred = channel_key(preferred)
        if preferred not in channel_keys():
            errors["preferred_channel"] = f"Choose one of: {', '.join(channel_keys())}."
    start = parse_time(data.get("quiet_start"), "quiet_start", errors)
    end = parse_time(data.get("quiet_end"), "quiet_end", errors)
    if "quiet_start" not in errors and "quiet_end" not in errors:
        if (start is None) != (end is None):
            errors["quiet_end" if end is None else "quiet_start"] = "Give both the start and the end of quiet hours."
        elif start is not None and start == end:
            errors["quiet_end"] = "Quiet hours must end at a different time than they start."
    tz = clean_text(data.get("timezone"), "timezone", errors, 64) or None
    if tz and "timezone" not in errors and not valid_timezone(tz):
        errors["timezone"] = "Not a known time zone; use an IANA name such as Europe/Paris."
    if errors:
        raise ValidationError(errors)
    return {"preferred_channel": preferred, "quiet_start": start, "quiet_end": end, "timezone": tz}


def set_preferences(actor, contact_id: int, data: dict, expected_version: int | None = None) -> Preferences:
    """Replace the contact's preferences. ``expected_version`` (0 = never saved) guards against lost edits."""
    contact = get_contact(actor, contact_id)
    require(actor, "contact.edit", contact)
    values = clean_preferences(data)
    actor_id = getattr(actor, "id", None)  # before the transaction: loading the user may autoflush
    try:
        with transaction():
            prefs = db.session.get(Preferences, contact.id, populate_existing=True)
            current = prefs.version if prefs else 0
            if expected_version is not None and expected_version != current:
                theirs = {k: getattr(prefs, k) for k in PREF_FIELDS} if prefs else {}
                raise Conflict("Someone else changed these preferences since you opened them; review and save again.",
                               current=prefs, changes=theirs)
            old = {k: getattr(prefs, k) if prefs else None for k in values}
            changes = {k: (old[k], v) for k, v in values.items() if old[k] != v}
            if prefs is None:
                prefs = Preferences(contact_id=contact.id, updated_by_id=actor_id, updated_at=utcnow(), **values)
                db.session.add(prefs)
            else:
                for key, value in values.items():
                    setattr(prefs, key, value)
                prefs.updated_by_id = actor_id
                prefs.updated_at = utcnow()
            db.session.flush()
            if changes:
                audit.record(actor, "preferences", "contact", contact.id,
                             {f"preferences.{k}": v for k, v in changes.items()})
    except IntegrityError:
        raise Conflict("Someone else saved these preferences at the same moment; reload and retry.") from None
    return prefs


def _consent_row(c: Consent) -> dict:
    return {"id": c.id, "channel": c.channel, "status": c.status, "source": c.source,
            "changed_at": c.changed_at.isoformat() if c.changed_at else None, "changed_by_id": c.changed_by_id}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def repoint_preferences(target, source, actor) -> dict | None:
    """After a merge: the target keeps its own answers, gains the source's where it had none, and
    an opt-out on either side wins (the safe reading). The source's consent history moves along.

    Returns the undo record (JSON-serializable) or None when nothing changed: ``consents`` = the
    source's consent rows as they were (``moved`` says which went to the target),
    ``target_consents`` = the target rows an opt-out overwrote, with their previous values and
    the id of the history row the merge added, ``history`` = the ids of the source's history rows
    moved, ``preferences`` = whether the source's preferences row moved."""
    from sqlalchemy import update

    now = utcnow()
    actor_id = getattr(actor, "id", None)
    record = {"consents": [], "target_consents": [], "history": [], "preferences": False}
    with transaction():
        theirs = {c.channel: c for c in db.session.scalars(select(Consent).where(Consent.contact_id == source.id))}
        ours = {c.channel: c for c in db.session.scalars(select(Consent).where(Consent.contact_id == target.id))}
        record["history"] = sorted(db.session.scalars(
            select(ConsentChange.id).where(ConsentChange.contact_id == source.id)).all())
        moved_history = db.session.execute(
            update(ConsentChange).where(ConsentChange.contact_id == source.id).values(contact_id=target.id)
        ).rowcount or 0
        for channel, row in sorted(theirs.items()):
            mine = ours.get(channel)
            record["consents"].append({**_consent_row(row), "moved": mine is None})
            if mine is None:
                row.contact_id = target.id
            elif row.status == "opted_out" and mine.status != "opted_out":
                change = ConsentChange(contact_id=target.id, channel=channel, previous_status=mine.status,
                                       status="opted_out", source="merge", changed_at=now,
                                       note=f"Opted out on merged contact {source.id}.", changed_by_id=actor_id)
                db.session.add(change)
                db.session.flush()
                record["target_consents"].append({**_consent_row(mine), "merged_at": now.isoformat(),
                                                  "change_id": change.id})
                mine.status, mine.source, mine.changed_at = "opted_out", "merge", now
                mine.changed_by_id = actor_id
        if db.session.get(Preferences, target.id) is None and db.session.get(Preferences, source.id) is not None:
            db.session.flush()
            db.session.execute(update(Preferences).where(Preferences.contact_id == source.id)
                               .values(contact_id=target.id))
            db.session.expire_all()
            record["preferences"] = True
        if theirs or moved_history:
            audit.record(actor, "merged", "communications_consent", None,
                         {"contact_id": (source.id, target.id), "history": (None, moved_history)})
    changed = record["history"] or record["target_consents"] or record["preferences"] or any(
        c["moved"] for c in record["consents"])
    return record if changed else None


def unrepoint_preferences(target, source, actor, record: dict | None) -> int:
    """Undo ``repoint_preferences`` from its record. Consent rows the merge moved go back to the
    source with their values from before the merge; target rows an opt-out overwrote get their
    previous answer back (only when nobody changed them since), with a new history row saying so
    (the history is append-only); moved history rows and the preferences row go back. Rows deleted
    since are skipped and a second call changes nothing. Returns the number of rows put back."""
    from sqlalchemy import update

    if not record:
        return 0
    now = utcnow()
    actor_id = getattr(actor, "id", None)
    restored = 0
    with transaction():
        users = {c.get("changed_by_id") for c in record.get("consents", []) + record.get("target_consents", [])}
        users = set(db.session.scalars(select(User.id).where(User.id.in_(users - {None})))) if users - {None} else set()
        for prev in record.get("target_consents") or []:
            mine = db.session.get(Consent, int(prev["id"]))
            if (mine is None or mine.contact_id != target.id or mine.status != "opted_out" or mine.source != "merge"
                    or mine.changed_at != _when(prev.get("merged_at"))):
                continue  # deleted or changed since the merge: the newer answer stands
            db.session.add(ConsentChange(contact_id=target.id, channel=mine.channel, previous_status=mine.status,
                                         status=prev["status"], source="unmerge", changed_at=now,
                                         note=f"Merge with contact {source.id} undone.", changed_by_id=actor_id))
            mine.status, mine.source = prev["status"], prev["source"]
            mine.changed_at = _when(prev.get("changed_at")) or now
            mine.changed_by_id = prev.get("changed_by_id") if prev.get("changed_by_id") in users else None
            restored += 1
        held = set(db.session.scalars(select(Consent.channel).where(Consent.contact_id == source.id)))
        for prev in record.get("consents") or []:
            if not prev.get("moved"):
                continue  # it never left the source
            row = db.session.get(Consent, int(prev["id"]))
            if row is None or row.contact_id != target.id or row.channel in held:
                continue
            row.contact_id = source.id
            row.status, row.source = prev["status"], prev["source"]
            row.changed_at = _when(prev.get("changed_at")) or row.changed_at
            row.changed_by_id = prev.get("changed_by_id") if prev.get("changed_by_id") in users else None
            held.add(row.channel)
            restored += 1
        db.session.flush()
        history = [int(i) for i in record.get("history") or []]
        for start in range(0, len(history), 500):  # bounded IN lists
            restored += db.session.execute(
                update(ConsentChange)
                .where(ConsentChange.id.in_(history[start:start + 500]), ConsentChange.contact_id == target.id)
                .values(contact_id=source.id)
            ).rowcount or 0
        if (record.get("preferences") and db.session.get(Preferences, source.id) is None
                and db.session.get(Preferences, target.id) is not None):
            db.session.flush()
            db.session.execute(update(Preferences).where(Preferences.contact_id == target.id)
                               .values(contact_id=source.id))
            db.session.expire_all()
            restored += 1
        if restored:
            audit.record(actor, "unmerged", "communications_consent", None,
                         {"contact_id": (target.id, source.id), "restored": (None, restored)})
    return restored


__all__ = ["consents", "set_consent", "consent_history", "get_preferences", "set_preferences", "channel_keys"]
