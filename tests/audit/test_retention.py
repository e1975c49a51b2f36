"""Retention removes whole sealed segments past the policy through the maintenance connection, keeping a checkpoint."""

import datetime
import io
import uuid

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit import integrity, review
from audit.models import AuditCheckpoint, AuditEvent, AuditReview, AuditSeal

from .conftest import seal_all

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "audit_maintenance"])

LONG_AGO = timezone.now() - datetime.timedelta(days=365 * 25)


def old_segment(make_trace, patient=None):
    events = [make_trace(at=LONG_AGO, patient_id=patient or uuid.uuid4()) for _ in range(3)]
    events.append(make_trace(at=LONG_AGO, patient_id=None, object_type="session"))
    seal_all()
    return events


def run(*args) -> str:
    out = io.StringIO()
    call_command("audit_retention", *args, stdout=out)
    return out.getvalue()


def test_dry_run_says_what_would_go_and_removes_nothing(make_trace):
    old_segment(make_trace)
    make_trace()
    seal_all()
    output = run("--dry-run")
    assert "would remove 1 seals" in output and "4 traces" in output
    assert AuditEvent.objects.count() == 5
    assert not AuditCheckpoint.objects.exists()


def test_old_segments_go_and_the_rest_still_verifies(make_trace, dpo):
    reviewed = make_trace(at=LONG_AGO, mode="emergency")
    old = [reviewed, *old_segment(make_trace)]
    first_seal = AuditSeal.objects.get()
    review.flag_review(actor=dpo, event_id=reviewed.public_id, comment="vu")  # traced now, in the next seal
    young = make_trace()
    seal_all()
    output = run()
    assert "removed" in output
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert not AuditReview.objects.exists()
    assert AuditEvent.objects.filter(pk=young.pk).exists()
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.seals_removed == 1 and checkpoint.events_removed == 5
    assert checkpoint.hash == first_seal.hash
    assert AuditSeal.objects.get().prev_hash == checkpoint.hash
    assert integrity._checkpoint_hash() == checkpoint.hash
    result = integrity.verify(seal_first=False)
    assert result.ok, result.problem
    # New traces keep chaining after retention.
    make_trace()
    seal_all()
    assert integrity.verify(seal_first=False).ok


def test_a_segment_with_a_patient_still_followed_is_kept(make_trace):
    patient = uuid.uuid4()
    old_segment(make_trace, patient=patient)
    make_trace(patient_id=patient)  # a recent access: the record is alive, its old traces stay
    seal_all()
    assert "nothing to remove" in run()
    assert AuditEvent.objects.count() == 5


def test_a_young_technical_trace_keeps_its_segment(make_trace, settings):
    settings.AUDIT_RETENTION_TECHNICAL_DAYS = 365
    make_trace(at=LONG_AGO)
    make_trace(at=timezone.now() - datetime.timedelta(days=30), patient_id=None, object_type="session")
    seal_all()
    assert "nothing to remove" in run()


def hold_everyone(patient_ids):
    return set(patient_ids)


def test_the_record_hold_keeps_traces_of_records_still_kept(make_trace, settings):
    settings.AUDIT_RETENTION_RECORD_HOLD = "tests.audit.test_retention.hold_everyone"
    old_segment(make_trace)
    assert "nothing to remove" in run()


def test_traces_cannot_be_deleted_outside_maintenance(make_trace):
    event = make_trace()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditcheckpoint")
        cursor.execute("UPDATE audit_auditreview SET comment = 'x'")
        cursor.execute("TRUNCATE audit_auditreview")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_retention_refuses_a_broken_trail(make_trace):
    events = old_segment(make_trace)
    make_trace()
    seal_all()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL chu.audit_maintenance = 'on'")
        cursor.execute("UPDATE audit_auditevent SET actor_username = 'x' WHERE id = %s", [events[0].pk])
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="does not verify"):
        run()
    assert AuditEvent.objects.count() == 5
