"""Celery tasks of consent: unanswered consent requests expire (beat).

The registered name (`dmp.consent_tasks.*`) is kept from before consent became a package: the beat
schedule and messages already queued carry it.
"""

from celery import shared_task

from . import requests


@shared_task(name="dmp.consent_tasks.expire_consent_requests", ignore_result=True)
def expire_consent_requests() -> int:
    return requests.consent_requests_expire()
