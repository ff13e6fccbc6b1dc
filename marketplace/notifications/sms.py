"""Sending text messages through a pluggable backend (like Django's email backends).

``settings.SMS_BACKEND`` names a :class:`BaseSmsBackend` subclass.  The default,
:class:`ConsoleSmsBackend`, only prints; :class:`FileSmsBackend` writes one file per
message to ``settings.SMS_FILE_PATH`` (handy in development and tests).  A real
provider (Twilio, Vonage, AWS SNS, ...) subclasses :class:`BaseSmsBackend`, implements
:meth:`~BaseSmsBackend.send` and raises :class:`SmsError` when a message was not
accepted, so the delivery is retried later.
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The provider did not accept the message (the delivery stays pending and is retried)."""


class BaseSmsBackend:
    def send(self, to: str, text: str) -> str:
        """Send ``text`` to the E.164 number ``to``; return the provider's message id.

        Raise :class:`SmsError` (or any exception) if the message was not accepted.
        """
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Prints messages instead of sending them (the development default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, to: str, text: str) -> str:
        message_id = uuid.uuid4().hex
        self.stream.write(f"SMS {message_id} from {settings.SMS_FROM} to {to}:\n{text}\n{'-' * 40}\n")
        self.stream.flush()
        return message_id


class FileSmsBackend(BaseSmsBackend):
    """Writes each message to its own file in ``settings.SMS_FILE_PATH``."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.SMS_FILE_PATH)

    def send(self, to: str, text: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = uuid.uuid4().hex
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{message_id}.sms"
        path.write_text(f"To: {to}\nFrom: {settings.SMS_FROM}\nId: {message_id}\n\n{text}\n", encoding="utf-8")
        return message_id


def get_sms_backend() -> BaseSmsBackend:
    backend: BaseSmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
