"""The feed's outbox relay (dmp.feed.delivery.feed_relay): batches in bounded queries, exactly once, failures apart."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from dmp.constants import DocumentStatus, FeedReason, FeedStatus, NotificationKind, RecordStatus
from dmp.feed import delivery
from dmp.models import FeedItem, Notification, SharedDocument
from dmp.services import notifications
from dmp.services import records as dmp_records
from records.constants import ReportStatus, ReportType, RepresentationKind
from records.models import Report, Representation
from records.services import reports
from tests.factories import ReportFactory, StayFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed(stay, author, n, *, hold=False, type_code=ReportType.DISCHARGE_LETTER) -> list[FeedItem]:
    """n reports signed (outbox rows pending: the test's transaction never commits, no message went)."""
    items = []
    for i in range(n):
        draft = ReportFactory(
            stay=stay,
            author=author,
            type_code=type_code,
            title=f"Lettre {i}",
            status=ReportStatus.DRAFT,
            signed_at=None,
        )
        reports.report_sign(actor=author, report_id=draft.public_id, hold_from_patient=hold)
        items.append(FeedItem.objects.get(report=draft))
    return items


def delivered_once(items: list[FeedItem]) -> None:
    """Every item delivered with one attempt, one document, one feed trace, notifications for the GP."""
    reports_ids = [i.report.public_id for i in items]
    rows = FeedItem.objects.filter(pk__in=[i.pk for i in items])
    assert set(rows.values_list("status", "attempts")) == {(FeedStatus.DELIVERED, 1)}
    assert not rows.filter(content__isnull=False).exists()
    documents = SharedDocument.objects.filter(source_report_id__in=reports_ids)
    assert documents.count() == len(items)
    assert set(rows.values_list("document_id", flat=True)) == set(documents.values_list("pk", flat=True))
    doc_ids = [str(d) for d in documents.values_list("public_id", flat=True)]
    assert AuditEvent.objects.filter(mode="feed", action="create", object_id__in=doc_ids).count() == len(items)


def relay_queries(item_id: int, batch_size: int) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        outcome = delivery.feed_relay(item_id=item_id, batch_size=batch_size)
    assert outcome.own_error is None and not outcome.retries
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def test_a_batch_delivers_its_items_in_a_number_of_queries_that_does_not_grow_with_it(
    dr_bernard, dr_moreau, camille, camille_stay, camille_dmp
):
    few, many = signed(camille_stay, dr_bernard, 3), signed(camille_stay, dr_bernard, 12)
    small = relay_queries(few[0].pk, batch_size=3)
    large = relay_queries(many[0].pk, batch_size=12)
    delivered_once(few + many)
    # One claim, the bulk inserts (documents, traces, notifications), the items' update, and the reads of
    # who is told: the same statements for 12 items as for 3.
    assert len(large) == len(small) <= 8
    assert "FOR UPDATE OF f SKIP LOCKED" in large[0]
    inserts = sorted(sql.split()[2].strip('"') for sql in large if sql.startswith("INSERT"))
    assert inserts == ["audit_auditevent", "dmp_notification", "dmp_shareddocument"]
    # Each document's patient and GP are told, as when items went one by one.
    for item in many:
        document = FeedItem.objects.get(pk=item.pk).document
        kinds = Notification.objects.filter(document=document, kind=NotificationKind.NEW_DOCUMENT)
        assert set(kinds.values_list("recipient", flat=True)) == {camille.account_id, dr_moreau.pk}


def test_the_batch_takes_the_message_item_first_and_only_items_never_attempted(
    dr_bernard, camille_stay, camille_dmp, settings
):
    settings.DMP_FEED_BATCH_SIZE = 3
    items = signed(camille_stay, dr_bernard, 5)
    retrying = items[0]
    FeedItem.objects.filter(pk=retrying.pk).update(attempts=2, last_error="earlier failure")
    outcome = delivery.feed_relay(item_id=items[4].pk)
    # Its own item, then the two oldest never attempted; the item waiting for its retry is left to it.
    assert sorted(outcome.delivered) == sorted([items[4].pk, items[1].pk, items[2].pk])
    assert FeedItem.objects.get(pk=retrying.pk).status == FeedStatus.PENDING
    assert FeedItem.objects.get(pk=items[3].pk).status == FeedStatus.PENDING
    # The message's own item is not "relayed"; the others are (their own message is expected later).
    flags = dict(FeedItem.objects.filter(pk__in=outcome.delivered).values_list("pk", "relayed"))
    assert flags == {items[4].pk: False, items[1].pk: True, items[2].pk: True}


def test_a_message_that_arrives_after_a_relay_delivered_its_item_is_no_redelivery_but_a_duplicate_is(
    dr_bernard, camille_stay, camille_dmp
):
    first, second = signed(camille_stay, dr_bernard, 2)
    delivery.feed_relay(item_id=first.pk)  # delivers both
    delivery.feed_relay(item_id=second.pk)  # second's own message: expected
    item = FeedItem.objects.get(pk=second.pk)
    assert (item.status, item.redeliveries, item.relayed, item.attempts) == (FeedStatus.DELIVERED, 0, False, 1)
    delivery.feed_relay(item_id=second.pk)  # the same message again: a duplicate
    assert FeedItem.objects.get(pk=second.pk).redeliveries == 1
    assert SharedDocument.objects.filter(source_report_id=second.report.public_id).count() == 1


def test_a_failing_item_does_not_hold_the_batch_and_waits_for_its_own_retry(dr_bernard, camille_stay, camille_dmp):
    items = signed(camille_stay, dr_bernard, 6)
    broken = items[3]
    FeedItem.objects.filter(pk=broken.pk).update(content=b"not a PDF")
    outcome = delivery.feed_relay(item_id=items[0].pk, batch_size=10)
    others = [i for i in items if i.pk != broken.pk]
    delivered_once(others)
    assert sorted(outcome.delivered) == sorted(i.pk for i in others)
    assert outcome.own_error is None and [pk for pk, _ in outcome.retries] == [broken.pk]
    item = FeedItem.objects.get(pk=broken.pk)
    assert item.status == FeedStatus.PENDING and item.attempts == 1 and "not a PDF" in item.last_error
    assert not SharedDocument.objects.filter(source_report_id=broken.report.public_id).exists()
    # The failed batch's files were removed again: the stored PDFs are exactly the documents'.
    stored = sorted(str(p.relative_to(settings.MEDIA_ROOT)) for p in Path(settings.MEDIA_ROOT).rglob("*.pdf"))
    assert stored == sorted(SharedDocument.objects.values_list("file", flat=True))


def test_the_message_own_item_failing_is_retried_by_its_message(dr_bernard, camille_stay, camille_dmp):
    items = signed(camille_stay, dr_bernard, 3)
    FeedItem.objects.filter(pk=items[0].pk).update(content=b"not a PDF")
    outcome = delivery.feed_relay(item_id=items[0].pk, batch_size=10)
    assert isinstance(outcome.own_error, delivery.DeliveryError) and not outcome.retries
    delivered_once(items[1:])


def test_amendments_held_reports_and_a_dmp_opposed_since_signing_keep_their_rules_in_a_batch(
    dr_bernard, camille, camille_stay, camille_dmp, other_patient, cardiology
):
    (letter,) = signed(camille_stay, dr_bernard, 1)
    amendment_report = reports.report_amend(actor=dr_bernard, report_id=letter.report.public_id, title=None, body="v2")
    reports.report_sign(actor=dr_bernard, report_id=amendment_report.public_id, hold_from_patient=False)
    amendment = FeedItem.objects.get(report=amendment_report)
    (held,) = signed(camille_stay, dr_bernard, 1, hold=True)
    jules_record = dmp_records.shared_record_for(other_patient)
    (jules_letter,) = signed(StayFactory(patient=other_patient, unit=cardiology), dr_bernard, 1)
    jules_record.status = RecordStatus.OPPOSED
    jules_record.save(update_fields=["status"])

    delivery.feed_relay(item_id=amendment.pk, batch_size=10)  # the amendment first: its original goes before it

    old = SharedDocument.objects.get(source_report_id=letter.report.public_id)
    new = SharedDocument.objects.get(source_report_id=amendment_report.public_id)
    assert (old.status, new.status, new.replaces_id, new.lineage) == (
        DocumentStatus.SUPERSEDED,
        DocumentStatus.CURRENT,
        old.pk,
        old.lineage,
    )
    held_document = SharedDocument.objects.get(source_report_id=held.report.public_id)
    assert held_document.held and not held_document.visible_to_patient
    assert not Notification.objects.filter(document=held_document, recipient=camille.account).exists()
    skipped = FeedItem.objects.get(pk=jules_letter.pk)
    assert (skipped.status, skipped.reason) == (FeedStatus.SKIPPED, FeedReason.DMP_OPPOSED)
    assert set(FeedItem.objects.filter(patient=camille).values_list("status", flat=True)) == {FeedStatus.DELIVERED}


def test_the_batch_notifications_are_those_of_one_by_one(dr_bernard, dr_moreau, camille, camille_stay, camille_dmp):
    """notify_new_documents against notify_new_document: a representative, a blocked one, a secret document."""
    from dmp.models import BlockedProfessional

    mother = UserFactory(role="patient", username="maman")
    nurse_rep = UserFactory(role="chu_collaborator", username="rep.pro")  # a representative who is not a patient
    for user in (mother, nurse_rep):
        Representation.objects.create(
            representative=user, patient=camille, kind=RepresentationKind.PARENT, identity_checked=True
        )
    BlockedProfessional.objects.create(record=camille_dmp, professional=nurse_rep)
    camille_dmp.notify_by_email = True
    camille_dmp.save(update_fields=["notify_by_email"])
    items = signed(camille_stay, dr_bernard, 3)
    delivery.feed_relay(item_id=items[0].pk, batch_size=10)
    documents = list(SharedDocument.objects.filter(pk__in=[FeedItem.objects.get(pk=i.pk).document_id for i in items]))
    documents[1].secret_from_representatives = True

    def told(run) -> list[tuple]:
        Notification.objects.all().delete()
        run()
        return sorted(Notification.objects.values_list("recipient_id", "document_id", "message", "kind"))

    batch = told(lambda: notifications.notify_new_documents([(camille_dmp, d) for d in documents]))
    one_by_one = told(lambda: [notifications.notify_new_document(camille_dmp, d) for d in documents])
    assert batch == one_by_one
    recipients = {r for r, *_ in batch}
    assert {camille.account_id, mother.pk, dr_moreau.pk} == recipients  # the blocked representative is not told
    assert sum(1 for r, *_ in batch if r == mother.pk) == 2  # not of the secret document


def test_the_embedded_mode_relays_its_one_item(dr_bernard, camille_stay, camille_dmp, monkeypatch):
    items = signed(camille_stay, dr_bernard, 2)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    outcome = delivery.feed_relay(item_id=items[0].pk)
    monkeypatch.undo()
    assert outcome.delivered == [items[0].pk]
    assert FeedItem.objects.get(pk=items[1].pk).status == FeedStatus.PENDING
    assert Report.objects.filter(pk=items[0].report_id).exists()


def test_a_report_that_waited_for_its_identity_is_rendered_when_its_batch_goes(dr_bernard, camille_stay, camille_dmp):
    items = signed(camille_stay, dr_bernard, 3)
    FeedItem.objects.filter(pk=items[1].pk).update(content=None)  # as an item released by the identity's qualifying
    delivery.feed_relay(item_id=items[0].pk, batch_size=10)
    delivered_once(items)
    document = FeedItem.objects.get(pk=items[1].pk).document
    assert document.file.read(5) == b"%PDF-" and document.title == items[1].report.title


def test_the_task_retries_its_own_item_and_sends_a_message_for_another_failed_one(monkeypatch, db):
    from dmp.feed import tasks

    sent = []
    monkeypatch.setattr(tasks.feed_deliver, "apply_async", lambda **kwargs: sent.append(kwargs))
    outcome = delivery.RelayOutcome(delivered=[1], retries=[(7, 3.5)])
    monkeypatch.setattr(delivery, "feed_relay", lambda **kwargs: outcome)
    tasks.feed_deliver(1)  # called directly: not eager, as in a worker
    assert [(m["args"], m["countdown"]) for m in sent] == [([7], 3.5)]
    outcome.own_error = delivery.DeliveryError("boom", 2.0)
    with pytest.raises(delivery.DeliveryError):  # a direct call re-raises where a worker would retry the message
        tasks.feed_deliver(1)


def test_a_batch_files_the_reports_of_a_secret_stay_secret_from_the_representatives(
    dr_bernard, camille, camille_stay, camille_dmp
):
    """The relay reads each report's stay secret (CSP L.1111-5) in its one claim: a batch mixing an ordinary stay
    and a stay the minor keeps secret files the second's documents secret from the legal representatives."""
    secret_stay = StayFactory(patient=camille, unit=camille_stay.unit, secret_from_representatives=True)
    ordinary, secret = signed(camille_stay, dr_bernard, 2), signed(secret_stay, dr_bernard, 2)
    relay_queries(ordinary[0].pk, batch_size=4)
    delivered_once(ordinary + secret)
    flags = {
        item.report.stay_id: set(
            SharedDocument.objects.filter(source_report_id=item.report.public_id).values_list(
                "secret_from_representatives", flat=True
            )
        )
        for item in ordinary + secret
    }
    assert flags == {camille_stay.pk: {False}, secret_stay.pk: {True}}
