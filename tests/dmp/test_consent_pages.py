"""Consent pages for both sides: the professional's "request access", the patient's requests, grants and blocks."""

import pytest
from django.utils.html import escape

from dmp.consent import requests
from dmp.constants import ConsentStatus
from dmp.models import AccessGrant, BlockedProfessional, ConsentRequest, DmpEmergencyAccess
from dmp.services import record_settings

pytestmark = pytest.mark.django_db


def access_url(patient):
    return f"/dmp/patients/{patient.public_id}/acces/"


def test_a_refused_professional_is_offered_to_request_access(client, camille, camille_dmp, dr_garnier):
    client.force_login(dr_garnier)
    response = client.get(f"/dmp/patients/{camille.public_id}/")
    assert response.status_code == 403
    assert access_url(camille) in response.content.decode()


def test_professional_asks_from_the_page_and_sees_the_status(client, camille, camille_dmp, dr_garnier):
    client.force_login(dr_garnier)
    page = client.get(access_url(camille)).content.decode()
    assert 'data-status="none"' in page and "Envoyer la demande" in page
    response = client.post(
        access_url(camille),
        {"form": "request", "request-purpose": "Suivi de votre fibrillation", "request-duration_days": "180"},
    )
    assert response.status_code == 302
    consent_request = ConsentRequest.objects.get()
    assert consent_request.duration_days == 180 and consent_request.professional == dr_garnier
    page = client.get(access_url(camille)).content.decode()
    assert 'data-status="pending"' in page
    listing = client.get("/dmp/pro/demandes/").content.decode()
    assert "Suivi de votre fibrillation" in listing and "En attente" in listing


def test_a_duration_above_the_cap_is_refused_in_french(client, camille, camille_dmp, dr_garnier):
    client.force_login(dr_garnier)
    response = client.post(
        access_url(camille), {"form": "request", "request-purpose": "Suivi", "request-duration_days": "999"}
    )
    assert response.status_code == 400
    assert "365" in response.content.decode()
    assert not ConsentRequest.objects.exists()


def test_patient_sees_who_asks_why_and_how_long_then_approves(client, camille, camille_dmp, dr_garnier, fed_letter):
    consent_request = requests.consent_request_create(
        actor=dr_garnier, patient_id=camille.public_id, purpose="Bilan avant ablation", duration_days=90
    )
    client.force_login(camille.account)
    page = client.get("/dmp/autorisations/").content.decode()
    for text in ("Dr Paul Garnier", dr_garnier.rpps, "Médecin", "Bilan avant ablation", "90 jours"):
        assert text in page
    assert "Autorisations" in page and "demande(s) en attente" in page  # the nav shows the count
    response = client.post(f"/dmp/autorisations/demandes/{consent_request.public_id}/accepter/")
    assert response.status_code == 302
    grant = AccessGrant.objects.get()
    page = client.get("/dmp/autorisations/").content.decode()
    assert f"/dmp/autorisations/{grant.public_id}/revoquer/" in page and "en cours" in page
    client.force_login(dr_garnier)
    assert client.get(f"/dmp/patients/{camille.public_id}/").status_code == 200


def test_patient_denies_from_the_inbox(client, camille, camille_dmp, dr_garnier):
    consent_request = requests.consent_request_create(actor=dr_garnier, patient_id=camille.public_id, purpose="Avis")
    client.force_login(camille.account)
    client.post(f"/dmp/autorisations/demandes/{consent_request.public_id}/refuser/")
    assert ConsentRequest.objects.get().status == ConsentStatus.DENIED
    assert not AccessGrant.objects.exists()


def test_patient_revokes_a_grant_and_the_professional_is_refused(client, camille, camille_dmp, dr_garnier, fed_letter):
    consent_request = requests.consent_request_create(actor=dr_garnier, patient_id=camille.public_id, purpose="Avis")
    grant = requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id).grant
    client.force_login(camille.account)
    response = client.post(f"/dmp/autorisations/{grant.public_id}/revoquer/", follow=True)
    assert "Autorisation révoquée" in response.content.decode()
    client.force_login(dr_garnier)
    assert client.get(f"/dmp/patients/{camille.public_id}/").status_code == 403


def test_another_patient_cannot_answer_or_revoke(client, camille, camille_dmp, dr_garnier, other_patient):
    consent_request = requests.consent_request_create(actor=dr_garnier, patient_id=camille.public_id, purpose="Avis")
    client.force_login(other_patient.account)
    assert client.post(f"/dmp/autorisations/demandes/{consent_request.public_id}/accepter/").status_code == 404
    assert ConsentRequest.objects.get().status == ConsentStatus.PENDING


def test_in_person_consent_from_the_page_needs_the_presence_box(client, camille, camille_dmp, dr_garnier):
    client.force_login(dr_garnier)
    data = {"form": "in_person", "inperson-purpose": "Consultation", "inperson-duration_days": "365"}
    response = client.post(access_url(camille), data)
    assert response.status_code == 400 and not AccessGrant.objects.exists()
    response = client.post(access_url(camille), {**data, "inperson-patient_present": "on"})
    assert response.status_code == 302 and AccessGrant.objects.get().source == "in_person_consent"


def test_emergency_from_the_page_opens_the_dmp_with_the_banner(client, camille, camille_dmp, dr_garnier, fed_letter):
    client.force_login(dr_garnier)
    response = client.post(
        access_url(camille),
        {"form": "emergency", "emergency-reason": "Patiente inconsciente aux urgences", "emergency-mode": "emergency"},
        follow=True,
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="dmp-emergency-banner"' in body
    assert "Lettre de liaison" in body and DmpEmergencyAccess.objects.count() == 1


def test_emergency_from_the_page_when_opposed_says_so(client, camille, camille_dmp, dr_garnier):
    record_settings.record_settings_update(actor=camille.account, emergency_access_allowed=False)
    client.force_login(dr_garnier)
    response = client.post(
        access_url(camille),
        {"form": "emergency", "emergency-reason": "Patiente inconsciente aux urgences", "emergency-mode": "emergency"},
    )
    assert response.status_code == 400
    assert escape("opposé à l'accès d'urgence") in response.content.decode()
    assert not DmpEmergencyAccess.objects.exists()


def test_patient_finds_a_professional_by_name_or_rpps_and_blocks_him(client, camille, camille_dmp, dr_garnier):
    client.force_login(camille.account)
    for query in ("garnier", dr_garnier.rpps, "Paul Garn"):
        page = client.get("/dmp/professionnels-bloques/", {"q": query}).content.decode()
        assert 'id="professionals-found"' in page and "Dr Paul Garnier" in page
    assert "Aucun professionnel trouvé" in client.get("/dmp/professionnels-bloques/", {"q": "zzz"}).content.decode()
    client.post("/dmp/professionnels-bloques/", {"rpps": dr_garnier.rpps})
    assert BlockedProfessional.objects.filter(professional=dr_garnier).exists()


def test_the_answer_shows_as_a_badge_until_the_professional_opens_his_requests(
    client, camille, camille_dmp, dr_garnier
):
    consent_request = requests.consent_request_create(
        actor=dr_garnier, patient_id=camille.public_id, purpose="Suivi de votre fibrillation"
    )
    requests.consent_request_approve(actor=camille.account, request_id=consent_request.public_id)
    client.force_login(dr_garnier)
    home = client.get("/dmp/pro/").content.decode()
    assert '1<span class="visually-hidden"> réponse(s) nouvelle(s)</span>' in home
    listing = client.get("/dmp/pro/demandes/").content.decode()
    assert "réponse(s) nouvelle(s)" not in listing and "Acceptée" in listing
    assert "réponse(s) nouvelle(s)" not in client.get("/dmp/pro/").content.decode()
