"""Celery tasks of the DMP app itself (the feed's and consent's are in their sub-packages): representations' ends."""

from celery import shared_task

from .services import majority


@shared_task(name="dmp.tasks.end_representations", ignore_result=True)
def end_representations() -> int:
    """Daily: parents' access ends at the patient's majority, a guardian's at the court decision's end (traced)."""
    return majority.representations_end_due()
