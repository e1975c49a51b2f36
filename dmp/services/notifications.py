"""The inbox: messages to patients and professionals (no medical content by e-mail)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from ..constants import NotificationKind
from ..models import Notification, SharedDocument, SharedRecord


def notify(
    *, recipient: User, kind: str, message: str, record=None, document=None, email: bool = False
) -> Notification:
    """Put a message in the recipient's inbox; e-mail them after commit when they opted in (no medical content)."""
    note = Notification.objects.create(
        recipient=recipient, kind=kind, message=message, record=record, document=document
    )
    if email and recipient.email:
        subject = _("CHU Portal : du nouveau dans votre espace")
        body = _("Vous avez une nouvelle notification dans votre espace CHU Portal. Connectez-vous pour la consulter.")
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email], fail_silently=True)
        )
    return note


def notify_patient(record: SharedRecord, kind: str, message: str, document=None) -> None:
    account = record.patient.account
    if account is not None:
        notify(
            recipient=account,
            kind=kind,
            message=message,
            record=record,
            document=document,
            email=record.notify_by_email,
        )


def notifications_list(*, actor, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(recipient=actor).select_related("document")[:limit])


def notifications_mark_read(*, actor) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


def notify_new_document(record: SharedRecord, document: SharedDocument, *, exclude=None) -> None:
    if document.visible_to_patient:
        notify_patient(
            record,
            NotificationKind.NEW_DOCUMENT,
            _("Nouveau document dans votre DMP : %(t)s") % {"t": document.title},
            document,
        )
    if record.gp_id and record.gp_id != getattr(exclude, "pk", None):
        notify(
            recipient=record.gp,
            kind=NotificationKind.NEW_DOCUMENT,
            message=_("Nouveau document pour votre patient(e) %(p)s : %(t)s")
            % {"p": record.patient.display_name, "t": document.title},
            record=record,
            document=document,
        )
