"""Celery tasks of the DMP app itself (the feed's and consent's are in their sub-packages): the purge of closed DMPs,
representations' ends."""

from celery import shared_task

from .services import lifecycle, majority


@shared_task(name="dmp.tasks.purge_closed_records", ignore_result=True)
def purge_closed_records() -> int:
    """Celery beat, daily: purge the closed DMPs past DMP_CLOSED_RETENTION_YEARS or their deletion delay (traced)."""
    return lifecycle.purge_closed_records()


@shared_task(name="dmp.tasks.end_representations", ignore_result=True)
def end_representations() -> int:
    """Daily: parents' access ends at the patient's majority, a guardian's at the court decision's end (traced)."""
    return majority.representations_end_due()
