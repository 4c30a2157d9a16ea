"""The embedded default for email: each message becomes ``instance/outbox/<idempotency key>.eml``.

Nothing leaves the machine, so the demo works offline and nothing is lost. The file name is the
send's idempotency key and the file appears by an atomic rename, so a retried send finds the file
and does not write a second one: exactly one file per send, whatever the crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .base import DeliveryResult, LostClaim, OutgoingMessage, PermanentError, build_email


class FileOutboxAdapter:
    name = "file_outbox"

    def __init__(self, folder: Path, sender: str):
        self.folder = Path(folder)
        self.sender = sender

    def describe(self) -> str:
        return f"no SMTP server is configured: email is written to {self.folder} as .eml files"

    def path_for(self, key: str) -> Path:
        if not key.isalnum():
            raise PermanentError("bad idempotency key")
        return self.folder / f"{key}.eml"

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        target = self.path_for(message.idempotency_key)
        if target.exists():  # an earlier attempt got this far: the message is already in the outbox
            return DeliveryResult("sent", f"already in the outbox: {target.name}")
        data = build_email(message, self.sender).as_bytes()
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if not message.handover():
                raise LostClaim("another worker took this send over")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return DeliveryResult("sent", f"written to the outbox: {target.name}")
