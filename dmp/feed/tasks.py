"""Celery tasks of the DMP feed, and the one way to enqueue a delivery (outbox, sweep, retry all call it).

The registered task names (`dmp.tasks.*`) are kept from before the feed became a package: messages
already queued in a broker, and the beat schedule in settings, carry them.
"""

import logging

from celery import shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..constants import FeedStatus
from ..models import FeedItem
from ..services.held import held_reports_remind
from . import delivery, orphans

logger = logging.getLogger(__name__)


def enqueue(item_ids: list[int]) -> None:
    """Send one delivery message per item; a broker outage is logged, never raised (the sweep resends)."""
    for item_id in item_ids:
        try:
            # No publish retries: the clinician's request must not wait on a dead broker.
            feed_deliver.apply_async(args=[item_id], retry=False, queue=settings.DMP_FEED_QUEUE or None)
        except Exception as exc:  # noqa: BLE001 - any broker failure: the outbox row stays pending
            logger.warning("feed: could not send item %s to the broker (%s); the sweep will resend it", item_id, exc)


def enqueue_on_commit(item_ids: list[int]) -> None:
    """Enqueue once the caller's transaction commits (nothing is sent for a rolled-back signing)."""
    if item_ids:
        transaction.on_commit(lambda: enqueue(item_ids))


def sweep(*, now=None) -> int:
    """The beat sweep: resend every due pending item (delivery is idempotent, a duplicate is harmless)."""
    now = now or timezone.now()
    ids = delivery.feed_due_ids(now=now)
    if ids:
        # Push the next sweep's look back so that one sweep does not resend what the last one just sent.
        FeedItem.objects.filter(pk__in=ids, status=FeedStatus.PENDING).update(
            next_attempt_at=now + delivery.sweep_grace()
        )
        enqueue(ids)
    return len(ids)


@shared_task(
    bind=True,
    name="dmp.tasks.feed_deliver",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # dmp.feed.delivery counts attempts in the database and marks the item failed
)
def feed_deliver(self, item_id: int) -> None:
    """Relay the outbox from one item's message: its item and a batch of other pending items
    (dmp.feed.delivery.feed_relay); a failed attempt is retried with exponential backoff and jitter,
    the message's own item by retrying this message, any other item by a message of its own."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if self.request.is_eager:
        # Embedded mode (no broker, no beat): the attempts run back to back, in-process, one item.
        while True:
            try:
                delivery.feed_item_deliver(item_id=item_id)
                return
            except delivery.DeliveryError:
                continue
    outcome = delivery.feed_relay(item_id=item_id, redelivered=redelivered)
    for other_id, countdown in outcome.retries:
        try:
            feed_deliver.apply_async(
                args=[other_id], countdown=countdown, retry=False, queue=settings.DMP_FEED_QUEUE or None
            )
        except Exception as exc:  # noqa: BLE001 - broker down: the item stays pending, the sweep resends it
            logger.warning(
                "feed: could not schedule the retry of item %s (%s); the sweep will resend it", other_id, exc
            )
    if outcome.own_error is not None:
        exc = outcome.own_error
        try:
            raise self.retry(countdown=exc.countdown, exc=exc) from exc
        except Retry:
            raise
        except delivery.DeliveryError:
            raise
        except Exception:  # noqa: BLE001 - broker down while scheduling the retry: the sweep resends
            logger.warning("feed: could not schedule the retry of item %s; the sweep will resend it", item_id)


@shared_task(name="dmp.tasks.remove_orphan_files", ignore_result=True)
def remove_orphan_files() -> int:
    """Celery beat: remove stored files that no document references (killed workers, killed requests)."""
    return len(orphans.remove_orphan_files())


@shared_task(name="dmp.tasks.feed_sweep", ignore_result=True)
def feed_sweep() -> int:
    """Celery beat: resend every pending item whose delivery is overdue (the outbox's safety net)."""
    return sweep()


@shared_task(name="dmp.tasks.remind_held_reports", ignore_result=True)
def remind_held_reports() -> int:
    """Celery beat (daily): remind the authors of reports held from the patient past DMP_HOLD_REMINDER_DAYS."""
    return held_reports_remind()
