"""The feed's outbox: an item per signed report worth feeding, written in the signing transaction; identity release."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from records.constants import InsStatus
from records.models import Patient, Report

from ..constants import FeedReason, FeedStatus, RecordStatus
from ..models import FeedItem
from ..pdf import render_report_pdf
from ..services.records import shared_record_for
from .delivery import sweep_grace
from .tasks import enqueue_on_commit


def type_is_fed(type_code: str) -> bool:
    """docs/domain.md's table ("The automatic feed"), each type on or off by a setting (lab and consultation off by default)."""
    return bool(settings.DMP_FEED_TYPES.get(type_code, False))


def feed_item_create(*, report: Report) -> FeedItem:
    """Offer a just-signed report to the feed: one outbox row, in the caller's (signing) transaction.

    The status is decided now, as docs/domain.md says: type off or DMP opposed/closed at signing ->
    skipped (never sent later); INS not qualified -> waiting_identity; otherwise pending, and a
    delivery message goes once the signing commits.
    """
    patient = report.stay.patient
    status, reason = FeedStatus.PENDING, FeedReason.NONE
    if not type_is_fed(report.type_code):
        status, reason = FeedStatus.SKIPPED, FeedReason.TYPE_OFF
    else:
        record = shared_record_for(patient)
        if record.status == RecordStatus.OPPOSED:
            status, reason = FeedStatus.SKIPPED, FeedReason.DMP_OPPOSED
        elif record.status == RecordStatus.CLOSED:
            status, reason = FeedStatus.SKIPPED, FeedReason.DMP_CLOSED
        elif patient.ins_status != InsStatus.QUALIFIED:
            status, reason = FeedStatus.WAITING_IDENTITY, FeedReason.IDENTITY_NOT_QUALIFIED
    now = timezone.now()
    item, created = FeedItem.objects.get_or_create(
        report=report,
        defaults={
            "patient": patient,
            "type_code": report.type_code,
            "status": status,
            "reason": reason,
            "created_at": now,
            "updated_at": now,
            "next_attempt_at": now + sweep_grace(),
            # The document as signed, rendered once here; a waiting item is rendered when it goes,
            # with the identity it was waiting for.
            "content": render_report_pdf(report) if status == FeedStatus.PENDING else None,
        },
    )
    if created and item.status == FeedStatus.PENDING:
        enqueue_on_commit([item.pk])
    return item


def feed_release_identity(*, patient: Patient) -> list[int]:
    """The patient's identity is qualified: what waited for it goes once the qualifying commits."""
    now = timezone.now()
    ids = list(
        FeedItem.objects.select_for_update()
        .filter(patient=patient, status=FeedStatus.WAITING_IDENTITY)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        FeedItem.objects.filter(pk__in=ids).update(
            status=FeedStatus.PENDING, reason=FeedReason.NONE, updated_at=now, next_attempt_at=now + sweep_grace()
        )
        enqueue_on_commit(ids)
    return ids
