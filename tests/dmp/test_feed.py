"""The automatic feed (records -> DMP): outbox in the signing transaction, rules, idempotency, retries, dashboard."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.models import AuditEvent
from chu_portal.celery import app as celery_app
from dmp import files
from dmp.constants import DocumentStatus, FeedReason, FeedStatus, NotificationKind, RecordStatus
from dmp.feed import dashboard, delivery, tasks
from dmp.models import FeedItem, Notification, SharedDocument, SharedRecord
from dmp.pdf import render_report_pdf
from dmp.services import documents
from records.constants import InsStatus, ReportStatus, ReportType
from records.models import Patient, Report
from records.services import patients, reports
from records.signals import report_signed
from tests.factories import TOTP_KEY, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(settings):
    """Tasks run in-process here; tests/reliability/ runs them on a real worker and broker."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DMP_FEED_RETRY_BACKOFF_SECONDS = 0


@pytest.fixture
def sign(dr_bernard, camille_stay, django_capture_on_commit_callbacks):
    """Write and sign a report as dr.bernard; the after-commit delivery runs as it would after a request."""

    def do(type_code=ReportType.DISCHARGE_LETTER, stay=None, author=None, title="Lettre de liaison"):
        author = author or dr_bernard
        draft = ReportFactory(
            stay=stay or camille_stay,
            author=author,
            type_code=type_code,
            title=title,
            status=ReportStatus.DRAFT,
            signed_at=None,
        )
        with django_capture_on_commit_callbacks(execute=True):
            return reports.report_sign(actor=author, report_id=draft.public_id)

    return do


def item_of(report) -> FeedItem:
    return FeedItem.objects.get(report=report)


def test_signing_writes_the_outbox_row_and_delivery_files_one_pdf(sign, camille_dmp):
    report = sign()
    item = item_of(report)
    assert item.status == FeedStatus.DELIVERED and item.attempts == 1
    document = SharedDocument.objects.get(source_report_id=report.public_id)
    assert item.document == document and document.record == camille_dmp
    assert document.source == "chu" and document.mime_type == "application/pdf"
    assert document.file.read(5) == b"%PDF-"
    assert AuditEvent.objects.filter(mode="feed", object_id=str(document.public_id)).count() == 1


def test_the_gp_and_the_patient_are_notified_of_a_fed_report(sign, camille_dmp, dr_moreau, camille):
    report = sign()
    document = SharedDocument.objects.get(source_report_id=report.public_id)
    assert Notification.objects.filter(recipient=dr_moreau, kind=NotificationKind.NEW_DOCUMENT, document=document)
    assert Notification.objects.filter(recipient=camille.account, document=document).exists()


def test_the_outbox_row_is_rolled_back_with_a_failed_signature(dr_bernard, draft_report, camille_dmp):
    def broken_receiver(sender, report, **kwargs):
        raise RuntimeError("a later step of the signing failed")

    report_signed.connect(broken_receiver, dispatch_uid="test-broken")
    try:
        with pytest.raises(RuntimeError):
            reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    finally:
        report_signed.disconnect(dispatch_uid="test-broken")
    assert Report.objects.get(pk=draft_report.pk).status == ReportStatus.DRAFT
    assert not FeedItem.objects.exists()


def test_nothing_is_sent_before_the_signature_commits(dr_bernard, draft_report, camille_dmp):
    # Without the commit (the test's transaction stays open) the row exists but no delivery ran.
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    assert item_of(draft_report).status == FeedStatus.PENDING
    assert not SharedDocument.objects.exists()


def test_the_same_message_delivered_twice_files_one_document(sign, camille_dmp):
    report = sign()
    item = item_of(report)
    delivery.feed_item_deliver(item_id=item.pk)
    delivery.feed_item_deliver(item_id=item.pk, redelivered=True)
    item.refresh_from_db()
    assert SharedDocument.objects.filter(source_report_id=report.public_id).count() == 1
    assert item.status == FeedStatus.DELIVERED and item.attempts == 1 and item.redeliveries == 2


def test_a_second_outbox_row_for_the_same_report_is_refused_by_the_database(sign, camille_dmp):
    from django.db import IntegrityError, transaction

    report = sign()
    with pytest.raises(IntegrityError), transaction.atomic():
        FeedItem.objects.create(report=report, patient=report.stay.patient, type_code=report.type_code)


def test_a_retrieved_ins_waits_and_goes_once_qualified(
    sign, camille, camille_dmp, inf_roux, django_capture_on_commit_callbacks
):
    Patient.objects.filter(pk=camille.pk).update(
        ins_status=InsStatus.RETRIEVED, identity_document_checked=False, identity_qualified_at=None
    )
    report = sign()
    item = item_of(report)
    assert item.status == FeedStatus.WAITING_IDENTITY and item.reason == FeedReason.IDENTITY_NOT_QUALIFIED
    assert tasks.sweep() == 0  # the sweep never sends what waits for its identity
    assert not SharedDocument.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        patients.identity_qualify(actor=inf_roux, patient_id=camille.public_id, document_checked=True)
    item.refresh_from_db()
    assert item.status == FeedStatus.DELIVERED
    assert SharedDocument.objects.filter(source_report_id=report.public_id).count() == 1


@pytest.mark.parametrize("status", [RecordStatus.OPPOSED, RecordStatus.CLOSED])
def test_a_report_signed_while_the_dmp_is_opposed_or_closed_is_never_sent(
    sign, camille_dmp, status, inf_roux, settings
):
    camille_dmp.status = status
    camille_dmp.save(update_fields=["status"])
    report = sign()
    item = item_of(report)
    assert item.status == FeedStatus.SKIPPED and item.reason == f"dmp_{status}"
    camille_dmp.status = RecordStatus.ACTIVE
    camille_dmp.save(update_fields=["status"])
    tasks.sweep(now=timezone.now() + timedelta(days=1))
    delivery.feed_deliver_pending()
    delivery.feed_item_deliver(item_id=item.pk)
    item.refresh_from_db()
    assert item.status == FeedStatus.SKIPPED and not SharedDocument.objects.exists()


def test_a_dmp_opposed_after_signing_but_before_delivery_gets_nothing(dr_bernard, draft_report, camille_dmp):
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    camille_dmp.status = RecordStatus.OPPOSED
    camille_dmp.save(update_fields=["status"])
    delivery.feed_item_deliver(item_id=item_of(draft_report).pk)
    assert item_of(draft_report).status == FeedStatus.SKIPPED and not SharedDocument.objects.exists()


def test_an_amendment_supersedes_the_fed_document(sign, camille_dmp, dr_bernard, django_capture_on_commit_callbacks):
    first = sign()
    amendment = reports.report_amend(actor=dr_bernard, report_id=first.public_id, title=None, body="Corrigé.")
    with django_capture_on_commit_callbacks(execute=True):
        reports.report_sign(actor=dr_bernard, report_id=amendment.public_id)
    old = SharedDocument.objects.get(source_report_id=first.public_id)
    new = SharedDocument.objects.get(source_report_id=amendment.public_id)
    assert old.status == DocumentStatus.SUPERSEDED and new.status == DocumentStatus.CURRENT and new.replaces == old
    assert SharedDocument.objects.filter(record=camille_dmp, status=DocumentStatus.CURRENT).count() == 1


def test_an_amendment_delivered_first_still_files_the_versions_in_order(dr_bernard, draft_report, camille_dmp):
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    amendment = reports.report_amend(actor=dr_bernard, report_id=draft_report.public_id, title=None, body="v2")
    reports.report_sign(actor=dr_bernard, report_id=amendment.public_id)
    delivery.feed_item_deliver(item_id=item_of(amendment).pk)  # v2's message arrives before v1's
    delivery.feed_item_deliver(item_id=item_of(draft_report).pk)
    old = SharedDocument.objects.get(source_report_id=draft_report.public_id)
    new = SharedDocument.objects.get(source_report_id=amendment.public_id)
    assert (old.status, new.status, new.replaces_id) == (DocumentStatus.SUPERSEDED, DocumentStatus.CURRENT, old.pk)
    assert {i.status for i in FeedItem.objects.all()} == {FeedStatus.DELIVERED}


def test_the_lab_type_is_off_by_default_and_a_setting_turns_it_on(sign, camille_dmp, settings):
    lab = sign(type_code=ReportType.LAB_REPORT, title="Bilan biologique")
    assert item_of(lab).status == FeedStatus.SKIPPED and item_of(lab).reason == FeedReason.TYPE_OFF
    settings.DMP_FEED_TYPES = {**settings.DMP_FEED_TYPES, ReportType.LAB_REPORT: True}
    second = sign(type_code=ReportType.LAB_REPORT, title="Bilan biologique de contrôle")
    assert item_of(second).status == FeedStatus.DELIVERED
    assert not SharedDocument.objects.filter(source_report_id=lab.public_id).exists()


def test_consultation_reports_are_not_fed_by_default(sign, camille_dmp):
    report = sign(type_code=ReportType.CONSULTATION_REPORT, title="Consultation")
    assert item_of(report).status == FeedStatus.SKIPPED and not SharedDocument.objects.exists()


@pytest.fixture
def broken_storage(settings, tmp_path):
    """File storage that cannot be written (a file where the media folder should be): a real failure."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker
    return settings


def test_a_failing_delivery_is_retried_then_marked_failed_with_its_last_error(
    sign, camille_dmp, broken_storage, settings
):
    settings.DMP_FEED_MAX_ATTEMPTS = 3
    report = sign()
    item = item_of(report)
    assert item.status == FeedStatus.FAILED and item.attempts == 3
    assert item.reason == FeedReason.ERROR and item.last_error
    assert not SharedDocument.objects.exists()
    # Each failed attempt was rolled back whole: no trace of a filing, the signed PDF still waits.
    assert not AuditEvent.objects.filter(mode="feed").exists()
    assert bytes(item.content).startswith(b"%PDF-")


def test_backoff_is_exponential_with_jitter_and_capped(settings):
    settings.DMP_FEED_RETRY_BACKOFF_SECONDS = 10
    settings.DMP_FEED_RETRY_BACKOFF_MAX_SECONDS = 60
    samples = {n: [delivery.backoff_seconds(n) for _ in range(200)] for n in (1, 2, 3, 10)}
    assert all(0 <= s <= 10 for s in samples[1]) and max(samples[2]) > 10 >= min(samples[2])
    assert all(s <= 40 for s in samples[3]) and all(s <= 60 for s in samples[10])
    assert len(set(samples[10])) > 1  # jitter: not every client retries at the same instant


def test_the_sweep_resends_only_pending_items_that_are_due(dr_bernard, draft_report, camille_dmp, settings):
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)  # its message never went
    assert tasks.sweep() == 0  # the after-commit task gets its grace period first
    later = timezone.now() + timedelta(seconds=settings.DMP_FEED_SWEEP_GRACE_SECONDS + 1)
    assert tasks.sweep(now=later) == 1
    assert item_of(draft_report).status == FeedStatus.DELIVERED
    assert tasks.sweep(now=later + timedelta(hours=1)) == 0


@pytest.fixture
def admin_user(db):
    user = UserFactory(role="admin", username="admin")
    TOTPDevice.objects.create(user=user, name="authenticator", key=TOTP_KEY, confirmed=True)
    return user


def test_the_dashboard_counts_by_status_lists_failures_and_is_traced(
    sign, camille_dmp, broken_storage, settings, client, admin_user, tmp_path
):
    settings.DMP_FEED_MAX_ATTEMPTS = 1
    report = sign(title="Fibrillation de Mme Martin")
    client.force_login(admin_user)
    response = client.get(reverse("dmp:feed_dashboard"))
    assert response.status_code == 200
    assert response.context["board"].by_status[FeedStatus.FAILED] == 1
    assert [i.report_id for i in response.context["board"].failed] == [report.pk]
    assert "Relancer" in response.content.decode()
    assert report.title not in response.content.decode()  # no medical content for the admin
    assert AuditEvent.objects.filter(action="feed_dashboard", actor_username="admin", outcome="allowed").exists()


def test_an_admin_retries_a_failed_item_and_it_is_delivered(
    sign, camille_dmp, broken_storage, settings, client, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    settings.DMP_FEED_MAX_ATTEMPTS = 1
    report = sign()
    item = item_of(report)
    settings.MEDIA_ROOT = tmp_path / "media-repaired"
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dmp:feed_retry", args=[item.public_id]))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == FeedStatus.DELIVERED
    assert AuditEvent.objects.filter(action="feed_retry", object_id=str(item.public_id)).exists()


def test_only_administrators_see_the_feed_dashboard_and_refusals_are_traced(client, dr_bernard, db):
    client.force_login(dr_bernard)
    assert client.get(reverse("dmp:feed_dashboard")).status_code == 403
    patient = UserFactory(role="patient")
    client.force_login(patient)
    assert client.get(reverse("dmp:feed_dashboard")).status_code == 403
    assert AuditEvent.objects.filter(action="feed_dashboard", outcome="denied").count() == 2


def test_celery_reuses_database_connections_when_the_setting_is_set(settings):
    settings.CELERY_DB_REUSE_MAX = 100
    assert celery_app.conf.get("CELERY_DB_REUSE_MAX") == 100


def test_seed_demo_feeds_camille_leaves_jules_waiting_and_skips_lea(db, django_capture_on_commit_callbacks):
    call_command("seed_demo", "--force", verbosity=0)
    call_command("seed_demo", "--force", verbosity=0)
    items = {
        (i.patient.account.username, i.report.type_code): i.status
        for i in FeedItem.objects.select_related("patient__account", "report")
    }
    assert items == {
        ("camille.martin", ReportType.DISCHARGE_LETTER): FeedStatus.DELIVERED,
        ("camille.martin", ReportType.IMAGING_REPORT): FeedStatus.DELIVERED,
        ("jules.petit", ReportType.DISCHARGE_LETTER): FeedStatus.WAITING_IDENTITY,
        ("lea.dubois", ReportType.DISCHARGE_LETTER): FeedStatus.SKIPPED,
    }
    gp_notes = Notification.objects.filter(recipient__username="dr.moreau", kind=NotificationKind.NEW_DOCUMENT)
    assert gp_notes.count() == 2
    assert not SharedDocument.objects.filter(record__patient__account__username="jules.petit").exists()
    jules = Patient.objects.get(account__username="jules.petit")
    roux = User.objects.get(username="inf.roux")
    # His typed NIR is not an INS: retrieved through the INSi seam (the demo registry knows him), then checked.
    patients.identity_retrieve_ins(actor=roux, patient_id=jules.public_id)
    assert not SharedDocument.objects.filter(record__patient=jules).exists()
    with django_capture_on_commit_callbacks(execute=True):
        patients.identity_qualify(actor=roux, patient_id=jules.public_id, document_checked=True)
    assert SharedDocument.objects.filter(record__patient=jules).count() == 1


def test_the_feed_dashboard_counts_stays_discharged_without_a_letter(client, camille_stay, db):
    from accounts.models import Role
    from tests.factories import UserFactory

    admin = UserFactory(role=Role.ADMIN, username="admin.count")
    assert dashboard.feed_dashboard(actor=admin).stays_without_letter == 1


# --- The delivery's shape: the PDF rendered at signing, one read, no savepoint -----------------


def test_the_pdf_is_rendered_in_the_signing_transaction_and_filed_as_signed(dr_bernard, draft_report, camille_dmp):
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    item = item_of(draft_report)
    signed_pdf = bytes(item.content)
    assert item.status == FeedStatus.PENDING and signed_pdf.startswith(b"%PDF-")
    delivery.feed_item_deliver(item_id=item.pk)
    item.refresh_from_db()
    document = SharedDocument.objects.get(source_report_id=draft_report.public_id)
    assert document.sha256 == hashlib.sha256(signed_pdf).hexdigest() and document.size == len(signed_pdf)
    assert document.file.read() == signed_pdf
    assert item.status == FeedStatus.DELIVERED and item.content is None  # not kept twice


def test_the_rendered_pdf_passes_the_upload_inspection(dr_bernard, draft_report):
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    report = Report.objects.get(pk=draft_report.pk)
    inspected = files.inspect(ContentFile(render_report_pdf(report), name="report.pdf"))
    assert inspected.mime_type == "application/pdf"  # no active content: the feed need not parse it again


def test_a_report_waiting_for_its_identity_is_rendered_when_it_goes(
    dr_bernard, draft_report, camille, camille_dmp, inf_roux
):
    Patient.objects.filter(pk=camille.pk).update(
        ins_status=InsStatus.RETRIEVED, identity_document_checked=False, identity_qualified_at=None
    )
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    assert item_of(draft_report).content is None  # rendered once the identity it waits for is qualified
    patients.identity_qualify(actor=inf_roux, patient_id=camille.public_id, document_checked=True)
    delivery.feed_item_deliver(item_id=item_of(draft_report).pk)
    document = SharedDocument.objects.get(source_report_id=draft_report.public_id)
    assert document.file.read(5) == b"%PDF-" and item_of(draft_report).status == FeedStatus.DELIVERED


def test_a_report_already_filed_by_another_path_is_linked_not_filed_twice(dr_bernard, draft_report, camille_dmp):
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    filed = documents.chu_document_file(report=Report.objects.get(pk=draft_report.pk))
    delivery.feed_item_deliver(item_id=item_of(draft_report).pk)
    item = item_of(draft_report)
    assert item.status == FeedStatus.DELIVERED and item.document == filed
    assert SharedDocument.objects.filter(source_report_id=draft_report.public_id).count() == 1


def test_a_delivery_reads_once_and_writes_the_document_its_trace_and_the_item(dr_bernard, draft_report, camille_dmp):
    # Visible to the patient now (an imaging report is held by default: she would not be told).
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id, hold_from_patient=False)
    item = item_of(draft_report)
    with CaptureQueriesContext(connection) as captured:
        delivery.feed_item_deliver(item_id=item.pk)
    statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    kinds = [" ".join(sql.split()[:3]).replace('"', "") for sql in statements]
    # Camille has a portal account and a GP: two notifications (their recipients read) besides
    # the document and its trace; and one read of who represents her now (issue 21: nobody).
    assert [k for k in kinds if k.startswith("SELECT")] == [
        "SELECT f.id, f.public_id,",
        "SELECT accounts_user.id, accounts_user.password,",
        "SELECT accounts_user.id, accounts_user.password,",
        "SELECT accounts_user.id, accounts_user.password,",
    ]
    assert sorted(k for k in kinds if not k.startswith("SELECT")) == [
        "INSERT INTO audit_auditevent",
        "INSERT INTO dmp_notification",
        "INSERT INTO dmp_notification",
        "INSERT INTO dmp_shareddocument",
        "UPDATE dmp_feeditem SET",
    ]
    assert "FOR UPDATE OF f" in statements[0]


def _values(obj, exclude=()) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in exclude}


@pytest.mark.parametrize("with_dmp", [True, False])
def test_the_one_statement_lock_loads_what_the_orm_loads(
    dr_bernard, draft_report, camille, camille_dmp, with_dmp, django_capture_on_commit_callbacks
):
    """dmp.feed.delivery builds its delivery read from the models' columns on PostgreSQL and goes through
    the ORM elsewhere: both must hand the same instances to the filing."""
    reports.report_sign(actor=dr_bernard, report_id=draft_report.public_id)
    amendment = reports.report_amend(actor=dr_bernard, report_id=draft_report.public_id, title=None, body="v2")
    reports.report_sign(actor=dr_bernard, report_id=amendment.public_id)
    delivery.feed_item_deliver(item_id=item_of(draft_report).pk)  # v1 filed: v2's read finds no document yet
    if not with_dmp:
        FeedItem.objects.filter(patient=camille).update(document=None, status=FeedStatus.PENDING, delivered_at=None)
        SharedDocument.objects.filter(record=camille_dmp).delete()
        camille_dmp.delete()
    for key, value in (("id", item_of(amendment).pk), ("report_id", draft_report.pk)):
        raw, orm = delivery._lock_item(key=key, value=value), delivery._lock_item_orm(key=key, value=value)
        assert _values(raw) == _values(orm) and raw.filed_document_id == orm.filed_document_id
        assert _values(raw.report, exclude=("body",)) == _values(orm.report, exclude=("body",))
        assert _values(raw.patient) == _values(orm.patient) and raw.stay_secret is orm.stay_secret is False
        if with_dmp:
            assert _values(raw.patient.shared_record) == _values(orm.patient.shared_record)
        else:
            for item in (raw, orm):
                with pytest.raises(SharedRecord.DoesNotExist):
                    item.patient.shared_record  # noqa: B018 - the attribute access is the assertion
    assert delivery._lock_item(value=0) is None and delivery._lock_item_orm(key="id", value=0) is None
