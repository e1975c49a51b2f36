"""Held reports (issue 19, point 1): fed "after the announcement consultation", invisible to the patient until
released by its author, a doctor of her care team or a doctor with GP-level rights; reminders; the feed state."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict
from dmp.consent import blocking
from dmp.consent import emergency as consent_emergency
from dmp.constants import DocumentStatus, NotificationKind, WithdrawalReason
from dmp.feed import delivery, states
from dmp.feed.tasks import remind_held_reports
from dmp.models import Notification, SharedDocument
from dmp.services import documents, held, history
from fhir import services as fhir_services
from records.constants import InsStatus, ReportStatus, ReportType
from records.models import Report
from records.services import patients, reports
from tests.factories import ReportFactory, professional

from .conftest import grant

pytestmark = pytest.mark.django_db

WARNING = "Attention, ce document n'est pas visible du patient"
REASON = "Patient inconscient aux urgences, antécédents inconnus"


@pytest.fixture(autouse=True)
def _eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def sign(dr_bernard, camille_stay, camille_dmp, django_capture_on_commit_callbacks):
    """Write and sign a report as dr.bernard (the signing choice as given); the feed delivers after commit."""

    def do(type_code=ReportType.IMAGING_REPORT, hold=None, title="Scanner thoracique", replaces=None, version=1):
        draft = ReportFactory(
            stay=camille_stay,
            author=dr_bernard,
            type_code=type_code,
            title=title,
            status=ReportStatus.DRAFT,
            signed_at=None,
            replaces=replaces,
            version=version,
        )
        with django_capture_on_commit_callbacks(execute=True):
            report = reports.report_sign(actor=dr_bernard, report_id=draft.public_id, hold_from_patient=hold)
        delivery.feed_deliver_pending()
        return report

    return do


def document_of(report) -> SharedDocument:
    return SharedDocument.objects.select_related("record__patient").get(source_report_id=report.public_id)


def patient_sees(camille, document) -> bool:
    page = documents.documents_list(actor=camille.account, patient_id=camille.public_id)
    return document.public_id in {d.public_id for d in page.documents}


def new_document_notes(user):
    return list(Notification.objects.filter(recipient=user, kind=NotificationKind.NEW_DOCUMENT))


@pytest.fixture
def dr_cardio(cardiology):
    """Another doctor of Cardiologie: in Camille's care team, with no access to her DMP."""
    return professional(units=[cardiology], username="dr.petit", first_name="Anne", last_name="Petit")


# --- Signing and filing ----------------------------------------------------------------------------------------


def test_an_imaging_report_is_held_by_default_filed_at_once_and_read_by_the_gp_not_the_patient(
    sign, camille, dr_moreau
):
    report = sign()
    assert report.hold_from_patient is True
    document = document_of(report)
    assert document.held and not document.visible_to_patient
    # The GP reads it (and is told); the patient does not, in any channel.
    assert document.public_id in {
        d.public_id for d in documents.documents_list(actor=dr_moreau, patient_id=camille.public_id).documents
    }
    assert len(new_document_notes(dr_moreau)) == 1
    assert not patient_sees(camille, document)
    assert documents.documents_list(actor=camille.account, patient_id=camille.public_id).total == 0
    for read in (documents.document_open, documents.document_content, fhir_services.document_read):
        with pytest.raises(AccessDenied) as refused:
            read(actor=camille.account, document_id=document.public_id)
        assert refused.value.status == 404
    result, _stays = fhir_services.document_search(
        actor=camille.account, patient_id=camille.public_id, current_only=False, page=1, page_size=50
    )
    assert result.total == 0
    assert new_document_notes(camille.account) == []


def test_the_signing_doctor_may_choose_visible_now_and_other_types_are_visible_by_default(sign, camille):
    now = document_of(sign(hold=False))
    assert not now.held and now.visible_to_patient and patient_sees(camille, now)
    letter = sign(type_code=ReportType.DISCHARGE_LETTER, title="Lettre de liaison")
    assert letter.hold_from_patient is False and patient_sees(camille, document_of(letter))
    held_letter = document_of(sign(type_code=ReportType.DISCHARGE_LETTER, title="Lettre à annoncer", hold=True))
    assert held_letter.held and not patient_sees(camille, held_letter)


def test_the_default_per_type_is_the_setting(sign, settings):
    settings.DMP_FEED_HOLD_TYPES = []
    assert sign().hold_from_patient is False
    settings.DMP_FEED_HOLD_TYPES = [ReportType.DISCHARGE_LETTER]
    assert sign(type_code=ReportType.DISCHARGE_LETTER, title="Lettre").hold_from_patient is True


def test_a_held_amendment_of_a_masked_document_is_masked_and_held_and_released_masked(
    sign, camille, dr_bernard, dr_moreau
):
    first = sign(hold=False)
    documents.document_mask(actor=camille.account, document_id=document_of(first).public_id)
    second = sign(hold=True, replaces=first, version=2, title="Scanner thoracique (corrigé)")
    document = document_of(second)
    assert document.masked and document.held and not document.visible_to_patient
    assert not patient_sees(camille, document)
    documents.document_release(actor=dr_bernard, document_id=document.public_id)
    document.refresh_from_db()
    assert document.masked and document.visible_to_patient and not document.held  # her choice stands
    assert patient_sees(camille, document)


# --- Release ---------------------------------------------------------------------------------------------------


def test_the_author_releases_it_traced_and_the_patient_is_told_then_and_once(sign, camille, dr_bernard):
    document = document_of(sign())
    assert new_document_notes(camille.account) == []
    released = documents.document_make_visible(actor=dr_bernard, document_id=document.public_id)  # the API's verb
    assert released.visible_to_patient and not released.held
    assert released.released_by == dr_bernard and released.released_at is not None
    assert patient_sees(camille, document)
    notes = new_document_notes(camille.account)
    assert len(notes) == 1 and notes[0].document_id == document.pk and document.title in notes[0].message
    trace = AuditEvent.objects.get(action="release", object_id=str(document.public_id))
    assert trace.mode == "author" and trace.actor_id == dr_bernard.public_id
    with pytest.raises(AccessDenied) as again:
        documents.document_release(actor=dr_bernard, document_id=document.public_id)
    assert again.value.status == 409
    assert len(new_document_notes(camille.account)) == 1


def test_a_doctor_of_her_care_team_releases_it_without_access_to_her_dmp(sign, camille, dr_cardio):
    document = document_of(sign())
    with pytest.raises(AccessDenied):
        documents.document_open(actor=dr_cardio, document_id=document.public_id)  # no DMP access
    documents.document_release(actor=dr_cardio, document_id=document.public_id)
    assert AuditEvent.objects.get(action="release").mode == "care_team"
    assert patient_sees(camille, document)


def test_the_gp_releases_it_after_announcing_it_in_his_practice(sign, camille, dr_moreau):
    document = document_of(sign())
    documents.document_release(actor=dr_moreau, document_id=document.public_id)
    assert AuditEvent.objects.get(action="release").mode == "gp"
    assert patient_sees(camille, document)


def test_nobody_else_releases_it_not_from_consent_nor_emergency(
    sign, camille, camille_dmp, dr_garnier, inf_roux, dr_leroy
):
    document = document_of(sign())
    grant(camille_dmp, dr_garnier)  # reads it by consent: may not announce it
    with pytest.raises(AccessDenied) as refused:
        documents.document_make_visible(actor=dr_garnier, document_id=document.public_id)
    assert refused.value.status == 403 and "consultation d'annonce" in str(refused.value)
    emergency_doctor = professional(role="external_professional", username="dr.urgence")
    consent_emergency.emergency_access_open(actor=emergency_doctor, patient_id=camille.public_id, reason=REASON)
    with pytest.raises(AccessDenied) as refused:
        documents.document_release(actor=emergency_doctor, document_id=document.public_id)
    assert refused.value.status == 403
    # A nurse of her care team (not a doctor), a doctor outside it, the patient: the document is not theirs to see.
    for user in (inf_roux, dr_leroy, camille.account):
        with pytest.raises(AccessDenied) as refused:
            documents.document_release(actor=user, document_id=document.public_id)
        assert refused.value.status == 404
    document.refresh_from_db()
    assert document.held and new_document_notes(camille.account) == []
    assert AuditEvent.objects.filter(action="release", outcome="denied").count() == 5


def test_a_blocked_author_does_not_release_it(sign, camille, dr_bernard):
    document = document_of(sign())
    blocking.professional_block(actor=camille.account, rpps=dr_bernard.rpps)
    with pytest.raises(AccessDenied) as refused:
        documents.document_release(actor=dr_bernard, document_id=document.public_id)
    assert refused.value.code == "blocked"


def test_an_uploaded_invisible_document_is_still_released_as_before(camille, camille_dmp, dr_garnier, pdf_bytes):
    from .conftest import upload

    uploaded = documents.document_upload(
        actor=dr_garnier,
        patient_id=camille.public_id,
        uploaded=upload("r.pdf", pdf_bytes),
        title="Résultat",
        type_code=ReportType.LAB_REPORT,
        visible_to_patient=False,
    )
    assert not uploaded.held
    documents.document_make_visible(actor=dr_garnier, document_id=uploaded.public_id)
    assert AuditEvent.objects.filter(action="make_visible", outcome="allowed").count() == 1


def test_the_api_make_visible_follows_the_release_rule(api, sign, camille_dmp, dr_bernard, dr_garnier):
    document = document_of(sign())
    grant(camille_dmp, dr_garnier)
    url = f"/api/v1/dmp/documents/{document.public_id}/make-visible/"
    assert api.as_user(dr_garnier).post(url).status_code == 403
    response = api.as_user(dr_bernard).post(url)
    assert response.status_code == 200
    assert response.json()["visible_to_patient"] is True and response.json()["held"] is False
    assert api.as_user(dr_bernard).post(url).status_code == 409


# --- Reminders -------------------------------------------------------------------------------------------------


def test_the_author_is_reminded_once_after_the_setting_and_the_patient_never_hears_of_it(
    sign, camille, dr_bernard, settings
):
    settings.DMP_HOLD_REMINDER_DAYS = 7
    document = document_of(sign())
    young = document_of(sign(title="Échographie"))
    released = document_of(sign(title="Radiographie"))
    documents.document_release(actor=dr_bernard, document_id=released.public_id)
    eight_days_ago = timezone.now() - datetime.timedelta(days=8)
    SharedDocument.objects.filter(pk__in=[document.pk, released.pk]).update(created_at=eight_days_ago)
    SharedDocument.objects.filter(pk=young.pk).update(created_at=timezone.now() - datetime.timedelta(days=6))
    assert remind_held_reports() == 1  # the beat task
    assert held.held_reports_remind() == 0  # once per document
    note = Notification.objects.get(kind=NotificationKind.HOLD_REMINDER)
    assert note.recipient == dr_bernard and note.document_id == document.pk and "8 jours" in note.message
    assert AuditEvent.objects.filter(action="hold_reminder", object_id=str(document.public_id)).count() == 1
    document.refresh_from_db()
    assert document.hold_reminded_at is not None
    assert not Notification.objects.filter(recipient=camille.account, kind=NotificationKind.HOLD_REMINDER).exists()
    sentences = [e.sentence for d in history.access_history(actor=camille.account).days for e in d.entries]
    assert not any("rappel" in s for s in sentences)


def test_the_beat_schedule_runs_the_reminders_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dmp-hold-reminders"]
    assert entry["task"] == "dmp.tasks.remind_held_reports" and entry["schedule"] == 86400.0


# --- The clinicians' pages ---------------------------------------------------------------------------------------


def test_the_held_reports_of_a_unit_are_listed_with_their_age_to_who_may_release_them(
    client, sign, dr_bernard, dr_cardio, dr_leroy, camille
):
    document = document_of(sign())
    SharedDocument.objects.filter(pk=document.pk).update(created_at=timezone.now() - datetime.timedelta(days=9))
    for user in (dr_bernard, dr_cardio):
        client.force_login(user)
        page = client.get(reverse("dmp:held_reports")).content.decode()
        assert document.title in page and "9 jours" in page and camille.display_name in page
    client.force_login(dr_leroy)
    assert document.title not in client.get(reverse("dmp:held_reports")).content.decode()
    client.force_login(camille.account)
    assert client.get(reverse("dmp:held_reports")).status_code == 403
    assert AuditEvent.objects.filter(
        action="list", object_type="dmp_document", object_ids__contains=[str(document.public_id)]
    ).exists()


def test_release_from_the_held_list_page_goes_back_to_it(client, sign, dr_cardio, camille):
    document = document_of(sign())
    client.force_login(dr_cardio)
    response = client.post(reverse("dmp:document_make_visible", args=[document.public_id]), {"back": "held"})
    assert response.status_code == 302 and response["Location"] == reverse("dmp:held_reports")
    assert patient_sees(camille, document)


def test_the_record_page_shows_each_reports_feed_state_and_releases_a_held_one(
    client, sign, dr_bernard, camille, camille_stay
):
    held_report = sign()
    visible = sign(type_code=ReportType.DISCHARGE_LETTER, title="Lettre de liaison")
    client.force_login(dr_bernard)
    url = reverse("records:patient_record", args=[camille.public_id])
    page = client.get(url).content.decode()
    assert 'data-feed-state="held"' in page and 'data-feed-state="delivered"' in page
    assert "Rendre visible du patient" in page
    document = document_of(held_report)
    response = client.post(reverse("dmp:document_make_visible", args=[document.public_id]), {"back": "record"})
    assert response["Location"] == url
    page = client.get(url).content.decode()
    assert 'data-feed-state="released"' in page and 'data-feed-state="held"' not in page
    assert visible.public_id


def test_the_record_page_shows_waiting_for_identity_and_withdrawn(
    client, sign, dr_bernard, dr_moreau, camille, camille_stay
):
    withdrawn = document_of(sign(type_code=ReportType.DISCHARGE_LETTER, title="Lettre de liaison"))
    SharedDocument.objects.filter(pk=withdrawn.pk).update(
        status=DocumentStatus.WITHDRAWN, withdrawn_at=timezone.now(), withdrawal_reason=WithdrawalReason.WRONG_DOCUMENT
    )
    type(camille).objects.filter(pk=camille.pk).update(ins_status=InsStatus.VALIDATED, ins_retrieved_at=None)
    waiting = sign(type_code=ReportType.OPERATIVE_REPORT, title="Compte rendu opératoire")
    record = patients.record_open(actor=dr_bernard, patient_id=camille.public_id, feed_states=True)
    by_report = {pk: state.code for pk, state in record.feed_states.items()}
    assert by_report[waiting.pk] == states.State.WAITING_IDENTITY
    assert by_report[Report.objects.get(public_id=withdrawn.source_report_id).pk] == states.State.WITHDRAWN
    client.force_login(dr_bernard)
    page = client.get(reverse("records:patient_record", args=[camille.public_id])).content.decode()
    assert 'data-feed-state="waiting_identity"' in page and 'data-feed-state="withdrawn"' in page


def test_the_gp_reads_it_with_the_warning_and_the_release_button(client, sign, dr_moreau, dr_garnier, camille_dmp):
    document = document_of(sign())
    client.force_login(dr_moreau)
    page = client.get(reverse("dmp:document", args=[document.public_id])).content.decode()
    assert WARNING in page
    assert "En attente de la consultation d" in page and 'id="release"' in page
    grant(camille_dmp, dr_garnier)
    client.force_login(dr_garnier)
    page = client.get(reverse("dmp:document", args=[document.public_id])).content.decode()
    assert WARNING in page and 'id="release"' not in page


def test_the_sign_page_offers_the_choice_with_the_types_default(client, dr_bernard, draft_report, camille_dmp):
    client.force_login(dr_bernard)
    page = client.get(reverse("records:report_detail", args=[draft_report.public_id])).content.decode()
    assert 'id="hold-yes" value="yes" checked' in page  # imaging: after the announcement first
    client.post(reverse("records:report_sign", args=[draft_report.public_id]), {"hold_from_patient": "no"})
    draft_report.refresh_from_db()
    assert draft_report.is_signed and draft_report.hold_from_patient is False


def test_the_api_sign_takes_the_choice(api, dr_bernard, draft_report, camille_dmp):
    url = f"/api/v1/reports/{draft_report.public_id}/sign/"
    response = api.as_user(dr_bernard).post(url, {"hold_from_patient": False}, format="json")
    assert response.status_code == 200 and response.json()["hold_from_patient"] is False


def test_the_api_sign_without_a_body_takes_the_types_default(api, dr_bernard, draft_report, camille_dmp):
    response = api.as_user(dr_bernard).post(f"/api/v1/reports/{draft_report.public_id}/sign/")
    assert response.status_code == 200 and response.json()["hold_from_patient"] is True


def test_a_concurrent_second_release_finds_it_released(sign, dr_bernard, dr_moreau, camille):
    document = document_of(sign())
    documents.document_release(actor=dr_moreau, document_id=document.public_id)
    with pytest.raises((AccessDenied, Conflict)):
        documents.document_release(actor=dr_bernard, document_id=document.public_id)
    assert len(new_document_notes(camille.account)) == 1


def test_the_record_pages_feed_states_cost_the_same_whatever_the_number_of_held_reports(
    client, sign, dr_bernard, camille
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        url = reverse("records:patient_record", args=[camille.public_id])
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    client.force_login(dr_bernard)
    sign()
    small = count()
    for i in range(5):
        sign(title=f"Scanner n°{i}")
        sign(type_code=ReportType.DISCHARGE_LETTER, title=f"Lettre n°{i}")
    assert count() == small
