"""Celery tasks of consent (thin wrappers): the periodic clean-up of expired or revoked grants' permissions."""

from celery import shared_task

from . import consent


@shared_task(name="dmp.consent_tasks.expire_consent_requests", ignore_result=True)
def expire_consent_requests() -> int:
    return consent.consent_requests_expire()


@shared_task(name="dmp.consent_tasks.expire_grant_permissions", ignore_result=True)
def expire_grant_permissions() -> int:
    return consent.grant_permissions_expire()
