"""The feed dashboard for administrators: counts by status and type, failed items, and their retry."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision
from chu_portal.ids import as_uuid as _as_uuid
from chu_portal.ids import get_by_public_id_or_404

from .. import access
from ..constants import FeedAction, FeedReason, FeedStatus
from ..models import FeedItem
from .delivery import sweep_grace
from .tasks import enqueue_on_commit


@dataclass
class FeedDashboard:
    by_status: dict[str, int]
    by_type: list[dict]
    waiting: list[FeedItem]
    failed: list[FeedItem]
    total: int
    # Hospitalisations discharged without a signed discharge letter (no letter, nothing to feed).
    stays_without_letter: int = 0


DASHBOARD_LIST_LIMIT = 100


def _refuse(actor, action: str, decision: Decision, object_id=None):
    audit.record_refusal(
        actor=actor, action=action, code=decision.code, object_type=ObjectType.FEED, object_id=object_id
    )
    raise AccessDenied(decision)


def feed_dashboard(*, actor) -> FeedDashboard:
    """Counts by status and type, waiting items with their reason, failures with their last error; traced.

    Shows no medical content (no patient, no title): item ids, types, statuses, reasons, errors.
    """
    decision = access.decide_feed_dashboard(actor)
    if not decision.allowed:
        audit.refuse(actor=actor, action=FeedAction.DASHBOARD, decision=decision)
    with transaction.atomic():
        by_status = {s: 0 for s in FeedStatus.values}
        by_status.update(dict(FeedItem.objects.values_list("status").annotate(n=Count("pk")).order_by()))
        by_type = list(FeedItem.objects.values("type_code", "status").annotate(n=Count("pk")).order_by("type_code"))
        listed = FeedItem.objects.defer("content")  # the rendered PDFs stay in the database
        waiting = list(
            listed.filter(status__in=[FeedStatus.WAITING_IDENTITY, FeedStatus.PENDING]).order_by("created_at", "pk")[
                :DASHBOARD_LIST_LIMIT
            ]
        )
        failed = list(listed.filter(status=FeedStatus.FAILED).order_by("-updated_at", "-pk")[:DASHBOARD_LIST_LIMIT])
        audit.record(
            actor=actor,
            action=FeedAction.DASHBOARD,
            mode=decision.mode,
            object_type=ObjectType.FEED,
            object_ids=[i.public_id for i in waiting + failed],
        )
    from accounts.models import Unit
    from records.selectors import stays_without_letter

    return FeedDashboard(
        by_status=by_status,
        by_type=by_type,
        waiting=waiting,
        failed=failed,
        total=sum(by_status.values()),
        stays_without_letter=stays_without_letter(Unit.objects.all()).count(),
    )


def feed_item_retry(*, actor, item_id) -> FeedItem:
    """An admin sends a failed item again (a fresh round of attempts); traced."""
    decision = access.decide_feed_dashboard(actor)
    key = _as_uuid(item_id)
    if not decision.allowed:
        audit.refuse(actor=actor, action=FeedAction.RETRY, decision=decision, object_id=key)
    with transaction.atomic():
        item = get_by_public_id_or_404(FeedItem.objects.select_for_update(), key, _("Élément du flux introuvable."))
        if item.status != FeedStatus.FAILED:
            raise Conflict(_("Seul un envoi en échec peut être relancé."))
        now = timezone.now()
        item.status, item.reason, item.attempts = FeedStatus.PENDING, FeedReason.NONE, 0
        item.updated_at, item.next_attempt_at = now, now + sweep_grace()
        item.save(update_fields=["status", "reason", "attempts", "updated_at", "next_attempt_at"])
        audit.record(
            actor=actor,
            action=FeedAction.RETRY,
            mode=decision.mode,
            patient_id=item.patient.public_id,
            object_type=ObjectType.FEED_ITEM,
            object_id=item.public_id,
        )
        enqueue_on_commit([item.pk])
    return item
