"""Reports held from the patient until the announcement consultation: the clinicians' list, and their authors reminded.

docs/domain.md, "Held reports". Releasing one is dmp/services/documents.py `document_release`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from records.models import Report

from .. import access
from ..constants import DmpAction, DocumentStatus, NotificationKind, RecordStatus
from ..models import SharedDocument
from .notifications import notify

REMINDER_BATCH = 500


def held_reports(*, actor, now=None) -> list[SharedDocument]:
    """The held reports of the actor's units that he may release, oldest first, with their age; one trace."""
    decision = access.decide_held_list(actor)
    if not decision.allowed:
        audit.refuse(actor=actor, action=Action.LIST, decision=decision, object_type=ObjectType.DMP_DOCUMENT)
    now = now or timezone.now()

    def load() -> list[SharedDocument]:
        documents = list(access.held_reports_scope(actor, now)[:200])
        stays = dict(
            Report.objects.filter(public_id__in=[d.source_report_id for d in documents]).values_list(
                "public_id", "stay__unit__name"
            )
        )
        for document in documents:
            document.held_days = (now - document.created_at).days
            document.overdue = document.held_days >= settings.DMP_HOLD_REMINDER_DAYS
            document.unit_name = stays.get(document.source_report_id, "")
        return documents

    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        object_type=ObjectType.DMP_DOCUMENT,
        load=load,
        shown=lambda documents: [d.public_id for d in documents],
    )


def due_reminders(now=None):
    """Held reports filed DMP_HOLD_REMINDER_DAYS ago or more whose author was not reminded yet."""
    now = now or timezone.now()
    return SharedDocument.objects.filter(
        held=True,
        hold_reminded_at__isnull=True,
        author__isnull=False,
        deleted_at__isnull=True,
        status=DocumentStatus.CURRENT,
        record__status=RecordStatus.ACTIVE,
        created_at__lte=now - timedelta(days=settings.DMP_HOLD_REMINDER_DAYS),
    )


def held_reports_remind(*, now=None, limit: int = REMINDER_BATCH) -> int:
    """The daily beat task: remind each due report's author once (a notification), traced `hold_reminder`.

    Each document in its own transaction, locked and checked again (a release or a concurrent run meanwhile
    sends nothing). A blocked author is not told (notifications.notify), the document is still marked.
    """
    now = now or timezone.now()
    sent = 0
    for pk in list(due_reminders(now).order_by("created_at", "id").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            document = (
                due_reminders(now)
                .select_for_update(of=("self",))
                .select_related("record__patient", "author")
                .filter(pk=pk)
                .first()
            )
            if document is None:
                continue
            document.hold_reminded_at = now
            document.save(update_fields=["hold_reminded_at"])
            audit.record(
                actor=None,
                action=DmpAction.HOLD_REMINDER,
                mode=Mode.FEED,
                patient_id=document.record.patient.public_id,
                object_type=ObjectType.DMP_DOCUMENT,
                object_id=document.public_id,
            )
            note = notify(
                recipient=document.author,
                kind=NotificationKind.HOLD_REMINDER,
                message=_(
                    "Le compte rendu « %(t)s » de %(p)s attend la consultation d'annonce depuis %(d)s jours : "
                    "le patient ne le voit pas. Rendez-le visible une fois l'annonce faite."
                )
                % {
                    "t": document.title,
                    "p": document.record.patient.display_name,
                    "d": (now - document.created_at).days,
                },
                record=document.record,
                document=document,
            )
            sent += note is not None
    return sent
