"""The feed with real processes: killed workers, a stopped broker, duplicate messages; exactly once, nothing lost."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from audit.models import AuditEvent
from dmp.constants import DocumentStatus, FeedStatus, NotificationKind, RecordStatus
from dmp.feed import orphans as feed_orphans
from dmp.feed import tasks as feed_tasks
from dmp.models import FeedItem, Notification, SharedDocument
from dmp.services import records as dmp_records
from records.constants import InsStatus, ReportStatus, ReportType
from records.models import Report
from records.services import patients
from records.services import reports as reports_service
from tests.factories import PatientFactory, ReportFactory, StayFactory, designate_gp

from .conftest import QUEUE, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gp_record(camille, dr_moreau):
    record = dmp_records.shared_record_for(camille)
    designate_gp(record, dr_moreau)
    return record


def drafts(stay, author, n, type_code=ReportType.DISCHARGE_LETTER) -> list[Report]:
    return [
        ReportFactory(
            stay=stay,
            author=author,
            type_code=type_code,
            title=f"Compte rendu {i}",
            status=ReportStatus.DRAFT,
            signed_at=None,
        )
        for i in range(n)
    ]


def delivered() -> int:
    return FeedItem.objects.filter(status=FeedStatus.DELIVERED).count()


def sweep_until_delivered(n: int, *, timeout: float, through_broker: bool = False) -> None:
    """What Celery beat does every DMP_FEED_SWEEP_INTERVAL_SECONDS, faster."""

    def swept():
        if delivered() == n:
            return True
        if through_broker:
            try:
                feed_tasks.feed_sweep.apply_async(queue=QUEUE, retry=False)
            except Exception:  # noqa: BLE001 - the broker may still be coming back
                pass
        else:
            feed_tasks.sweep()
        return False

    wait_until(swept, timeout=timeout, interval=1.0, message=f"{n} delivered items")


def assert_exactly_once(reports: list[Report], gp) -> None:
    ids = {r.public_id for r in reports}
    documents = SharedDocument.objects.filter(source_report_id__in=ids)
    assert documents.count() == len(reports)
    assert set(documents.values_list("source_report_id", flat=True)) == ids
    assert set(FeedItem.objects.filter(report__in=reports).values_list("status", flat=True)) == {FeedStatus.DELIVERED}
    # Side effects happened once too: one feed trace and one GP notification per document.
    doc_ids = [str(d) for d in documents.values_list("public_id", flat=True)]
    assert AuditEvent.objects.filter(mode="feed", object_id__in=doc_ids).count() == len(reports)
    assert Notification.objects.filter(recipient=gp, kind=NotificationKind.NEW_DOCUMENT).count() == len(reports)


def test_200_reports_signed_while_the_worker_is_killed_twice_are_each_delivered_once(
    worker, gp_record, camille_stay, dr_bernard, dr_moreau
):
    reports = drafts(camille_stay, dr_bernard, 200)
    kills = 0
    for index, report in enumerate(reports):
        reports_service.report_sign(actor=dr_bernard, report_id=report.public_id)  # commits, then sends
        if index in (70, 140):
            # Wait until the worker is busy delivering, then SIGKILL it mid-task and restart it.
            before = delivered()
            wait_until(lambda b=before: delivered() > b, timeout=20, interval=0.05, message="a delivery")
            worker.kill()
            kills += 1
            worker.start()
    assert kills == 2
    # Messages the killed worker held stay unacknowledged in Redis until the visibility timeout;
    # recovery does not wait for them: the sweep resends what is still pending.
    sweep_until_delivered(200, timeout=90)
    assert_exactly_once(reports, dr_moreau)
    # A worker killed between writing a PDF and committing its document leaves the file behind:
    # the orphan sweep removes exactly those, and every document keeps its own.
    feed_orphans.remove_orphan_files(older_than=timedelta(0))
    stored = sorted(str(p.relative_to(settings.MEDIA_ROOT)) for p in Path(settings.MEDIA_ROOT).rglob("*.pdf"))
    assert stored == sorted(SharedDocument.objects.values_list("file", flat=True))


def test_reports_signed_while_redis_is_down_succeed_and_are_delivered_once_it_is_back(
    worker, private_redis, gp_record, camille_stay, dr_bernard, dr_moreau, client
):
    reports = drafts(camille_stay, dr_bernard, 20)
    private_redis.stop()
    client.force_login(dr_bernard)
    for report in reports:
        started = time.monotonic()
        response = client.post(reverse("records:report_sign", args=[report.public_id]))
        assert response.status_code == 302  # the clinician sees the report signed, no error
        assert time.monotonic() - started < 5  # and does not wait on the dead broker
    assert Report.objects.filter(pk__in=[r.pk for r in reports], status=ReportStatus.SIGNED).count() == 20
    assert FeedItem.objects.filter(status=FeedStatus.PENDING).count() == 20
    assert not SharedDocument.objects.exists()
    private_redis.start()  # same port, empty: every message sent before the outage is gone
    sweep_until_delivered(20, timeout=60, through_broker=True)
    assert_exactly_once(reports, dr_moreau)


def test_the_same_message_delivered_twice_files_one_document(worker, gp_record, camille_stay, dr_bernard, dr_moreau):
    (report,) = drafts(camille_stay, dr_bernard, 1)
    reports_service.report_sign(actor=dr_bernard, report_id=report.public_id)
    wait_until(lambda: delivered() == 1, timeout=20, message="the first delivery")
    item = FeedItem.objects.get(report=report)
    feed_tasks.feed_deliver.apply_async(args=[item.pk], queue=QUEUE)
    feed_tasks.feed_deliver.apply_async(args=[item.pk], queue=QUEUE)
    wait_until(lambda: FeedItem.objects.get(pk=item.pk).redeliveries == 2, timeout=20, message="the duplicates")
    assert_exactly_once([report], dr_moreau)


def test_feed_rules_hold_through_a_real_worker(
    worker, gp_record, camille_stay, dr_bernard, dr_moreau, inf_roux, cardiology, settings
):
    sign = lambda r: reports_service.report_sign(actor=dr_bernard, report_id=r.public_id)  # noqa: E731
    # A retrieved INS: nothing fed; qualified: fed.
    jules = PatientFactory(ins_status=InsStatus.RETRIEVED, identity_document_checked=False, identity_qualified_at=None)
    (jules_letter,) = drafts(StayFactory(patient=jules, unit=cardiology), dr_bernard, 1)
    sign(jules_letter)
    # An opposed DMP: never.
    lea = PatientFactory()
    lea_record = dmp_records.shared_record_for(lea)
    lea_record.status = RecordStatus.OPPOSED
    lea_record.save(update_fields=["status"])
    (lea_letter,) = drafts(StayFactory(patient=lea, unit=cardiology), dr_bernard, 1)
    sign(lea_letter)
    # The lab type off: not fed; on: fed.
    (lab_off,) = drafts(camille_stay, dr_bernard, 1, ReportType.LAB_REPORT)
    sign(lab_off)
    settings.DMP_FEED_TYPES = {**settings.DMP_FEED_TYPES, ReportType.LAB_REPORT: True}
    (lab_on,) = drafts(camille_stay, dr_bernard, 1, ReportType.LAB_REPORT)
    sign(lab_on)
    # Amending a fed report: the old document superseded, the new one current.
    (letter,) = drafts(camille_stay, dr_bernard, 1)
    sign(letter)
    wait_until(lambda: delivered() == 2, timeout=20, message="the lab report and the letter")
    amendment = reports_service.report_amend(actor=dr_bernard, report_id=letter.public_id, title=None, body="Corrigé.")
    sign(amendment)
    wait_until(lambda: delivered() == 3, timeout=20, message="the amendment")
    assert FeedItem.objects.get(report=jules_letter).status == FeedStatus.WAITING_IDENTITY
    patients.identity_qualify(actor=inf_roux, patient_id=jules.public_id, document_checked=True)
    wait_until(lambda: delivered() == 4, timeout=20, message="Jules's letter")
    feed_tasks.sweep()
    time.sleep(1.5)
    assert SharedDocument.objects.filter(record__patient=jules).count() == 1
    assert not SharedDocument.objects.filter(source_report_id__in=[lea_letter.public_id, lab_off.public_id]).exists()
    assert FeedItem.objects.get(report=lea_letter).status == FeedStatus.SKIPPED
    old = SharedDocument.objects.get(source_report_id=letter.public_id)
    new = SharedDocument.objects.get(source_report_id=amendment.public_id)
    assert (old.status, new.status, new.replaces_id) == (DocumentStatus.SUPERSEDED, DocumentStatus.CURRENT, old.pk)
