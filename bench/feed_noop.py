"""Reference Celery tasks for bench/feed_throughput.py: a no-op (the broker's and worker's own cost)
and a one-row insert (the floor of any task that writes to the database), for the ratio."""

from celery import shared_task
from django.db import connection, transaction

PROBE_TABLE = "bench_feed_probe"


@shared_task(name="bench.feed_noop.noop", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def noop(item_id: int) -> None:
    """Takes the same argument as dmp.tasks.feed_deliver, and does nothing with it."""


@shared_task(name="bench.feed_noop.one_row", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def one_row(item_id: int) -> None:
    """Inserts one row in its own transaction (the table is created by the benchmark)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {PROBE_TABLE} (item_id) VALUES (%s)", [item_id])  # noqa: S608 - constant name
