"""Emergency access to the hospital record is read-only and temporary (issue 16): from emergency mode
nobody sends an opinion request, transfers a stay or writes a handover note; an opinion request never
consults the requester's own unit (or himself)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profession, Role
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, InvalidInput
from records.access import RecordAction, decide, decide_record
from records.models import EmergencyAccess, HandoverNote, OpinionRequest, StayMovement
from records.services import care, emergency
from tests.factories import StayFactory, professional

REASON = "Patiente inconsciente admise au déchocage, antécédents inconnus"


@pytest.fixture
def open_stay(camille, cardiology):
    """Camille is in Cardiologie now."""
    return StayFactory(
        patient=camille, unit=cardiology, admitted_at=timezone.now() - datetime.timedelta(days=1), discharged_at=None
    )


@pytest.fixture
def inf_ortho(orthopaedics):
    return professional(
        role=Role.CHU_COLLABORATOR, profession=Profession.INFIRMIER, units=[orthopaedics], username="inf.ortho"
    )


def close_the_window(user, patient):
    EmergencyAccess.objects.filter(user=user, patient=patient).update(
        starts=timezone.now() - datetime.timedelta(hours=5), expires=timezone.now() - datetime.timedelta(hours=1)
    )


def test_a_nurse_in_emergency_mode_cannot_transfer_the_stay_into_her_unit(inf_ortho, camille, open_stay):
    emergency.emergency_access_grant(actor=inf_ortho, patient_id=camille.public_id, reason=REASON)
    assert decide_record(inf_ortho, camille).mode == "emergency"
    with pytest.raises(AccessDenied) as refused:
        care.stay_transfer(actor=inf_ortho, stay_id=open_stay.public_id, unit_code="ORTHO")
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    assert "urgence" in refused.value.message
    assert not StayMovement.objects.exists()
    assert AuditEvent.objects.filter(actor_username="inf.ortho", action="update", outcome="denied").exists()
    close_the_window(inf_ortho, camille)
    assert not decide_record(inf_ortho, camille).allowed  # no care-team access was gained


def test_a_doctor_in_emergency_mode_cannot_ask_his_own_unit_nor_anyone_for_an_opinion(
    dr_leroy, dr_bernard, camille, open_stay
):
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    for consulted in ({"consulted_unit_code": "ORTHO"}, {"consulted_username": "dr.bernard"}):
        with pytest.raises(AccessDenied) as refused:
            care.opinion_request_create(
                actor=dr_leroy, stay_id=open_stay.public_id, question="Avis sur la hanche de la patiente ?", **consulted
            )
        assert (refused.value.status, refused.value.code) == (403, "forbidden")
    assert not OpinionRequest.objects.exists()
    close_the_window(dr_leroy, camille)
    assert not decide_record(dr_leroy, camille).allowed  # no opinion_request window left behind


def test_no_handover_note_in_emergency_mode(dr_leroy, camille, open_stay):
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    with pytest.raises(AccessDenied):
        care.handover_add(actor=dr_leroy, stay_id=open_stay.public_id, body="Note écrite en bris de glace.")
    assert not HandoverNote.objects.exists()


@pytest.mark.parametrize("action", [RecordAction.TRANSFER, RecordAction.WRITE_HANDOVER, RecordAction.REQUEST_OPINION])
def test_the_rule_is_in_records_access(action, dr_leroy, dr_bernard, camille, open_stay):
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    refused = decide(dr_leroy, open_stay, action)
    assert (refused.allowed, refused.code, refused.status) == (False, "forbidden", 403)
    assert decide(dr_bernard, open_stay, action).mode == "care_team"  # the care team still acts


def test_a_care_team_member_with_an_emergency_window_still_acts_as_care_team(dr_bernard, camille, open_stay):
    EmergencyAccess.objects.create(
        user=dr_bernard,
        patient=camille,
        reason=REASON,
        starts=timezone.now(),
        expires=timezone.now() + datetime.timedelta(hours=4),
    )
    assert decide(dr_bernard, open_stay, RecordAction.TRANSFER).mode == "care_team"


def test_the_api_answers_403_forbidden_in_french(api, inf_ortho, dr_leroy, camille, open_stay):
    emergency.emergency_access_grant(actor=inf_ortho, patient_id=camille.public_id, reason=REASON)
    api.as_user(inf_ortho)
    transfer = api.post(f"/api/v1/stays/{open_stay.public_id}/transfer/", {"unit": "ORTHO"}, format="json")
    assert (transfer.status_code, transfer.json()["code"]) == (403, "forbidden")
    assert "accès d'urgence" in transfer.json()["detail"]
    note = api.post(f"/api/v1/stays/{open_stay.public_id}/handover-notes/", {"body": "RAS"}, format="json")
    assert (note.status_code, note.json()["code"]) == (403, "forbidden")
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    opinion = api.as_user(dr_leroy).post(
        "/api/v1/opinion-requests/",
        {"stay": str(open_stay.public_id), "question": "Avis orthopédique ?", "consulted_unit": "ORTHO"},
        format="json",
    )
    assert (opinion.status_code, opinion.json()["code"]) == (403, "forbidden")


def test_the_record_page_in_emergency_mode_offers_no_transfer_note_or_opinion_form(
    client, dr_leroy, camille, open_stay
):
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    client.force_login(dr_leroy)
    body = client.get(reverse("records:patient_record", args=[camille.public_id])).content.decode()
    body = body.replace("&#x27;", "'")
    assert reverse("records:stay_transfer", args=[open_stay.public_id]) not in body
    assert reverse("records:handover_add", args=[open_stay.public_id]) not in body
    assert reverse("records:opinion_request", args=[open_stay.public_id]) not in body
    assert "En accès d'urgence, le dossier se consulte" in body


def test_the_page_refuses_a_transfer_in_emergency_mode_with_the_sentence(client, inf_ortho, camille, open_stay):
    emergency.emergency_access_grant(actor=inf_ortho, patient_id=camille.public_id, reason=REASON)
    client.force_login(inf_ortho)
    response = client.post(reverse("records:stay_transfer", args=[open_stay.public_id]), {"unit": "ORTHO"}, follow=True)
    assert "les transferts et les transmissions sont réservés" in response.content.decode().replace("&#x27;", "'")
    assert not StayMovement.objects.exists()


# --- Whom an opinion request may consult -------------------------------------------------------


def test_an_opinion_request_cannot_consult_the_requesters_own_unit(dr_bernard, camille_stay, orthopaedics):
    with pytest.raises(InvalidInput) as refused:
        care.opinion_request_create(
            actor=dr_bernard,
            stay_id=camille_stay.public_id,
            question="Avis de ma propre unité ?",
            consulted_unit_code="CARDIO",
        )
    assert (refused.value.status, refused.value.code) == (400, "invalid") and "consulted" in refused.value.fields
    assert not OpinionRequest.objects.exists()
    care.opinion_request_create(  # another unit is fine
        actor=dr_bernard, stay_id=camille_stay.public_id, question="Avis orthopédique ?", consulted_unit_code="ORTHO"
    )


def test_an_opinion_request_cannot_consult_the_requester_himself(dr_bernard, camille_stay):
    with pytest.raises(InvalidInput):
        care.opinion_request_create(
            actor=dr_bernard,
            stay_id=camille_stay.public_id,
            question="Avis à moi-même ?",
            consulted_username="dr.bernard",
        )
    assert not OpinionRequest.objects.exists()


def test_the_api_answers_400_invalid_for_the_own_unit(api, dr_bernard, camille_stay):
    response = api.as_user(dr_bernard).post(
        "/api/v1/opinion-requests/",
        {"stay": str(camille_stay.public_id), "question": "Avis de ma propre unité ?", "consulted_unit": "CARDIO"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_the_record_page_offers_only_other_units_for_an_opinion(
    client, dr_bernard, camille, camille_stay, orthopaedics
):
    client.force_login(dr_bernard)
    body = client.get(reverse("records:patient_record", args=[camille.public_id])).content.decode()
    select = body[body.index(f'id="cunit-{camille_stay.public_id}"') :]
    select = select[: select.index("</select>")]
    assert 'value="ORTHO"' in select and 'value="CARDIO"' not in select
