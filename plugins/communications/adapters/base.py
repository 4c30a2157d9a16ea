"""What every delivery adapter receives and may raise.

An adapter's ``send(message)`` returns a ``DeliveryResult`` or raises ``TemporaryError`` (the
send is retried with backoff) or ``PermanentError`` (the send ends as failed). Any other
exception counts as temporary. Right before the step that cannot be taken back (the SMTP
end-of-data, the rename of the ``.eml`` file) an adapter calls ``message.handover()``: it checks
that this worker still holds the send and records that the receiver may now have it. When it
answers False the adapter must stop without handing the message over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

HEADER_KEY = "X-Contacts-Idempotency-Key"


class DeliveryError(Exception):
    pass


class TemporaryError(DeliveryError):
    """Worth trying again later (connection refused, 4xx, timeout)."""


class PermanentError(DeliveryError):
    """Trying again will not help (5xx, a malformed address)."""


class LostClaim(DeliveryError):
    """This worker no longer holds the send (another one took it over); nothing was handed over."""


@dataclass
class OutgoingMessage:
    communication_id: int
    idempotency_key: str
    channel: str
    to_address: str
    subject: str
    body: str
    # The Date header: fixed per send (its due time), so a retry is the very same message.
    date: datetime | None = None
    handover: Callable[[], bool] = field(default=lambda: True, repr=False)


@dataclass
class DeliveryResult:
    status: str = "sent"  # or "delivered" when the adapter knows it arrived
    detail: str = ""


def message_id(key: str, sender: str) -> str:
    """The Message-ID of a send: the same on every attempt, so a receiver drops a duplicate."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "contacts.invalid"
    return f"<{key}@{domain}>"


def check_header_value(field_name: str, value: str) -> None:
    """Refuse CR, LF (header injection) and other control characters in a header value."""
    if any(ch in value for ch in "\r\n") or any(ord(ch) < 32 and ch != "\t" for ch in value):
        raise PermanentError(f"{field_name} contains a line break or control character")


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    check_header_value("subject", message.subject)
    check_header_value("to", message.to_address)
    check_header_value("from", sender)
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    date = message.date.replace(tzinfo=UTC) if message.date and message.date.tzinfo is None else message.date
    email["Date"] = format_datetime(date or datetime.now(UTC))
    email["Message-ID"] = message_id(message.idempotency_key, sender)
    email[HEADER_KEY] = message.idempotency_key
    email.set_content(message.body or "")
    return email
