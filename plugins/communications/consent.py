"""May this contact be reached on this channel at this time?

The send and schedule paths ask ``blocked_reason`` before they record a send; a non-empty answer
is shown to the user and stored with the blocked communication. Two rules:

- consent: a contact who opted out of a channel is never contacted on it (and, with
  ``COMMUNICATIONS_REQUIRE_OPT_IN`` set, a contact must have opted in first);
- quiet hours: the contact's quiet hours, read in the contact's own timezone (the one this plugin
  keeps, else the core's "Time zone" preference), block channels that reach a person at once
  (everything but letters and meetings).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from core.extensions import db
from core.models import ContactPreference

from .models_prefs import Consent, Preferences

# A communication's type names the act ("call"); consent is given per channel ("phone").
CHANNEL_OF_TYPE = {"call": "phone"}
NO_QUIET_HOURS = frozenset({"letter", "meeting"})


def channel_key(channel: str) -> str:
    return CHANNEL_OF_TYPE.get(channel, channel)


def zone(name: str | None) -> ZoneInfo:
    """The contact's zone; a missing or unknown name falls back to the configured default, then UTC."""
    default = current_app.config.get("COMMUNICATIONS_DEFAULT_TIMEZONE", "UTC") if has_app_context() else "UTC"
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_quiet_hours(start: time | None, end: time | None, local: time) -> bool:
    """``start``..``end`` may wrap midnight (22:00..07:00); equal or missing bounds mean none."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(prefs: Preferences, at: datetime, zone_name: str | None = None) -> datetime | None:
    """If naive-UTC ``at`` falls in the contact's quiet hours, the local time they end, else None.
    ``zone_name`` is the zone to use when ``prefs`` has none of its own."""
    if prefs is None:
        return None
    local = local_time(prefs, at, zone_name)
    if not in_quiet_hours(prefs.quiet_start, prefs.quiet_end, local.time()):
        return None
    end = local.replace(hour=prefs.quiet_end.hour, minute=prefs.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


def local_time(prefs: Preferences | None, at: datetime, zone_name: str | None = None) -> datetime:
    return at.replace(tzinfo=UTC).astimezone(zone((prefs.timezone if prefs else None) or zone_name))


def core_zone(contact_id: int) -> str | None:
    """The contact's time zone from the core's Preferences panel."""
    return db.session.scalar(db.select(ContactPreference.value).where(
        ContactPreference.contact_id == contact_id, ContactPreference.key == "timezone"))


def blocked_reason(contact, channel: str, at: datetime) -> str | None:
    """Return None when ``contact`` may be reached on ``channel`` at ``at`` (naive UTC), else a reason
    such as "opted out of email" or "quiet hours until 08:00 Europe/Paris".

    ``contact`` is a Contact or its id. No permission check: the caller already holds the contact.
    """
    contact_id = contact if isinstance(contact, int) else contact.id
    key = channel_key(channel)
    consent = db.session.scalars(
        db.select(Consent).where(Consent.contact_id == contact_id, Consent.channel == key)
    ).first()
    status = consent.status if consent else "unknown"
    if status == "opted_out":
        return f"opted out of {key}"
    if status != "opted_in" and has_app_context() and current_app.config.get("COMMUNICATIONS_REQUIRE_OPT_IN"):
        return f"no opt-in for {key}"
    if key in NO_QUIET_HOURS:
        return None
    prefs = db.session.get(Preferences, contact_id)
    if prefs is None or prefs.quiet_start is None:
        return None
    end = quiet_hours_end(prefs, at, None if prefs.timezone else core_zone(contact_id))
    if end is not None:
        return f"quiet hours until {end.strftime('%H:%M')} {end.tzinfo.key}"
    return None


__all__ = ["blocked_reason", "channel_key", "in_quiet_hours", "quiet_hours_end", "zone"]
