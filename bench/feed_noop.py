"""A no-op Celery task for bench/feed_throughput.py: the broker's and worker's own cost, for the ratio."""

from celery import shared_task


@shared_task(name="bench.feed_noop.noop", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def noop(item_id: int) -> None:
    """Takes the same argument as dmp.tasks.feed_deliver, and does nothing with it."""
