"""Relays side by side on real PostgreSQL connections (threads): disjoint batches, no waiting, nothing delivered twice."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from audit.models import AuditEvent
from dmp.constants import FeedStatus, NotificationKind
from dmp.feed import delivery, tasks
from dmp.models import FeedItem, Notification, SharedDocument
from records.constants import ReportStatus, ReportType
from records.services import reports
from tests.factories import ReportFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_messages(monkeypatch):
    """The signings commit here: their messages would go to a broker; the relays are called directly instead."""
    monkeypatch.setattr(tasks, "enqueue", lambda item_ids: None)


def signed(stay, author, n) -> list[int]:
    """n reports signed and committed, their messages never sent (no broker): n pending outbox rows."""
    ids = []
    for i in range(n):
        draft = ReportFactory(
            stay=stay,
            author=author,
            type_code=ReportType.DISCHARGE_LETTER,
            title=f"Lettre {i}",
            status=ReportStatus.DRAFT,
            signed_at=None,
        )
        reports.report_sign(actor=author, report_id=draft.public_id, hold_from_patient=False)
        ids.append(FeedItem.objects.get(report=draft).pk)
    return ids


def in_thread(function):
    """Run on another thread, hence another database connection, closed at the end."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return run


def assert_each_delivered_once(ids: list[int], gp) -> None:
    items = FeedItem.objects.filter(pk__in=ids)
    assert set(items.values_list("status", "attempts")) == {(FeedStatus.DELIVERED, 1)}
    reports_ids = list(items.values_list("report__public_id", flat=True))
    documents = SharedDocument.objects.filter(source_report_id__in=reports_ids)
    assert documents.count() == len(ids)
    doc_ids = [str(d) for d in documents.values_list("public_id", flat=True)]
    assert AuditEvent.objects.filter(mode="feed", object_id__in=doc_ids).count() == len(ids)
    assert Notification.objects.filter(recipient=gp, kind=NotificationKind.NEW_DOCUMENT).count() == len(ids)


def test_a_second_relay_skips_the_rows_a_first_one_holds_and_takes_others_without_waiting(
    dr_bernard, dr_moreau, camille_stay, camille_dmp, monkeypatch
):
    ids = signed(camille_stay, dr_bernard, 10)
    holding, release = threading.Event(), threading.Event()
    filing = delivery.chu_documents_create_many

    def slow_filing(filings):
        if threading.current_thread().name.startswith("first"):
            holding.set()  # the first relay holds its five rows, inside its transaction
            assert release.wait(30)
        return filing(filings)

    monkeypatch.setattr(delivery, "chu_documents_create_many", slow_filing)
    with ThreadPoolExecutor(1, thread_name_prefix="first") as first_pool:
        first = first_pool.submit(in_thread(delivery.feed_relay), item_id=ids[0], batch_size=5)
        assert holding.wait(30)
        with ThreadPoolExecutor(1, thread_name_prefix="second") as second_pool:
            # With a plain FOR UPDATE this relay would wait for the first one, which waits for it: a timeout.
            second = second_pool.submit(in_thread(delivery.feed_relay), item_id=ids[9], batch_size=5).result(20)
        release.set()
        first = first.result(30)
    assert sorted(first.delivered) == ids[:5]
    assert sorted(second.delivered) == ids[5:]
    assert_each_delivered_once(ids, dr_moreau)


def test_two_relays_racing_over_the_outbox_with_duplicate_messages_deliver_each_item_once(
    dr_bernard, dr_moreau, camille_stay, camille_dmp, caplog
):
    ids = signed(camille_stay, dr_bernard, 40)
    start = threading.Barrier(2)

    @in_thread
    def drain(messages: list[int]) -> list[int]:
        start.wait(10)
        delivered = []
        for item_id in messages:
            outcome = delivery.feed_relay(item_id=item_id, batch_size=7)
            assert outcome.own_error is None and not outcome.retries
            delivered += outcome.delivered
        return delivered

    # Every message sent twice, the two workers taking them in opposite orders.
    with ThreadPoolExecutor(2) as pool:
        one, two = pool.submit(drain, ids), pool.submit(drain, ids[::-1])
        one, two = one.result(120), two.result(120)
    assert set(one) | set(two) == set(ids)
    assert_each_delivered_once(ids, dr_moreau)
    # No batch ever failed: a row delivered by the other relay was never taken again (which the unique
    # document per report would have refused, failing the batch, logged, and delivered one by one).
    assert not [r for r in caplog.records if "batch" in r.getMessage()]
    assert connection.vendor == "postgresql"
