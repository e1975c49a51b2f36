"""Integrity: sealing runs from Celery beat, and a tampered trace is named exactly by the verification."""

import pytest
from django.conf import settings
from django.db import connection, transaction

from audit import integrity, review
from audit.models import AuditEvent, AuditSeal

from .conftest import seal_all

pytestmark = pytest.mark.django_db(transaction=True)


def test_sealing_and_verification_are_scheduled_on_celery_beat():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"audit.tasks.seal_pending_traces", "audit.tasks.verify_trail"} <= tasks


def test_the_beat_task_seals_committed_traces(make_trace):
    from audit.tasks import seal_pending_traces

    events = [make_trace() for _ in range(5)]
    assert seal_pending_traces() + seal_all() == 5
    assert AuditSeal.objects.get().count == 5
    assert integrity.verify(seal_first=False).checked == len(events)


def test_a_tampered_trace_is_named_exactly_in_the_api(api, dpo, make_trace):
    events = [make_trace() for _ in range(20)]
    assert seal_all() == 20
    victim = events[13]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL chu.audit_maintenance = 'on'")
        cursor.execute("UPDATE audit_auditevent SET actor_username = 'nobody' WHERE id = %s", [victim.pk])
    response = api.as_user(dpo).get("/api/v1/audit/verify/")
    assert response.data["ok"] is False
    assert response.data["first_broken"] == str(victim.public_id)
    assert response.data["first_broken_seq"] == victim.pk
    assert response.data["problem"] == "trace altered"


def test_the_periodic_verification_is_kept_for_the_console(make_trace):
    make_trace()
    verification = review.chain_verify(actor=None)
    assert verification.ok and verification.actor_id is None
    assert not AuditEvent.objects.filter(action="verify").exists()
