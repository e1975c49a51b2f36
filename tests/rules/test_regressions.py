"""Issue 16's holes and wrong rules as plain sequences of service calls (the rules machine's counter-examples, shrunk).

Each test failed on the code before issue 16 (checked: every one failed there, for the reason its comment names)
and passes with the fixes.
"""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from chu_portal.errors import AccessDenied, Conflict, InvalidInput, ServiceError
from dmp.consent import blocking, emergency, grants, requests
from dmp.constants import NotificationKind
from dmp.models import Notification, SharedDocument
from dmp.services import documents, history, profile, record_settings
from fhir import services as fhir_services
from records.models import OpinionRequest
from records.services import care, patients, reports
from records.services import emergency as records_emergency
from tests.dmp.conftest import MINIMAL_PDF, grant, upload

pytestmark = pytest.mark.django_db

REASON = "Patiente inconsciente, urgence vitale"


def amend_and_file(report, author):
    """The author amends a signed report and signs the new version; the CHU files it (as the feed does)."""
    draft = reports.report_amend(actor=author, report_id=report.public_id, title=None, body="Version corrigée.")
    signed = reports.report_sign(actor=author, report_id=draft.public_id)
    return documents.chu_document_file(report=signed, content=MINIMAL_PDF)


def listed(actor, patient, **kwargs):
    page = documents.documents_list(actor=actor, patient_id=patient.public_id, **kwargs)
    return {d.public_id for d in page.documents}, page


# --- Holes ----------------------------------------------------------------------------------------------------------


# issue 16 hole: a mask covers only the current version
def test_masking_the_current_version_hides_the_older_ones(
    camille, camille_dmp, fed_letter, discharge_letter, dr_bernard, dr_garnier
):
    grant(camille_dmp, dr_garnier)
    v2 = amend_and_file(discharge_letter, dr_bernard)
    documents.document_mask(actor=camille.account, document_id=v2.public_id)

    ids, page = listed(dr_garnier, camille, include_superseded=True)
    assert fed_letter.public_id not in ids and page.total == len(ids)
    with pytest.raises(AccessDenied):
        documents.document_content(actor=dr_garnier, document_id=fed_letter.public_id)
    search, _stays = fhir_services.document_search(
        actor=dr_garnier, patient_id=camille.public_id, current_only=False, page=1, page_size=50
    )
    assert fed_letter.public_id not in {d.public_id for d in search.documents}


def test_unmasking_shows_every_version_again(
    camille, camille_dmp, fed_letter, discharge_letter, dr_bernard, dr_garnier
):
    grant(camille_dmp, dr_garnier)
    v2 = amend_and_file(discharge_letter, dr_bernard)
    documents.document_mask(actor=camille.account, document_id=v2.public_id)
    documents.document_unmask(actor=camille.account, document_id=v2.public_id)

    ids, _page = listed(dr_garnier, camille, include_superseded=True)
    assert {fed_letter.public_id, v2.public_id} <= ids


# issue 16 hole: an emergency window lets a doctor send an opinion request that outlives it
def test_no_opinion_request_from_emergency_mode(camille, camille_stay, dr_leroy):
    records_emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    with pytest.raises(AccessDenied):
        care.opinion_request_create(
            actor=dr_leroy, stay_id=camille_stay.public_id, question="Avis orthopédique ?", consulted_unit_code="ORTHO"
        )


# issue 16 hole: an opinion request may consult the requester's own unit
def test_no_opinion_request_to_ones_own_unit(camille_stay, dr_bernard):
    with pytest.raises(InvalidInput):
        care.opinion_request_create(
            actor=dr_bernard,
            stay_id=camille_stay.public_id,
            question="Avis de cardiologie ?",
            consulted_unit_code="CARDIO",
        )


# issue 16 hole: an emergency user can transfer an open stay into his own unit
def test_no_transfer_from_emergency_mode(camille, open_stay, inf_roux):
    records_emergency.emergency_access_grant(actor=inf_roux, patient_id=camille.public_id, reason=REASON)
    with pytest.raises(AccessDenied):
        care.stay_transfer(actor=inf_roux, stay_id=open_stay.public_id, unit_code="CARDIO")


# issue 16 hole: open opinion requests never expire
def test_an_open_opinion_request_expires(camille, camille_stay, dr_bernard, dr_leroy):
    opinion = care.opinion_request_create(
        actor=dr_bernard, stay_id=camille_stay.public_id, question="Avis orthopédique ?", consulted_username="dr.leroy"
    )
    max_days = getattr(settings, "OPINION_MAX_DAYS", 14)
    aged = timezone.now() - datetime.timedelta(days=max_days, hours=settings.OPINION_GRACE_HOURS + 1)
    OpinionRequest.objects.filter(pk=opinion.pk).update(created_at=aged)  # time passes
    with pytest.raises(AccessDenied):
        patients.record_open(actor=dr_leroy, patient_id=camille.public_id)


# issue 16 hole: filing a document opens the patient's identity (FHIR Patient) and a list
def test_authorship_opens_no_identity(camille, camille_dmp, dr_garnier):
    # The machine's shrunk example: professional_upload(who='dr.garnier', visible=False), then FHIR Patient.
    mine = documents.document_upload(
        actor=dr_garnier,
        patient_id=camille.public_id,
        uploaded=upload("cr.pdf", MINIMAL_PDF),
        title="Compte rendu de consultation",
        type_code="11490-0",
        visible_to_patient=False,
    )
    documents.document_open(actor=dr_garnier, document_id=mine.public_id)  # he reads back what he filed
    with pytest.raises(AccessDenied):
        fhir_services.patient_read(actor=dr_garnier, patient_id=camille.public_id)
    with pytest.raises(AccessDenied):
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)


# issue 16 hole: the patient can block her GP (who then still gets notifications)
def test_the_gp_cannot_be_blocked(camille, camille_dmp, dr_moreau, dr_garnier):
    with pytest.raises(Conflict):
        blocking.professional_block(actor=camille.account, rpps=dr_moreau.professional_profile.rpps)
    documents.document_upload(
        actor=dr_garnier,
        patient_id=camille.public_id,
        uploaded=upload("cr.pdf", MINIMAL_PDF),
        title="Bilan",
        type_code="11490-0",
    )
    assert Notification.objects.filter(recipient=dr_moreau, kind=NotificationKind.NEW_DOCUMENT).exists()


# --- Wrong rules ------------------------------------------------------------------------------------------------------


# issue 16 hole: care-team consent (R.1111-46): the cardiology nurse is refused after Camille authorised her cardiologist
def test_consent_to_the_cardiologist_covers_the_cardiology_nurse(
    camille, camille_dmp, camille_stay, fed_letter, dr_bernard, inf_roux
):
    given = grant(camille_dmp, dr_bernard)
    ids, page = listed(inf_roux, camille)
    assert page.decision.mode == "team_consent" and fed_letter.public_id in ids
    grants.grant_revoke(actor=camille.account, grant_id=given.public_id)
    with pytest.raises(AccessDenied):
        documents.documents_list(actor=inf_roux, patient_id=camille.public_id)


# issue 16 hole: typing an RPPS makes a doctor the GP at once (L.1111-16: he must accept)
def test_typing_an_rpps_gives_no_gp_rights(camille, camille_dmp, fed_letter, dr_garnier):
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    try:
        record_settings.record_settings_update(actor=camille.account, gp=dr_garnier.professional_profile.rpps)
    except ServiceError:
        pass  # the setting may be gone: designations replace it
    with pytest.raises(AccessDenied):
        documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)


# issue 16 hole: the GP is not told of emergency accesses (R.1111-48)
def test_the_gp_is_told_of_an_emergency_access(camille, camille_dmp, dr_moreau, dr_garnier):
    emergency.emergency_access_open(actor=dr_garnier, patient_id=camille.public_id, reason=REASON)
    assert Notification.objects.filter(recipient=dr_moreau, kind=NotificationKind.EMERGENCY_ACCESS).exists()


# issue 16 hole: the GP cannot read the DMP's access history (R.1111-43)
def test_the_gp_reads_the_access_history(camille, camille_dmp, dr_moreau):
    history.access_history(actor=dr_moreau, patient_id=camille.public_id)


# issue 16 hole: a medical secretary can ask for consent
def test_a_secretary_cannot_ask_consent(camille, camille_dmp, sec_blanc):
    with pytest.raises(AccessDenied):
        requests.consent_request_create(
            actor=sec_blanc, patient_id=camille.public_id, purpose="Prise de rendez-vous", duration_days=30
        )


# issue 16 hole: a medical secretary can attest in-person consent
def test_a_secretary_cannot_attest_in_person_consent(camille, camille_dmp, sec_blanc):
    with pytest.raises(AccessDenied):
        grants.consent_in_person_record(
            actor=sec_blanc, patient_id=camille.public_id, purpose="Consultation", patient_present=True
        )


# issue 16 hole: a medical secretary can break the glass and then reads the medical profile
def test_a_secretary_cannot_break_the_glass(camille, camille_dmp, sec_blanc):
    with pytest.raises(AccessDenied):
        emergency.emergency_access_open(actor=sec_blanc, patient_id=camille.public_id, reason=REASON)
    with pytest.raises(AccessDenied):
        profile.profile_list(actor=sec_blanc, patient_id=camille.public_id)


# issue 16 hole: the medical profile ignores the access matrix
def test_the_profile_follows_the_matrix(camille, camille_dmp, ph_fournier):
    for kind, label in [("allergy", "Pénicilline"), ("history", "Appendicectomie"), ("treatment", "Apixaban")]:
        profile.profile_add(actor=camille.account, kind=kind, label=label)
    grant(camille_dmp, ph_fournier)
    _record, entries = profile.profile_list(actor=ph_fournier, patient_id=camille.public_id)
    assert {e.kind for e in entries} == {"allergy", "treatment"}


# issue 16 hole: the patient is told of a new professional reading her DMP only for in-person consents
def test_the_patient_is_told_of_a_new_reader(camille, camille_dmp, fed_letter, dr_garnier):
    asked = requests.consent_request_create(
        actor=dr_garnier, patient_id=camille.public_id, purpose="Suivi cardiologique", duration_days=30
    )
    requests.consent_request_approve(actor=camille.account, request_id=asked.public_id)
    before = Notification.objects.filter(recipient=camille.account, kind=NotificationKind.NEW_ACCESS).count()
    documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    after = Notification.objects.filter(recipient=camille.account, kind=NotificationKind.NEW_ACCESS).count()
    assert after == before + 1  # the first read only


# issue 16 hole: there is no API for notifications
def test_notifications_api(api, camille, camille_dmp, fed_letter):
    response = api.as_user(camille.account).get("/api/v1/notifications/")
    assert response.status_code == 200
    assert fed_letter.title in response.content.decode()


# issue 16 hole: a secretary files documents in a DMP (she can do nothing on the DMP)
def test_a_secretary_files_nothing(camille, camille_dmp, sec_blanc):
    with pytest.raises(AccessDenied):
        documents.document_upload(
            actor=sec_blanc,
            patient_id=camille.public_id,
            uploaded=upload("cr.pdf", MINIMAL_PDF),
            title="Courrier",
            type_code="34133-9",
        )
    assert not SharedDocument.objects.filter(author=sec_blanc).exists()


# --- Issue 19: the DMP's life -------------------------------------------------------------------------------------


# issue 19 hole: a closed DMP stayed readable by its holder (every channel), and its accesses came back on reopening
def test_a_closed_dmp_is_read_by_nobody_and_reopening_restores_the_content_not_the_accesses(
    camille, camille_dmp, fed_letter, dr_leroy, dr_garnier
):
    from dmp.constants import RecordStatus

    grant(camille_dmp, dr_garnier)
    emergency.emergency_access_open(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    me = camille.account
    for read in (
        lambda: documents.documents_list(actor=me, patient_id=camille.public_id),
        lambda: documents.document_content(actor=me, document_id=fed_letter.public_id),
        lambda: fhir_services.patient_read(actor=me, patient_id=camille.public_id),
        lambda: fhir_services.document_read(actor=me, document_id=fed_letter.public_id),
        lambda: profile.profile_list(actor=me, patient_id=camille.public_id),
    ):
        with pytest.raises(AccessDenied) as refused:
            read()
        assert refused.value.code == "dmp_closed"
    history.access_history(actor=me, patient_id=camille.public_id)  # the traces stay hers
    record_settings.record_settings_update(actor=me, status=RecordStatus.ACTIVE)
    ids, _page = listed(me, camille)
    assert ids == {fed_letter.public_id}
    for professional in (dr_garnier, dr_leroy):
        with pytest.raises(AccessDenied) as refused:
            documents.documents_list(actor=professional, patient_id=camille.public_id)
        assert refused.value.code == "forbidden"


# --- Issue 19: held reports ------------------------------------------------------------------------------------------


# issue 19 (found by the machine): a version visible to the patient named, in `replaces` / FHIR `relatesTo`, the held
# version it replaced, which she may not see
def test_the_patient_never_learns_of_a_held_version_through_the_one_that_replaced_it(
    api, camille, camille_dmp, camille_stay, dr_bernard, dr_moreau
):
    from tests.factories import ReportFactory

    held_report = ReportFactory(stay=camille_stay, author=dr_bernard, type_code="18748-4", hold_from_patient=True)
    held_version = documents.chu_document_file(report=held_report, content=MINIMAL_PDF)
    draft = reports.report_amend(actor=dr_bernard, report_id=held_report.public_id, title=None, body="Corrigé.")
    visible = documents.chu_document_file(
        report=reports.report_sign(actor=dr_bernard, report_id=draft.public_id, hold_from_patient=False),
        content=MINIMAL_PDF,
    )
    assert held_version.held and visible.visible_to_patient
    ids, page = listed(camille.account, camille, include_superseded=True)
    assert ids == {visible.public_id} and page.documents[0].replaces_id is None
    opened, _decision = documents.document_open(actor=camille.account, document_id=visible.public_id)
    assert opened.replaces_id is None
    hidden = str(held_version.public_id)
    api.as_user(camille.account)
    for url in (
        f"/api/v1/dmp/{camille.public_id}/documents/?include_superseded=true",
        f"/api/v1/dmp/documents/{visible.public_id}/",
        f"/fhir/DocumentReference?patient={camille.public_id}",
        f"/fhir/DocumentReference/{visible.public_id}",
    ):
        response = api.get(url)
        assert response.status_code == 200 and hidden not in response.content.decode(), url
    # The GP reads both, linked.
    gp_ids, gp_page = listed(dr_moreau, camille, include_superseded=True)
    assert gp_ids == {held_version.public_id, visible.public_id}
    assert {d.replaces_id for d in gp_page.documents} == {None, held_version.pk}
