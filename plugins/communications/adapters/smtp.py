"""Email over SMTP (host, port, TLS and credentials from settings.py).

The DATA phase is driven by hand so that the one irreversible step is explicit: the message body
goes out first, then ``message.handover()`` re-checks this worker's claim and records the
hand-over in the database, and only then the end-of-data line (``.``) is sent. A server discards
a message whose end-of-data never came, so a worker that dies before that line delivered nothing
and the send is simply retried. The Message-ID is derived from the send's idempotency key, so a
retry after the ``.`` (a worker killed before it could record "sent") carries the same Message-ID
and receivers drop it as a duplicate (see delivery.py for the whole argument).
"""

from __future__ import annotations

import io
import logging
import os
import re
import smtplib
import ssl
import time
from email import policy
from email.generator import BytesGenerator
from email.utils import parseaddr

from ..settings import Smtp
from .base import DeliveryResult, LostClaim, OutgoingMessage, PermanentError, TemporaryError, build_email

log = logging.getLogger(__name__)

# Tests only: "<point>:<seconds>" makes the adapter sleep at that point so that a test can kill
# the worker there. Points: "before_dot" (body sent, end-of-data not yet) and "after_accept"
# (the server answered 250 to the end-of-data, "sent" not yet recorded).
PAUSE_ENV = "CONTACTS_TEST_SMTP_PAUSE"


def _pause(point: str) -> None:
    raw = os.environ.get(PAUSE_ENV, "")
    name, _, seconds = raw.partition(":")
    if name == point:
        log.warning("test pause at %s for %s s", point, seconds)
        time.sleep(float(seconds or 30))


def _check(code: int, reply: bytes, step: str, ok=(250,)) -> None:
    if code in ok:
        return
    text = f"SMTP {step} refused: {code} {reply.decode('utf-8', 'replace')}".strip()
    if 500 <= code < 600:
        raise PermanentError(text)
    raise TemporaryError(text)


class SmtpAdapter:
    name = "smtp"

    def __init__(self, settings: Smtp):
        self.settings = settings

    def describe(self) -> str:
        s = self.settings
        return f"email is sent through {s.host}:{s.port} ({s.tls})"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.tls == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        conn.ehlo()
        if s.tls == "starttls":
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if s.user:
            self._login(conn)
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        """One mechanism, the first of PLAIN and LOGIN the server offers (smtplib's ``login`` would
        try the next one after a refusal, and some servers hang up on that)."""
        s = self.settings
        offered = conn.esmtp_features.get("auth", "").upper().split()
        mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
        if mechanism is None:
            conn.login(s.user, s.password)
            return
        conn.user, conn.password = s.user, s.password
        conn.auth(mechanism, getattr(conn, f"auth_{mechanism.lower()}"), initial_response_ok=True)

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        s = self.settings
        email = build_email(message, s.sender)  # refuses CR/LF in the headers
        envelope_from = parseaddr(s.sender)[1] or s.sender
        buffer = io.BytesIO()
        BytesGenerator(buffer, policy=policy.SMTP).flatten(email)
        data = re.sub(rb"(?m)^\.", b"..", buffer.getvalue())
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        conn = None
        try:
            conn = self._connect()
            _check(*conn.mail(envelope_from), "MAIL FROM")
            _check(*conn.rcpt(message.to_address), "RCPT TO", ok=(250, 251))
            _check(*conn.docmd("DATA"), "DATA", ok=(354,))
            conn.send(data)
            _pause("before_dot")
            if not message.handover():
                raise LostClaim("another worker took this send over; the message was not completed")
            conn.send(b".\r\n")
            code, reply = conn.getreply()
            _pause("after_accept")
            _check(code, reply, "end of data")
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            return DeliveryResult("sent", f"accepted by {s.host}: {code} {reply.decode('utf-8', 'replace')}".strip())
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"SMTP login refused: {exc.smtp_code} {exc.smtp_error!r}") from None
        except smtplib.SMTPResponseException as exc:
            _check(exc.smtp_code, exc.smtp_error if isinstance(exc.smtp_error, bytes) else b"", "command")
            raise TemporaryError(str(exc)) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryError(f"SMTP {s.host}:{s.port}: {type(exc).__name__}: {exc}") from None
        finally:
            if conn is not None:
                conn.close()
