"""Issue 16's holes and rules, one regression test each: who reads the DMP by the Code de la santé publique."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Profession, Role
from audit.constants import Mode
from audit.flags import with_flags
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied
from dmp import access
from dmp.consent import blocking, requests
from dmp.consent import emergency as consent_emergency
from dmp.consent import grants as consent_grants
from dmp.constants import DocumentType, NotificationKind, RecordStatus
from dmp.models import Designation, Notification
from dmp.services import designations, documents, history, notifications, professionals, profile, record_settings
from fhir import services as fhir_services
from tests.factories import designate_gp, professional

from .conftest import MINIMAL_PDF, grant, upload

pytestmark = pytest.mark.django_db
REASON = "Patient inconscient aux urgences, antécédents inconnus"


@pytest.fixture
def sec_blanc(cardiology):
    return professional(
        role=Role.CHU_COLLABORATOR,
        profession=Profession.SECRETAIRE_MEDICALE,
        units=[cardiology],
        username="sec.blanc",
    )


def listed(user, patient, **kwargs):
    return {d.public_id for d in access.documents_visible_to(user, patient, **kwargs)}


# --- Care team (CSP R.1111-46) ------------------------------------------------------------------


def test_consent_to_the_cardiologist_covers_her_care_team_and_ends_with_the_grant(
    camille, camille_dmp, camille_stay, dr_bernard, inf_roux, dr_leroy, fed_letter
):
    assert access.record_decision(inf_roux, camille_dmp).code == "forbidden"
    granted = grant(camille_dmp, dr_bernard)
    decision = access.record_decision(inf_roux, camille_dmp)
    assert decision.allowed and decision.mode == Mode.TEAM_CONSENT
    assert listed(inf_roux, camille) == {fed_letter.public_id}  # a discharge letter: the nurse's matrix opens it
    assert access.record_decision(dr_leroy, camille_dmp).code == "forbidden"  # another unit: not her team
    consent_grants.grant_revoke(actor=camille.account, grant_id=granted.public_id)
    assert access.record_decision(inf_roux, camille_dmp).code == "forbidden"


def test_team_consent_needs_the_patients_stay_in_the_shared_unit(
    camille, camille_dmp, camille_stay, dr_bernard, inf_roux
):
    camille_stay.discharged_at = timezone.now() - datetime.timedelta(days=400)
    camille_stay.admitted_at = camille_stay.discharged_at - datetime.timedelta(days=3)
    camille_stay.save()
    grant(camille_dmp, dr_bernard)
    assert access.record_decision(inf_roux, camille_dmp).code == "forbidden"


def test_team_consent_keeps_the_matrix_of_each_members_profession(
    camille, camille_dmp, camille_stay, dr_bernard, inf_roux, pdf_bytes
):
    grant(camille_dmp, dr_bernard)
    operative = documents.document_upload(
        actor=dr_bernard,
        patient_id=camille.public_id,
        uploaded=upload("cr.pdf", pdf_bytes),
        title="Compte rendu opératoire",
        type_code=DocumentType.OPERATIVE_REPORT,
    )
    assert operative.public_id in listed(dr_bernard, camille)
    assert operative.public_id not in listed(inf_roux, camille)  # operative reports: not a nurse's


# --- GP-level rights (CSP L.1111-16) -------------------------------------------------------------


def test_typing_an_rpps_opens_nothing_until_the_doctor_accepts(camille, camille_dmp, dr_garnier, fed_letter):
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    proposal = designations.designation_propose(actor=camille.account, rpps=dr_garnier.rpps, kind="gp_level")
    assert access.record_decision(dr_garnier, camille_dmp).code == "forbidden"
    designations.designation_accept(actor=dr_garnier, designation_id=proposal.public_id)
    assert access.record_decision(dr_garnier, camille_dmp).mode == Mode.GP
    assert fed_letter.public_id in listed(dr_garnier, camille)  # masked documents too
    designations.designation_remove(actor=camille.account, designation_id=proposal.public_id)
    assert access.record_decision(dr_garnier, camille_dmp).code == "forbidden"
    assert not Notification.objects.filter(recipient=dr_garnier, kind=NotificationKind.NEW_DOCUMENT).exists()


def test_only_a_doctor_receives_gp_level_rights(camille, camille_dmp, ph_fournier):
    from chu_portal.errors import InvalidInput

    with pytest.raises(InvalidInput):
        designations.designation_propose(actor=camille.account, rpps=ph_fournier.rpps)


def test_a_new_medecin_traitant_replaces_the_previous_one(camille, camille_dmp, dr_moreau, dr_garnier):
    designate_gp(camille_dmp, dr_garnier)
    assert designations.gp_of(camille_dmp) == dr_garnier
    assert access.record_decision(dr_moreau, camille_dmp).code == "forbidden"
    assert Designation.objects.get(doctor=dr_moreau).status == "ended"


def test_another_doctor_cannot_accept_a_proposal_made_to_someone_else(camille, camille_dmp, dr_garnier, dr_bernard):
    proposal = designations.designation_propose(actor=camille.account, rpps=dr_garnier.rpps, kind="gp_level")
    for verb in (designations.designation_accept, designations.designation_decline):
        with pytest.raises(AccessDenied) as refused:
            verb(actor=dr_bernard, designation_id=proposal.public_id)
        assert refused.value.status == 404
    assert AuditEvent.objects.filter(actor_username="dr.bernard", outcome="denied").count() == 2


def test_the_in_person_designation_is_traced_and_flagged_but_never_from_emergency_mode(
    camille, camille_dmp, dr_garnier
):
    consent_emergency.emergency_access_open(actor=dr_garnier, patient_id=camille.public_id, reason=REASON)
    with pytest.raises(AccessDenied) as refused:
        designations.designation_in_person(actor=dr_garnier, patient_id=camille.public_id, patient_present=True)
    assert refused.value.status == 403
    assert access.record_decision(dr_garnier, camille_dmp).mode == Mode.EMERGENCY


def test_a_doctor_records_a_designation_made_in_his_consultation(camille, camille_dmp, dr_garnier):
    designations.designation_in_person(
        actor=dr_garnier, patient_id=camille.public_id, kind="gp_level", patient_present=True
    )
    assert access.record_decision(dr_garnier, camille_dmp).mode == Mode.GP
    trace = AuditEvent.objects.filter(action="designation_accept").latest("at")
    assert trace.mode == Mode.IN_PERSON_CONSENT
    assert with_flags(AuditEvent.objects.filter(pk=trace.pk)).get().flag_gp_rights
    note = Notification.objects.filter(recipient=camille.account, kind=NotificationKind.DESIGNATION).latest(
        "created_at"
    )
    assert "en consultation" in note.message


def test_the_gp_is_told_of_an_emergency_access_and_reads_the_dmp_history(
    camille, camille_dmp, camille_stay, dr_moreau, dr_garnier, fed_letter
):
    """CSP R.1111-48 (the GP informed of emergency accesses) and R.1111-43 (he reads the traces)."""
    consent_emergency.emergency_access_open(actor=dr_garnier, patient_id=camille.public_id, reason=REASON)
    note = Notification.objects.get(recipient=dr_moreau, kind=NotificationKind.EMERGENCY_ACCESS)
    assert "Garnier" in note.message and REASON in note.message
    documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)
    page = history.access_history(actor=dr_moreau, patient_id=camille.public_id)
    assert page.total and all(e.object_type.startswith("dmp") for e in page.events)
    with pytest.raises(AccessDenied) as refused:
        history.access_history(actor=dr_garnier, patient_id=camille.public_id)
    assert refused.value.status == 403


# --- Health professionals only --------------------------------------------------------------------


def test_a_medical_secretary_neither_asks_nor_attests_nor_breaks_the_glass_nor_reads(
    camille, camille_dmp, camille_stay, dr_bernard, sec_blanc, pdf_bytes
):
    for attempt in (
        lambda: requests.consent_request_create(actor=sec_blanc, patient_id=camille.public_id, purpose="Dossier"),
        lambda: consent_grants.consent_in_person_record(
            actor=sec_blanc, patient_id=camille.public_id, purpose="Dossier", patient_present=True
        ),
        lambda: consent_emergency.emergency_access_open(actor=sec_blanc, patient_id=camille.public_id, reason=REASON),
        lambda: professionals.patient_lookup(actor=sec_blanc, ins=camille.nir, birth_date=camille.birth_date),
        lambda: documents.document_upload(
            actor=sec_blanc,
            patient_id=camille.public_id,
            uploaded=upload("x.pdf", pdf_bytes),
            title="x",
            type_code="11490-0",
        ),
    ):
        with pytest.raises(AccessDenied) as refused:
            attempt()
        assert refused.value.status == 403 and "professionnels de santé" in refused.value.message
    grant(camille_dmp, dr_bernard)  # her unit's doctor is authorised: team consent does not reach her either
    assert access.record_decision(sec_blanc, camille_dmp).code == "forbidden"


def test_the_medical_profile_follows_the_profile_matrix(camille, camille_dmp, ph_fournier):
    for kind, label in (("allergy", "Pénicilline"), ("history", "Appendicectomie"), ("treatment", "Apixaban")):
        profile.profile_add(actor=camille.account, kind=kind, label=label)
    grant(camille_dmp, ph_fournier)
    _record, entries = profile.profile_list(actor=ph_fournier, patient_id=camille.public_id)
    assert {e.label for e in entries} == {"Pénicilline", "Apixaban"}  # a pharmacist: no medical history


# --- Authorship opens no identity -------------------------------------------------------------------


def test_filing_a_document_opens_that_document_only_not_the_identity(camille, camille_dmp, dr_garnier, pdf_bytes):
    filed = documents.document_upload(
        actor=dr_garnier,
        patient_id=camille.public_id,
        uploaded=upload("x.pdf", pdf_bytes),
        title="Courrier",
        type_code=DocumentType.CONSULTATION_REPORT,
    )
    _document, decision = documents.document_open(actor=dr_garnier, document_id=filed.public_id)
    assert decision.mode == Mode.AUTHOR
    with pytest.raises(AccessDenied) as refused:
        fhir_services.patient_read(actor=dr_garnier, patient_id=camille.public_id)
    assert refused.value.status == 403
    with pytest.raises(AccessDenied):
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    with pytest.raises(AccessDenied):
        profile.profile_list(actor=dr_garnier, patient_id=camille.public_id)


# --- Masks follow the document ----------------------------------------------------------------------


def test_fhir_search_does_not_list_an_older_version_of_a_masked_document(
    camille, camille_dmp, dr_bernard, dr_garnier, discharge_letter
):
    from records.services import reports

    first = documents.chu_document_file(report=discharge_letter, content=MINIMAL_PDF)
    amendment = reports.report_amend(actor=dr_bernard, report_id=discharge_letter.public_id, title=None, body="v2")
    second = documents.chu_document_file(
        report=reports.report_sign(actor=dr_bernard, report_id=amendment.public_id), content=MINIMAL_PDF
    )
    grant(camille_dmp, dr_garnier)
    documents.document_mask(actor=camille.account, document_id=second.public_id)
    result, _stays = fhir_services.document_search(
        actor=dr_garnier, patient_id=camille.public_id, current_only=False, page=1, page_size=50
    )
    assert result.total == 0 and result.documents == []
    for version in (first, second):
        with pytest.raises(AccessDenied) as refused:
            fhir_services.document_read(actor=dr_garnier, document_id=version.public_id)
        assert refused.value.status == 404


# --- Emergency access is read-only ------------------------------------------------------------------


def test_an_emergency_access_cannot_release_a_document_held_from_the_patient(
    camille, camille_dmp, dr_moreau, dr_garnier, pdf_bytes
):
    held = documents.document_upload(
        actor=dr_moreau,
        patient_id=camille.public_id,
        uploaded=upload("r.pdf", pdf_bytes),
        title="Résultat à annoncer",
        type_code=DocumentType.DISCHARGE_LETTER,
        visible_to_patient=False,
    )
    consent_emergency.emergency_access_open(actor=dr_garnier, patient_id=camille.public_id, reason=REASON)
    with pytest.raises(AccessDenied) as refused:
        documents.document_make_visible(actor=dr_garnier, document_id=held.public_id)
    assert refused.value.status == 403


# --- Notifications ------------------------------------------------------------------------------------


def test_the_patient_is_told_once_of_the_first_read_by_each_new_professional(
    camille, camille_dmp, dr_garnier, fed_letter
):
    grant(camille_dmp, dr_garnier)
    for _ in range(3):
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
        documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)
    notes = Notification.objects.filter(recipient=camille.account, message__contains="pour la première fois")
    assert notes.count() == 1 and "Garnier" in notes.get().message


def test_nobody_blocked_is_notified_and_nothing_is_sent_about_a_closed_dmp(
    camille, camille_dmp, dr_garnier, dr_moreau, fed_letter
):
    blocking.professional_block(actor=camille.account, rpps=dr_garnier.rpps)
    sent = notifications.notify(
        recipient=dr_garnier, kind=NotificationKind.CONSENT_ANSWER, message="x", record=camille_dmp
    )
    assert sent is None
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    camille_dmp.refresh_from_db()
    before = Notification.objects.count()
    notifications.notify_new_document(camille_dmp, fed_letter)
    notifications.notify_gp_level(camille_dmp, NotificationKind.EMERGENCY_ACCESS, "x")
    assert Notification.objects.count() == before


def test_the_notifications_api_pages_newest_first_and_marks_one_read(api, camille, camille_dmp, dr_garnier):
    for n in range(3):
        notifications.notify_patient(camille_dmp, NotificationKind.SETTINGS, f"Message {n}")
    client = api.as_user(camille.account)
    body = client.get("/api/v1/notifications/", {"page_size": 2}).json()
    # Three messages, after the one telling her that her médecin traitant accepted (the fixture).
    assert body["count"] == 4 and [n["message"] for n in body["results"]] == ["Message 2", "Message 1"]
    assert body["next"]
    first = body["results"][0]["id"]
    read = client.post(f"/api/v1/notifications/{first}/read/").json()
    assert read["read_at"] is not None
    other = api.__class__().as_user(dr_garnier)
    assert other.post(f"/api/v1/notifications/{first}/read/").status_code == 404
    assert other.get("/api/v1/notifications/").json()["count"] == 0
