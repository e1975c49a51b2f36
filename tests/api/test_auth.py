"""API tokens: issued on password, stored hashed, expiring, revoked by logout; /api/v1/me/."""

import datetime
import hashlib

from django.utils import timezone

from accounts.models import ApiToken
from tests.factories import PASSWORD, totp_code


def test_a_token_is_issued_and_stored_only_as_a_hash(api, dr_bernard):
    response = api.post(
        "/api/v1/auth/token/", {"username": "dr.bernard", "password": PASSWORD, "otp": totp_code()}, format="json"
    )
    assert response.status_code == 200
    raw = response.json()["token"]
    stored = ApiToken.objects.get(user=dr_bernard)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in stored.key_hash
    assert stored.expires > timezone.now() + datetime.timedelta(hours=7)


def test_a_wrong_password_is_401_not_authenticated(api, dr_bernard):
    response = api.post("/api/v1/auth/token/", {"username": "dr.bernard", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not ApiToken.objects.exists()


def test_a_missing_field_is_400_invalid(api):
    response = api.post("/api/v1/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_me_describes_a_professional(api, dr_bernard):
    body = api.as_user(dr_bernard).get("/api/v1/me/").json()
    assert body == {
        "id": str(dr_bernard.public_id),
        "username": "dr.bernard",
        "name": "Dr Sophie Bernard",
        "role": "chu_clinician",
        "patient_id": None,
        "rpps": dr_bernard.rpps,
        "representations": [],
    }


def test_me_gives_a_patient_her_patient_id(api, camille):
    body = api.as_user(camille.account).get("/api/v1/me/").json()
    assert (body["role"], body["patient_id"], body["rpps"]) == ("patient", str(camille.public_id), None)


def test_without_a_token_the_api_answers_401(api):
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_expired_token_is_refused(api, dr_bernard):
    api.as_user(dr_bernard)
    ApiToken.objects.update(expires=timezone.now() - datetime.timedelta(seconds=1))
    assert api.get("/api/v1/me/").status_code == 401


def test_logout_revokes_the_token(api, dr_bernard):
    api.as_user(dr_bernard)
    assert api.post("/api/v1/auth/logout/").status_code == 204
    assert ApiToken.objects.get().revoked_at is not None
    assert api.get("/api/v1/me/").status_code == 401


def test_a_professional_needs_the_second_factor_for_a_token(api, dr_bernard):
    # Issue 18 changed the codes: a missing or wrong code answers exactly like a wrong password
    # (`not_authenticated`), so that the answer never tells the password was right.
    wrong_password = api.post("/api/v1/auth/token/", {"username": "dr.bernard", "password": "nope"}, format="json")
    for otp in (None, "000000"):
        body = {"username": "dr.bernard", "password": PASSWORD} | ({"otp": otp} if otp else {})
        response = api.post("/api/v1/auth/token/", body, format="json")
        assert (response.status_code, response.json()) == (401, wrong_password.json())
        assert response.json()["code"] == "not_authenticated"
    assert not ApiToken.objects.exists()


def test_a_patient_without_a_second_factor_gets_a_token_with_her_password(api, camille):
    response = api.post("/api/v1/auth/token/", {"username": "camille.martin", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_repeated_failures_lock_the_token_endpoint_out(api, dr_bernard, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        api.post("/api/v1/auth/token/", {"username": "dr.bernard", "password": "wrong"}, format="json")
    response = api.post(
        "/api/v1/auth/token/", {"username": "dr.bernard", "password": PASSWORD, "otp": totp_code()}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")


def test_an_unknown_api_path_is_a_json_404_not_found(api, dr_bernard):
    response = api.as_user(dr_bernard).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Ressource introuvable.", "code": "not_found"}
