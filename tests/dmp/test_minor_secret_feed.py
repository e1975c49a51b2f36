"""The feed and the minor's secret (CSP L.1111-5, R.1111-50): a report of a stay kept secret from the legal
representatives is filed in the DMP secret from them; keeping the stay secret later flags what was already fed."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.constants import Mode
from audit.models import AuditEvent
from dmp.feed import delivery
from dmp.models import FeedItem, SharedDocument
from dmp.services import documents, records
from records.constants import ReportStatus, ReportType, RepresentationKind
from records.models import Report
from records.services import reports, representatives, secret
from tests.factories import PatientFactory, ReportFactory, StayFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DMP_FEED_RETRY_BACKOFF_SECONDS = 0


@pytest.fixture
def lucas(db):
    today = timezone.localdate()
    account = UserFactory(role=Role.PATIENT, username="lucas.martin", first_name="Lucas", last_name="Martin")
    return PatientFactory(
        birth_name="MARTIN",
        first_names="Lucas",
        sex="M",
        birth_date=today.replace(year=today.year - 15) - datetime.timedelta(days=40),
        account=account,
    )


@pytest.fixture
def lucas_dmp(lucas):
    return records.shared_record_for(lucas)


@pytest.fixture
def mother(camille, lucas, inf_roux):
    return representatives.representation_record(
        actor=inf_roux,
        patient_id=lucas.public_id,
        representative=camille.account.username,
        kind=RepresentationKind.PARENT,
        relation="mère",
        identity_checked=True,
    )


@pytest.fixture
def lucas_stay(lucas, cardiology):
    return StayFactory(patient=lucas, unit=cardiology)


@pytest.fixture
def sign(dr_bernard, django_capture_on_commit_callbacks):
    def do(stay, title="Lettre de liaison"):
        draft = ReportFactory(
            stay=stay,
            author=dr_bernard,
            type_code=ReportType.DISCHARGE_LETTER,
            title=title,
            status=ReportStatus.DRAFT,
            signed_at=None,
        )
        with django_capture_on_commit_callbacks(execute=True):
            return reports.report_sign(actor=dr_bernard, report_id=draft.public_id, hold_from_patient=False)

    return do


def _listed(actor, patient):
    return {d.title for d in documents.documents_list(actor=actor, patient_id=patient.public_id).documents}


def test_a_report_of_a_secret_stay_is_filed_secret_from_the_parents(
    sign, dr_bernard, camille, lucas, lucas_dmp, mother, lucas_stay
):
    secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=True)
    report = sign(lucas_stay, title="Consultation confidentielle")
    document = SharedDocument.objects.get(source_report_id=report.public_id)
    assert document.secret_from_representatives
    assert "Consultation confidentielle" in _listed(lucas.account, lucas)
    assert "Consultation confidentielle" not in _listed(camille.account, lucas)


def test_a_report_of_an_ordinary_stay_is_not(sign, camille, lucas, lucas_dmp, mother, lucas_stay):
    report = sign(lucas_stay, title="Vaccination")
    assert not SharedDocument.objects.get(source_report_id=report.public_id).secret_from_representatives
    assert "Vaccination" in _listed(camille.account, lucas)


def test_keeping_the_stay_secret_later_flags_every_version_already_fed(
    sign, dr_bernard, camille, lucas, lucas_dmp, mother, lucas_stay, cardiology, django_capture_on_commit_callbacks
):
    other_stay = StayFactory(patient=lucas, unit=cardiology)
    first = sign(lucas_stay, title="Lettre v1")
    amendment = reports.report_amend(actor=dr_bernard, report_id=first.public_id, title="Lettre v2", body="v2")
    with django_capture_on_commit_callbacks(execute=True):
        reports.report_sign(actor=dr_bernard, report_id=amendment.public_id, hold_from_patient=False)
    elsewhere = sign(other_stay, title="Autre séjour")
    assert "Lettre v2" in _listed(camille.account, lucas)

    secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=True)
    flagged = SharedDocument.objects.filter(source_report_id__in=[first.public_id, amendment.public_id])
    assert flagged.count() == 2 and all(d.secret_from_representatives for d in flagged)
    assert not SharedDocument.objects.get(source_report_id=elsewhere.public_id).secret_from_representatives
    assert _listed(camille.account, lucas) == {"Autre séjour"}
    trace = AuditEvent.objects.get(object_type="dmp_document", reason="minor_secret")
    assert trace.mode == Mode.FEED and sorted(trace.object_ids) == sorted(str(d.public_id) for d in flagged)

    secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=False)
    assert not SharedDocument.objects.filter(secret_from_representatives=True).exists()
    assert "Lettre v2" in _listed(camille.account, lucas)
    assert AuditEvent.objects.filter(object_type="dmp_document", reason="minor_secret_lift").count() == 1


def test_a_report_signed_before_but_delivered_after_the_secret_is_filed_secret(
    dr_bernard, lucas_dmp, lucas_stay, camille, lucas, mother
):
    draft = ReportFactory(
        stay=lucas_stay,
        author=dr_bernard,
        type_code=ReportType.DISCHARGE_LETTER,
        status=ReportStatus.DRAFT,
        signed_at=None,
    )
    report = reports.report_sign(actor=dr_bernard, report_id=draft.public_id, hold_from_patient=False)  # not sent yet
    secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=True)
    delivery.feed_item_deliver(item_id=FeedItem.objects.get(report=report).pk)
    assert SharedDocument.objects.get(source_report_id=report.public_id).secret_from_representatives
    assert delivery._lock_item(value=FeedItem.objects.get(report=report).pk).stay_secret is True
    assert delivery._lock_item_orm(key="report_id", value=report.pk).stay_secret is True


def test_the_filing_seam_follows_the_stays_secret_too(dr_bernard, lucas_dmp, lucas_stay):
    secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=True)
    report = ReportFactory(stay=lucas_stay, author=dr_bernard, type_code=ReportType.DISCHARGE_LETTER)
    assert documents.chu_document_file(report=Report.objects.get(pk=report.pk)).secret_from_representatives
