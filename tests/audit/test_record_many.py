"""audit.services.record_many: a batch of traces in one INSERT, with the trigger's transaction id, sealed and verified."""

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from audit import integrity
from audit import services as audit
from audit.models import AuditEvent, AuditSeal

from .conftest import seal_all

pytestmark = pytest.mark.django_db(transaction=True)


def traces(n: int) -> list[audit.Trace]:
    return [audit.Trace(patient_id=uuid.uuid4(), object_type="dmp_document", object_id=uuid.uuid4()) for _ in range(n)]


def test_a_batch_of_traces_is_one_insert_stamped_by_the_trigger_and_sealed_with_its_transaction():
    batch = traces(30)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        events = audit.record_many(actor=None, action="create", mode="feed", traces=batch)
    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1 and "audit_auditevent" in inserts[0]
    assert [e.object_id for e in events] == [str(t.object_id) for t in batch]
    rows = AuditEvent.objects.filter(pk__in=[e.pk for e in events])
    # The database trigger stamped every row with the one writing transaction's id.
    assert rows.count() == 30 and len(set(rows.values_list("txid", flat=True))) == 1
    assert None not in set(rows.values_list("txid", flat=True))
    assert set(rows.values_list("outcome", "mode", "actor_username")) == {("allowed", "feed", "")}
    assert seal_all() == 30
    assert AuditSeal.objects.count() == 1
    assert integrity.verify(seal_first=False).ok


def test_a_batch_of_traces_outside_a_transaction_is_refused_and_nothing_is_written():
    with pytest.raises(audit.TraceOutsideTransaction):
        audit.record_many(actor=None, action="create", mode="feed", traces=traces(2))
    assert not AuditEvent.objects.exists()


def test_a_batch_rolled_back_with_its_transaction_leaves_no_trace():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record_many(actor=None, action="create", mode="feed", traces=traces(3))
        raise RuntimeError("the filing failed after the traces")
    assert not AuditEvent.objects.exists()


def test_the_embedded_mode_counts_every_trace_of_a_batch_towards_sealing(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.AUDIT_SEAL_EVERY = 10
    calls = []
    monkeypatch.setattr(integrity, "seal_pending", lambda: calls.append(1) or 0)
    with transaction.atomic():
        audit.record_many(actor=None, action="create", mode="feed", traces=traces(10))
    # Ten traces in one batch cross a multiple of AUDIT_SEAL_EVERY whatever the count was: sealing ran once.
    assert calls == [1]
