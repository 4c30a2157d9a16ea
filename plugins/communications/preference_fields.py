"""Preferred channel and quiet hours as fields of the core's Preferences panel.

The core's panel and its ``/contact-preferences`` API show and change them through
``PREFERENCE_STORE`` (``contacts_preference_fields`` with a ``core.ui.PreferenceStore``): the values
stay in this plugin's ``communications_preferences`` table and every save goes through
``preferences.set_preferences``, so its rules (known channels, both quiet-hour bounds or neither,
its audit entry) hold there too, inside the core's transaction. The time zone is the core's
preference; this plugin's own column stays for its API and wins when set (``consent.local_time``).
"""

from __future__ import annotations

from datetime import time

from core.errors import ValidationError
from core.extensions import db
from core.ui import PreferenceField, PreferenceStore

from .models_prefs import Preferences
from .preferences import channel_choices, parse_time, set_preferences

FIELD_COLUMNS = {"communications_channel": "preferred_channel", "communications_quiet_start": "quiet_start",
                 "communications_quiet_end": "quiet_end"}


def _as_text(value) -> str:
    return value.strftime("%H:%M") if isinstance(value, time) else (value or "")


def _read_fields(contact_id: int) -> dict[str, str]:
    prefs = db.session.get(Preferences, contact_id)
    return {key: _as_text(getattr(prefs, column)) for key, column in FIELD_COLUMNS.items()} if prefs else {}


def _write_fields(actor, contact_id: int, values: dict[str, str]) -> None:
    prefs = db.session.get(Preferences, contact_id)
    data = {column: values.get(key) or None for key, column in FIELD_COLUMNS.items()}
    data["timezone"] = prefs.timezone if prefs else None
    try:
        set_preferences(actor, contact_id, data)
    except ValidationError as exc:
        keys = {column: key for key, column in FIELD_COLUMNS.items()}
        raise ValidationError({keys.get(name, name): msgs for name, msgs in exc.errors.items()}) from None


def _clean_time(value: str) -> str:
    errors: dict = {}
    parsed = parse_time(value, "time", errors)
    if errors:
        raise ValueError(errors["time"])
    return _as_text(parsed)


PREFERENCE_STORE = PreferenceStore(read=_read_fields, write=_write_fields)


def preference_fields() -> list[PreferenceField]:
    """Preferred channel and quiet hours, for the ``contacts_preference_fields`` hook."""
    return [
        PreferenceField("communications_channel", "Preferred channel", options=channel_choices, order=40,
                        store=PREFERENCE_STORE),
        PreferenceField("communications_quiet_start", "Quiet hours from", clean=_clean_time, order=41,
                        hint="24-hour time in the contact's time zone, e.g. 21:00; give both or neither",
                        store=PREFERENCE_STORE),
        PreferenceField("communications_quiet_end", "Quiet hours until", clean=_clean_time, order=42,
                        hint="e.g. 08:00", store=PREFERENCE_STORE),
    ]
