"""Withdrawal of a fed document and the patient's objection (issue 19, point 2; docs/domain.md, "Withdrawal and objection")."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, InvalidInput
from dmp import access
from dmp.constants import DocumentStatus, NotificationKind, ObjectionStatus, WithdrawalReason
from dmp.feed import delivery
from dmp.models import DocumentObjection, FeedItem, Notification, SharedDocument
from dmp.services import documents, history, notifications, professionals, records
from dmp.services import withdrawal as service
from fhir import services as fhir_services
from records.constants import ReportStatus, ReportType
from records.models import IdentityIncident
from records.services import incidents
from records.services import reports as reports_service
from tests.factories import ReportFactory, StayFactory, professional

from .conftest import MINIMAL_PDF, grant

pytestmark = pytest.mark.django_db


def withdraw(actor, document, reason=WithdrawalReason.WRONG_DOCUMENT, note="Mauvais fichier joint."):
    return service.document_withdraw(actor=actor, document_id=document.public_id, reason=reason, note=note)


def listed(actor, patient, **kwargs):
    return {
        d.public_id for d in documents.documents_list(actor=actor, patient_id=patient.public_id, **kwargs).documents
    }


@pytest.fixture
def dr_petit(cardiology):
    """Another doctor of Cardiologie: Camille's care team (her stay was discharged 5 days ago)."""
    return professional(units=[cardiology], username="dr.petit", first_name="Anne", last_name="Petit")


# --- Out of every read channel ---------------------------------------------------------------------------------


def test_a_withdrawn_document_leaves_every_read_channel_for_everybody(
    camille, camille_dmp, dr_bernard, dr_moreau, dr_garnier, fed_letter
):
    grant(camille_dmp, dr_garnier)
    readers = [camille.account, dr_moreau, dr_garnier]
    for reader in readers:
        assert fed_letter.public_id in listed(reader, camille)
    withdraw(dr_bernard, fed_letter)
    for reader in readers + [dr_bernard]:
        if access.record_decision(reader, camille_dmp).allowed:
            page = documents.documents_list(actor=reader, patient_id=camille.public_id, include_superseded=True)
            assert fed_letter.public_id not in {d.public_id for d in page.documents} and page.total == 0
            search, _stays = fhir_services.document_search(
                actor=reader, patient_id=camille.public_id, current_only=False, page=1, page_size=50
            )
            assert search.total == 0
        for read in (documents.document_open, documents.document_content, fhir_services.document_read):
            with pytest.raises(AccessDenied) as refused:
                read(actor=reader, document_id=fed_letter.public_id)
            assert refused.value.status == 404
    assert fed_letter.public_id not in {d.public_id for d in professionals.gp_dashboard(actor=dr_moreau)}
    # Kept for the DPO and the traces: the row stays, with who, when and why.
    kept = SharedDocument.objects.get(pk=fed_letter.pk)
    assert kept.status == DocumentStatus.WITHDRAWN and kept.withdrawn_by == dr_bernard
    assert (
        kept.withdrawal_reason == WithdrawalReason.WRONG_DOCUMENT and kept.withdrawal_note == "Mauvais fichier joint."
    )
    trace = AuditEvent.objects.get(action="withdraw", object_id=str(fed_letter.public_id))
    assert trace.outcome == "allowed" and trace.mode == "author"


def test_every_version_is_withdrawn_and_an_amendment_does_not_revive_it(camille, camille_dmp, dr_bernard, fed_letter):
    report = fed_letter.source_report_id
    signed = reports_service.report_sign
    draft = reports_service.report_amend(actor=dr_bernard, report_id=report, title=None, body="Version 2.")
    v2_report = signed(actor=dr_bernard, report_id=draft.public_id)
    delivery.feed_deliver_pending()
    v2 = SharedDocument.objects.get(source_report_id=v2_report.public_id)
    withdraw(dr_bernard, v2)
    assert set(SharedDocument.objects.filter(lineage=v2.lineage).values_list("status", flat=True)) == {"withdrawn"}
    assert listed(camille.account, camille, include_superseded=True) == set()
    # A later version is filed on its own: the withdrawn ones stay withdrawn (not "superseded", which lists them).
    draft = reports_service.report_amend(actor=dr_bernard, report_id=v2_report.public_id, title=None, body="V3.")
    v3_report = signed(actor=dr_bernard, report_id=draft.public_id)
    delivery.feed_deliver_pending()
    v3 = SharedDocument.objects.get(source_report_id=v3_report.public_id)
    assert listed(camille.account, camille, include_superseded=True) == {v3.public_id}
    assert SharedDocument.objects.get(pk=v2.pk).status == DocumentStatus.WITHDRAWN


def test_history_does_not_name_a_withdrawn_document(camille, camille_dmp, dr_bernard, dr_moreau, fed_letter):
    documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    before = history.access_history(actor=camille.account)
    assert fed_letter.title in " ".join(e.sentence for day in before.days for e in day.entries)
    withdraw(dr_bernard, fed_letter)
    for reader in (camille.account, dr_moreau):
        page = history.access_history(actor=reader, patient_id=camille.public_id)
        said = " ".join(e.sentence for day in page.days for e in day.entries)
        assert fed_letter.title not in said and "a retiré un document de votre DMP" in said


# --- Notifications ---------------------------------------------------------------------------------------------


def test_notifications_already_sent_stop_naming_it_and_both_are_told_without_title(
    camille, camille_dmp, dr_bernard, dr_moreau, fed_letter
):
    assert Notification.objects.filter(document=fed_letter).count() == 2  # the patient and her GP
    withdraw(dr_bernard, fed_letter)
    for recipient in (camille.account, dr_moreau):
        inbox = notifications.notifications_page(actor=recipient).items
        assert all(fed_letter.title not in n.message and n.document is None for n in inbox)
        told = [n for n in inbox if n.kind == NotificationKind.WITHDRAWAL]
        assert len(told) == 1 and "retiré" in told[0].message
    assert not Notification.objects.filter(document=fed_letter).exists()


# --- Who withdraws -----------------------------------------------------------------------------------------------


def test_a_care_team_doctor_withdraws_without_dmp_access(camille, camille_dmp, dr_petit, fed_letter):
    assert not access.record_decision(dr_petit, camille_dmp).allowed
    document = withdraw(dr_petit, fed_letter)
    assert document.status == DocumentStatus.WITHDRAWN
    assert AuditEvent.objects.get(action="withdraw").mode == "care_team"


def test_others_may_not_withdraw(camille, camille_dmp, dr_garnier, dr_leroy, inf_roux, dr_moreau, fed_letter):
    grant(camille_dmp, dr_garnier)
    # Those who read it are told why (403); those who do not (a nurse of the unit without DMP access) learn nothing.
    for who, status in [(dr_garnier, 403), (dr_moreau, 403), (camille.account, 403), (dr_leroy, 404), (inf_roux, 404)]:
        with pytest.raises(AccessDenied) as refused:
            withdraw(who, fed_letter)
        assert refused.value.status == status, who
    assert AuditEvent.objects.filter(action="withdraw", outcome="denied").count() == 5
    assert SharedDocument.objects.get(pk=fed_letter.pk).status == DocumentStatus.CURRENT


def test_a_professionals_upload_is_not_withdrawn_here(camille, camille_dmp, dr_moreau):
    from django.core.files.base import ContentFile

    upload = documents.document_upload(
        actor=dr_moreau,
        patient_id=camille.public_id,
        uploaded=ContentFile(MINIMAL_PDF, name="x.pdf"),
        title="Ordonnance",
        type_code="57833-6",
    )
    with pytest.raises(AccessDenied) as refused:
        withdraw(dr_moreau, upload)
    assert refused.value.status == 403


def test_reason_and_note_are_checked(dr_bernard, fed_letter):
    for reason in ("", "archived", WithdrawalReason.PATIENT_OBJECTION):
        with pytest.raises(InvalidInput):
            withdraw(dr_bernard, fed_letter, reason=reason)
    with pytest.raises(InvalidInput):
        withdraw(dr_bernard, fed_letter, note="  ")
    withdraw(dr_bernard, fed_letter)
    with pytest.raises(AccessDenied) as again:
        withdraw(dr_bernard, fed_letter)
    assert again.value.status == 409


# --- Wrong patient: the identity-vigilance incident, and signing again on the right patient ---------------------


def test_wrong_patient_records_an_incident_the_dpo_sees(camille, dr_bernard, dpo, fed_letter):
    withdraw(dr_bernard, fed_letter, reason=WithdrawalReason.WRONG_PATIENT, note="Homonyme : autre Camille Martin.")
    incident = IdentityIncident.objects.get()
    assert incident.patient == camille and incident.reported_by == dr_bernard
    assert incident.document_id == fed_letter.public_id and incident.report.public_id == fed_letter.source_report_id
    assert AuditEvent.objects.filter(action="create", object_type="identity_incident").count() == 1
    assert incidents.identity_incidents(actor=dpo) == [incident]
    assert AuditEvent.objects.filter(action="list", object_type="identity_incident", actor_role="dpo").exists()
    with pytest.raises(AccessDenied):
        incidents.identity_incidents(actor=dr_bernard)


def test_wrong_document_records_no_incident(dr_bernard, fed_letter):
    withdraw(dr_bernard, fed_letter)
    assert not IdentityIncident.objects.exists()


def test_the_report_is_signed_again_on_the_right_patient(
    camille, camille_dmp, other_patient, cardiology, dr_bernard, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    draft = ReportFactory(
        stay=StayFactory(patient=camille, unit=cardiology),
        author=dr_bernard,
        type_code=ReportType.DISCHARGE_LETTER,
        title="Lettre de liaison",
        body="Compte rendu de Jules.",
        status=ReportStatus.DRAFT,
        signed_at=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        wrong = reports_service.report_sign(actor=dr_bernard, report_id=draft.public_id)
    filed = SharedDocument.objects.get(source_report_id=wrong.public_id)
    withdraw(dr_bernard, filed, reason=WithdrawalReason.WRONG_PATIENT, note="Écrit dans le dossier de Camille.")
    # Written and signed again on Jules's stay: its own feed item, its own document in Jules's DMP.
    records.shared_record_for(other_patient)
    again = ReportFactory(
        stay=StayFactory(patient=other_patient, unit=cardiology),
        author=dr_bernard,
        type_code=ReportType.DISCHARGE_LETTER,
        title="Lettre de liaison",
        body=wrong.body,
        status=ReportStatus.DRAFT,
        signed_at=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        right = reports_service.report_sign(actor=dr_bernard, report_id=again.public_id)
    assert FeedItem.objects.get(report=right).status == "delivered"
    document = SharedDocument.objects.get(source_report_id=right.public_id)
    assert document.record.patient == other_patient and document.status == DocumentStatus.CURRENT
    assert fed_ids(other_patient) == {document.public_id}


def fed_ids(patient):
    return {d.public_id for d in access.documents_visible_to(patient.account, patient)}


# --- The patient's objection (CSP R.1111-47) ----------------------------------------------------------------------


def object_to(camille, document, reason="Ce compte rendu mentionne une IVG que je ne veux pas voir partagée."):
    return service.objection_create(actor=camille.account, document_id=document.public_id, reason=reason)


def test_the_objection_goes_to_the_authors_unit_and_a_declined_one_is_answered(
    camille, dr_bernard, dr_petit, dr_leroy, cardiology, fed_letter
):
    objection = object_to(camille, fed_letter)
    assert objection.unit == cardiology and objection.status == ObjectionStatus.OPEN
    assert [o.pk for o in service.objections_to_answer(actor=dr_petit)] == [objection.pk]
    assert service.objections_to_answer(actor=dr_leroy) == []
    with pytest.raises(AccessDenied) as refused:
        service.objection_answer(actor=dr_leroy, objection_id=objection.public_id, uphold=True)
    assert refused.value.status == 404
    with pytest.raises(InvalidInput):
        service.objection_answer(actor=dr_petit, objection_id=objection.public_id, uphold=False, answer="")
    answered = service.objection_answer(
        actor=dr_petit, objection_id=objection.public_id, uphold=False, answer="Document nécessaire à votre suivi."
    )
    assert answered.status == ObjectionStatus.DECLINED and answered.answered_by == dr_petit
    assert SharedDocument.objects.get(pk=fed_letter.pk).status == DocumentStatus.CURRENT
    told = Notification.objects.get(recipient=camille.account, kind=NotificationKind.OBJECTION)
    assert "reste" in told.message
    mine = service.my_objections(actor=camille.account, record=fed_letter.record)
    assert mine[0].answer == "Document nécessaire à votre suivi." and mine[0].title_shown == fed_letter.title
    actions = set(AuditEvent.objects.filter(object_type="dmp_objection").values_list("action", flat=True))
    assert {"objection_create", "objection_decline", "list"} <= actions
    with pytest.raises(AccessDenied) as again:
        service.objection_answer(actor=dr_petit, objection_id=objection.public_id, uphold=True)
    assert again.value.status == 409


def test_an_upheld_objection_withdraws_the_document(camille, dr_bernard, fed_letter):
    objection = object_to(camille, fed_letter)
    with pytest.raises(AccessDenied) as twice:
        object_to(camille, fed_letter)
    assert twice.value.status == 409
    service.objection_answer(actor=dr_bernard, objection_id=objection.public_id, uphold=True)
    document = SharedDocument.objects.get(pk=fed_letter.pk)
    assert document.status == DocumentStatus.WITHDRAWN
    assert document.withdrawal_reason == WithdrawalReason.PATIENT_OBJECTION
    assert listed(camille.account, camille) == set()
    kinds = set(Notification.objects.filter(recipient=camille.account).values_list("kind", flat=True))
    assert {NotificationKind.OBJECTION, NotificationKind.WITHDRAWAL} <= kinds
    mine = service.my_objections(actor=camille.account, record=fed_letter.record)
    assert mine[0].status == ObjectionStatus.UPHELD and mine[0].title_shown == ""
    assert AuditEvent.objects.filter(action="objection_uphold").exists()
    assert AuditEvent.objects.filter(action="withdraw", reason=WithdrawalReason.PATIENT_OBJECTION).exists()


def test_only_the_patient_objects_and_only_to_chu_documents(camille, camille_dmp, dr_moreau, other_patient, fed_letter):
    for who, status in [(dr_moreau, 403), (other_patient.account, 404)]:
        with pytest.raises(AccessDenied) as refused:
            object_to(type("P", (), {"account": who})(), fed_letter)
        assert refused.value.status == status
    from django.core.files.base import ContentFile

    upload = documents.document_upload(
        actor=dr_moreau,
        patient_id=camille.public_id,
        uploaded=ContentFile(MINIMAL_PDF, name="x.pdf"),
        title="Ordonnance",
        type_code="57833-6",
    )
    with pytest.raises(AccessDenied) as refused:
        object_to(camille, upload)
    assert refused.value.status == 403


# --- API and pages -------------------------------------------------------------------------------------------------


def test_api_withdraw_and_objection(api, camille, dr_bernard, fed_letter, operative_report):
    url = reverse("api:dmp-document-withdraw", kwargs={"document_id": fed_letter.public_id})
    bad = api.as_user(dr_bernard).post(url, {"reason": "nope", "note": "x"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    done = api.post(url, {"reason": "wrong_patient", "note": "Mauvais patient."}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "withdrawn"
    assert done.json()["withdrawal_reason"] == "wrong_patient"
    api.credentials()
    objection = api.as_user(camille.account).post(
        reverse("api:dmp-document-objection", kwargs={"document_id": operative_report.public_id}),
        {"reason": "Motif légitime."},
        format="json",
    )
    assert objection.status_code == 201 and objection.json()["status"] == "open"
    mine = api.get(reverse("api:dmp-objections", kwargs={"patient_id": camille.public_id}))
    assert mine.json()["count"] == 1
    api.credentials()
    inbox = api.as_user(dr_bernard).get(reverse("api:objections"))
    assert inbox.json()["count"] == 1
    answer = api.post(
        reverse("api:objection-answer", kwargs={"objection_id": objection.json()["id"]}),
        {"uphold": False, "answer": "Nécessaire."},
        format="json",
    )
    assert answer.status_code == 200 and answer.json()["status"] == "declined"


def test_withdraw_page_has_a_confirmation_step(client, camille, dr_bernard, fed_letter):
    client.force_login(dr_bernard)
    url = reverse("dmp:document_withdraw", kwargs={"document_id": fed_letter.public_id})
    page = client.get(url)
    assert page.status_code == 200 and fed_letter.title in page.content.decode()
    review = client.post(url, {"reason": "wrong_document", "note": "Mauvais fichier."})
    assert review.status_code == 200 and 'name="confirmed"' in review.content.decode()
    assert SharedDocument.objects.get(pk=fed_letter.pk).status == DocumentStatus.CURRENT
    done = client.post(url, {"reason": "wrong_document", "note": "Mauvais fichier.", "confirmed": "1"})
    assert done.status_code == 302
    assert SharedDocument.objects.get(pk=fed_letter.pk).status == DocumentStatus.WITHDRAWN
    from_record = client.get(reverse("dmp:report_withdraw", kwargs={"report_id": fed_letter.source_report_id}))
    assert from_record.status_code == 409


def test_objection_pages(client, camille, dr_bernard, fed_letter):
    client.force_login(camille.account)
    url = reverse("dmp:document_objection", kwargs={"document_id": fed_letter.public_id})
    assert "R. 1111-47" in client.get(url).content.decode()
    review = client.post(url, {"reason": "Motif légitime."})
    assert 'name="confirmed"' in review.content.decode() and not DocumentObjection.objects.exists()
    assert client.post(url, {"reason": "Motif légitime.", "confirmed": "1"}).status_code == 302
    objection = DocumentObjection.objects.get()
    client.force_login(dr_bernard)
    assert "Motif légitime." in client.get(reverse("dmp:pro_objections")).content.decode()
    answer_url = reverse("dmp:pro_objection_answer", kwargs={"objection_id": objection.public_id})
    assert client.post(answer_url, {"decision": "uphold", "answer": "", "confirmed": "1"}).status_code == 302
    assert SharedDocument.objects.get(pk=fed_letter.pk).status == DocumentStatus.WITHDRAWN
    client.force_login(camille.account)
    body = client.get(reverse("dmp:objections")).content.decode()
    assert "Document retiré de votre DMP" in body and fed_letter.title not in body


def test_dpo_incident_page(client, dpo, dr_bernard, fed_letter):
    withdraw(dr_bernard, fed_letter, reason=WithdrawalReason.WRONG_PATIENT, note="Homonyme.")
    client.force_login(dpo)
    assert "Homonyme." in client.get(reverse("records:identity_incidents")).content.decode()
    client.force_login(dr_bernard)
    assert client.get(reverse("records:identity_incidents")).status_code == 403


def test_conflict_is_raised_for_an_answered_objection_when_answering_concurrently(camille, dr_bernard, fed_letter):
    objection = object_to(camille, fed_letter)
    DocumentObjection.objects.filter(pk=objection.pk).update(
        status=ObjectionStatus.DECLINED, answer="x", answered_by=dr_bernard, answered_at=timezone.now()
    )
    with pytest.raises((AccessDenied, Conflict)):
        service.objection_answer(actor=dr_bernard, objection_id=objection.public_id, uphold=True)


def test_recent_stay_window_bounds_the_care_team(camille, camille_stay, dr_petit, fed_letter, settings):
    camille_stay.admitted_at = timezone.now() - datetime.timedelta(days=settings.RECORDS_RECENT_STAY_DAYS + 10)
    camille_stay.discharged_at = timezone.now() - datetime.timedelta(days=settings.RECORDS_RECENT_STAY_DAYS + 1)
    camille_stay.save(update_fields=["admitted_at", "discharged_at"])
    with pytest.raises(AccessDenied) as refused:
        withdraw(dr_petit, fed_letter)
    assert refused.value.status == 404


def test_the_record_page_offers_the_withdrawal_of_a_signed_report(client, dr_bernard, fed_letter):
    client.force_login(dr_bernard)
    page = client.get(reverse("records:report_detail", kwargs={"report_id": fed_letter.source_report_id}))
    target = reverse("dmp:report_withdraw", kwargs={"report_id": fed_letter.source_report_id})
    assert target in page.content.decode()
    assert fed_letter.title in client.get(target).content.decode()


def test_nobody_is_told_of_a_withdrawal_in_a_closed_dmp(camille, camille_dmp, dr_bernard, fed_letter):
    camille_dmp.status = "closed"
    camille_dmp.save(update_fields=["status"])
    withdraw(dr_bernard, fed_letter)
    assert not Notification.objects.filter(kind=NotificationKind.WITHDRAWAL).exists()
    assert SharedDocument.objects.get(pk=fed_letter.pk).status == DocumentStatus.WITHDRAWN
