"""The MSSanté seam: a copy of the hospital record sent to a named doctor goes through the secure health mail.

The portal does not connect to the national MSSanté space (docs/decisions.md). `client()` returns the class the
`MSSANTE_CLIENT` setting names; the default, `LocalMailbox`, models the doctor's secure inbox locally as
`SecureMessage` rows that only he reads (his professional space, /pro/messagerie/). A real connector (an
operator's MSSanté API with the establishment's certificate) would implement `Mailbox.send` and be named there.
Never through the DMP: nothing here files a shared document.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from .models import RecordBundle, SecureMessage


class Mailbox(Protocol):
    def send(self, *, recipient, subject: str, body: str, bundle: RecordBundle | None = None) -> SecureMessage:
        """Deliver one message (and the copy it carries) to `recipient`'s secure inbox."""


class LocalMailbox:
    """MSSanté modelled locally: the message is a row of the recipient's inbox (the caller tells him it is there)."""

    def send(self, *, recipient, subject: str, body: str, bundle: RecordBundle | None = None) -> SecureMessage:
        return SecureMessage.objects.create(recipient=recipient, subject=subject, body=body, bundle=bundle)


def client() -> Mailbox:
    """The secure-mail client the `MSSANTE_CLIENT` setting names (a dotted path to a class taking no argument)."""
    return import_string(settings.MSSANTE_CLIENT)()
