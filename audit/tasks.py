"""Celery tasks of the audit trail (thin wrappers around integrity)."""

from celery import shared_task

from . import integrity, review


@shared_task(name="audit.tasks.seal_pending_traces", ignore_result=True)
def seal_pending_traces() -> int:
    return integrity.seal_pending()


@shared_task(name="audit.tasks.verify_trail", ignore_result=True)
def verify_trail() -> bool:
    return review.chain_verify(actor=None).ok
