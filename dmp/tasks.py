"""Celery tasks of the DMP itself (the feed's and consent's are in their sub-packages): the purge of closed DMPs."""

from celery import shared_task

from .services import lifecycle


@shared_task(name="dmp.tasks.purge_closed_records", ignore_result=True)
def purge_closed_records() -> int:
    """Celery beat, daily: purge the closed DMPs past DMP_CLOSED_RETENTION_YEARS or their deletion delay (traced)."""
    return lifecycle.purge_closed_records()
