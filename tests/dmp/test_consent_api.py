"""The API of docs/api.md's "Consent and emergency": the same services, codes and traces as the pages."""

import pytest

from accounts.models import Role
from audit.models import AuditEvent
from dmp.models import AccessGrant, ConsentRequest
from tests.factories import professional

pytestmark = pytest.mark.django_db


def ask(api, professional, patient, **body):
    return api.as_user(professional).post(
        f"/api/v1/dmp/{patient.public_id}/consent-requests/",
        {"purpose": "Suivi cardiologique", **body},
        format="json",
    )


def test_professional_asks_and_gets_a_pending_request(api, camille, camille_dmp, dr_garnier):
    response = ask(api, dr_garnier, camille, duration_days=60)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending" and body["duration_days"] == 60
    assert ConsentRequest.objects.filter(public_id=body["id"]).exists()


def test_bad_duration_or_missing_purpose_is_400_and_writes_nothing(api, camille, camille_dmp, dr_garnier):
    response = ask(api, dr_garnier, camille, duration_days=400)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = api.as_user(dr_garnier).post(
        f"/api/v1/dmp/{camille.public_id}/consent-requests/", {"duration_days": 10}, format="json"
    )
    assert response.status_code == 400
    assert not ConsentRequest.objects.exists()


def test_second_pending_request_is_409(api, camille, camille_dmp, dr_garnier):
    assert ask(api, dr_garnier, camille).status_code == 201
    response = ask(api, dr_garnier, camille)
    assert response.status_code == 409 and response.json()["code"] == "conflict"


def test_patient_lists_approves_and_the_professional_reads(api, camille, camille_dmp, dr_garnier, fed_letter):
    request_id = ask(api, dr_garnier, camille).json()["id"]
    listing = api.as_user(camille.account).get("/api/v1/consent-requests/").json()
    assert listing["count"] == 1
    item = listing["results"][0]
    assert item["id"] == request_id and item["patient"] == str(camille.public_id)
    assert item["professional"] == {"name": "Dr Paul Garnier", "rpps": dr_garnier.rpps, "profession": "medecin"}
    for field in ("purpose", "status", "duration_days", "created_at"):
        assert field in item
    approved = api.as_user(camille.account).post(f"/api/v1/consent-requests/{request_id}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    documents = api.as_user(dr_garnier).get(f"/api/v1/dmp/{camille.public_id}/documents/").json()
    assert [d["id"] for d in documents["results"]] == [str(fed_letter.public_id)]
    mine = api.as_user(dr_garnier).get("/api/v1/consent-requests/").json()
    assert mine["results"][0]["status"] == "approved"


def test_patient_denies(api, camille, camille_dmp, dr_garnier):
    request_id = ask(api, dr_garnier, camille).json()["id"]
    response = api.as_user(camille.account).post(f"/api/v1/consent-requests/{request_id}/deny/")
    assert response.status_code == 200 and response.json()["status"] == "denied"
    refused = api.as_user(dr_garnier).get(f"/api/v1/dmp/{camille.public_id}/documents/")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_the_professional_cannot_approve_his_own_request(api, camille, camille_dmp, dr_garnier):
    request_id = ask(api, dr_garnier, camille).json()["id"]
    response = api.as_user(dr_garnier).post(f"/api/v1/consent-requests/{request_id}/approve/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not AccessGrant.objects.exists()


def test_in_person_consent_needs_patient_present(api, camille, camille_dmp, dr_garnier):
    url = f"/api/v1/dmp/{camille.public_id}/consent-requests/in-person/"
    response = api.as_user(dr_garnier).post(url, {"purpose": "Consultation"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = api.as_user(dr_garnier).post(url, {"purpose": "Consultation", "patient_present": True}, format="json")
    assert response.status_code == 201
    assert response.json()["source"] == "in_person_consent" and response.json()["revoked"] is False


def test_patient_lists_and_revokes_grants(api, camille, camille_dmp, dr_garnier, fed_letter):
    request_id = ask(api, dr_garnier, camille).json()["id"]
    api.as_user(camille.account).post(f"/api/v1/consent-requests/{request_id}/approve/")
    grants = api.as_user(camille.account).get(f"/api/v1/dmp/{camille.public_id}/grants/").json()
    assert grants["count"] == 1
    grant = grants["results"][0]
    assert {"id", "professional", "source", "starts", "expires", "revoked"} <= set(grant)
    assert grant["source"] == "consent" and grant["revoked"] is False
    assert api.as_user(camille.account).delete(f"/api/v1/grants/{grant['id']}/").status_code == 204
    grants = api.as_user(camille.account).get(f"/api/v1/dmp/{camille.public_id}/grants/").json()
    assert grants["results"][0]["revoked"] is True
    refused = api.as_user(dr_garnier).get(f"/api/v1/dmp/{camille.public_id}/documents/")
    assert refused.status_code == 403


def test_only_the_patient_revokes_or_lists_grants(api, camille, camille_dmp, dr_garnier):
    request_id = ask(api, dr_garnier, camille).json()["id"]
    grant_id = api.as_user(camille.account).post(f"/api/v1/consent-requests/{request_id}/approve/").json()["grant"]
    assert api.as_user(dr_garnier).delete(f"/api/v1/grants/{grant_id}/").status_code == 403
    assert api.as_user(dr_garnier).get(f"/api/v1/dmp/{camille.public_id}/grants/").status_code == 403
    assert AccessGrant.objects.get(public_id=grant_id).revoked_at is None


def test_emergency_access_returns_its_expiry(api, camille, camille_dmp, dr_garnier):
    response = api.as_user(dr_garnier).post(
        f"/api/v1/dmp/{camille.public_id}/emergency-access/",
        {"reason": "Patiente inconsciente aux urgences", "mode": "emergency"},
        format="json",
    )
    assert response.status_code == 201 and "expires" in response.json()
    assert AuditEvent.objects.filter(action="emergency_access", mode="emergency", flagged=True).exists()


@pytest.mark.parametrize(
    "setup,code",
    [("oppose", "emergency_opposed"), ("block", "blocked")],
)
def test_emergency_access_refusals_say_why(api, camille, camille_dmp, dr_garnier, setup, code):
    if setup == "oppose":
        api.as_user(camille.account).patch(
            f"/api/v1/dmp/{camille.public_id}/settings/", {"emergency_access_allowed": False}, format="json"
        )
    else:
        api.as_user(camille.account).post(
            f"/api/v1/dmp/{camille.public_id}/blocked-professionals/", {"rpps": dr_garnier.rpps}, format="json"
        )
    response = api.as_user(dr_garnier).post(
        f"/api/v1/dmp/{camille.public_id}/emergency-access/",
        {"reason": "Patiente inconsciente aux urgences", "mode": "emergency"},
        format="json",
    )
    assert response.status_code == 403 and response.json()["code"] == code


def test_samu_mode_without_the_regulation_flag_is_403(api, camille, camille_dmp, dr_garnier):
    response = api.as_user(dr_garnier).post(
        f"/api/v1/dmp/{camille.public_id}/emergency-access/",
        {"reason": "Appel au 15, malaise", "mode": "samu"},
        format="json",
    )
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_another_patient_cannot_break_the_glass_or_ask_and_is_told_nothing(api, camille, camille_dmp, other_patient):
    response = api.as_user(other_patient.account).post(
        f"/api/v1/dmp/{camille.public_id}/emergency-access/", {"reason": "Je veux voir ce dossier"}, format="json"
    )
    assert response.status_code == 404
    assert ask(api, other_patient.account, camille).status_code == 404


def test_a_dpo_has_no_consent_requests(api, camille, dpo):
    assert api.as_user(dpo).get("/api/v1/consent-requests/").status_code == 403


def test_an_unknown_patient_is_404(api, dr_garnier):
    user = professional(role=Role.EXTERNAL_PROFESSIONAL)
    response = api.as_user(user).post(
        "/api/v1/dmp/00000000-0000-0000-0000-000000000000/consent-requests/", {"purpose": "x"}, format="json"
    )
    assert response.status_code == 404
