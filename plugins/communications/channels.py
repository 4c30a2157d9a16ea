"""The channel registry: how a communication can travel, and which adapter delivers it.

Built in: email (SMTP, or the file outbox when no SMTP host is configured), phone, sms, meeting
and letter. Only email has an adapter; a send on a channel without one is recorded, not sent.
Other plugins add channels (or an adapter for sms) with this plugin's own hook::

    @hookimpl
    def communications_channels():
        return [{"key": "sms", "label": "SMS", "address": "phone", "adapter": MySmsGateway()}]

An adapter is any object with ``send(message) -> DeliveryResult`` (see adapters/base.py); a
plugin may also give a plain function as ``"send"``. A plugin channel with a built-in key
replaces the built-in one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import has_request_context, request

from core.errors import ValidationError
from core.plugins import hook, implementations

from . import settings

log = logging.getLogger(__name__)


@dataclass
class Channel:
    key: str
    label: str
    address: str | None = None  # which contact field addresses it: "email", "phone" or None
    adapter: object | None = None
    builtin: bool = False

    @property
    def deliverable(self) -> bool:
        return self.adapter is not None

    def describe(self) -> str:
        if self.adapter is None:
            return "recorded, not sent (no delivery adapter)"
        describe = getattr(self.adapter, "describe", None)
        return describe() if callable(describe) else f"sent by {type(self.adapter).__name__}"


class _FunctionAdapter:
    def __init__(self, fn):
        self.fn = fn

    def send(self, message):
        return self.fn(message)


class Misconfigured:
    """Email settings that cannot work: every send fails with the reason (shown to the user)."""

    def __init__(self, reason: str):
        self.reason = reason

    def describe(self) -> str:
        return f"email is misconfigured ({self.reason}): nothing can be sent"

    def send(self, message):
        from .adapters.base import PermanentError

        raise PermanentError(f"email is misconfigured: {self.reason}")


def email_adapter():
    from .adapters.file_outbox import FileOutboxAdapter
    from .adapters.smtp import SmtpAdapter

    try:
        smtp = settings.smtp()
    except ValueError as exc:
        return Misconfigured(str(exc))
    if smtp is None:
        return FileOutboxAdapter(settings.outbox_folder(), settings.sender())
    return SmtpAdapter(smtp)


def builtin() -> list[Channel]:
    return [
        Channel("email", "Email", "email", email_adapter(), True),
        Channel("phone", "Phone call", "phone", None, True),
        Channel("sms", "SMS", "phone", None, True),
        Channel("meeting", "Meeting", None, None, True),
        Channel("letter", "Letter", None, None, True),
    ]


def _coerce(item) -> Channel:
    if isinstance(item, Channel):
        return item
    if isinstance(item, dict):
        adapter = item.get("adapter")
        if adapter is None and callable(item.get("send")):
            adapter = _FunctionAdapter(item["send"])
        return Channel(str(item["key"]), str(item.get("label") or item["key"]), item.get("address"), adapter)
    raise TypeError(f"a channel must be a Channel or a dict, not {type(item).__name__}")


def registry() -> dict[str, Channel]:
    """Every channel of the current app, by key (built-ins first, then the plugins' ones): built once a
    request (a contact page asks for it from three panels), again if a plugin registered since."""
    if not has_request_context():  # a job, the CLI: their settings may change between calls
        return _registry()
    which = implementations(hook().communications_channels)
    kept = request.environ.get(_KEPT)
    if kept is None or kept[0] != which:
        kept = request.environ[_KEPT] = (which, _registry())
    return dict(kept[1])


_KEPT = "communications.channels"  # the request's environ: (the hook's implementations, the registry built with them)


def _registry() -> dict[str, Channel]:
    found = {c.key: c for c in builtin()}
    try:
        results = hook().communications_channels()
    except Exception:  # noqa: BLE001 - a broken plugin must not take email down with it
        log.exception("a communications_channels hook failed; using the built-in channels only")
        return found
    for result in results:
        for item in result or []:
            try:
                channel = _coerce(item)
            except (TypeError, KeyError):
                log.exception("ignoring a malformed channel %r", item)
                continue
            found[channel.key] = channel
    return found


def get(key: str | None, field: str = "channel") -> Channel:
    channels = registry()
    if not key or key not in channels:
        raise ValidationError({field: f"Choose one of: {', '.join(sorted(channels))}."})
    return channels[key]
