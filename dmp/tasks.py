"""Celery tasks of the DMP feed: thin wrappers around dmp.feed (delivery and the beat sweep)."""

import logging

from celery import shared_task
from celery.exceptions import Retry

from . import feed

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="dmp.tasks.feed_deliver",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # dmp.feed counts attempts in the database and marks the item failed
)
def feed_deliver(self, item_id: int) -> None:
    """Deliver one outbox row; a failed attempt is retried with exponential backoff and jitter."""
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if self.request.is_eager:
        # Embedded mode (no broker, no beat): the attempts run back to back, in-process.
        while True:
            try:
                feed.feed_item_deliver(item_id=item_id)
                return
            except feed.DeliveryError:
                continue
    try:
        feed.feed_item_deliver(item_id=item_id, redelivered=redelivered)
    except feed.DeliveryError as exc:
        try:
            raise self.retry(countdown=exc.countdown, exc=exc) from exc
        except Retry:
            raise
        except feed.DeliveryError:
            raise
        except Exception:  # noqa: BLE001 - broker down while scheduling the retry: the sweep resends
            logger.warning("feed: could not schedule the retry of item %s; the sweep will resend it", item_id)


@shared_task(name="dmp.tasks.remove_orphan_files", ignore_result=True)
def remove_orphan_files() -> int:
    """Celery beat: remove stored files that no document references (killed workers, killed requests)."""
    from . import orphans

    return len(orphans.remove_orphan_files())


@shared_task(name="dmp.tasks.feed_sweep", ignore_result=True)
def feed_sweep() -> int:
    """Celery beat: resend every pending item whose delivery is overdue (the outbox's safety net)."""
    return feed.feed_sweep()
