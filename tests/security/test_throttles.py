"""Rate limits on the oracles (issue 18): the INS lookup per user and per INS (hits count too), the token
endpoint, password reset, activation and consent requests; 429 with Retry-After; a burst flagged."""

import pytest
from django.urls import reverse

from accounts.models import Profession, Role
from audit.constants import Action
from audit.models import AuditEvent
from tests.factories import PatientFactory, professional

NO_LIMITS = {
    "lookup_user": None,
    "lookup_ins": None,
    "token": None,
    "password_reset": None,
    "activation": None,
    "consent_request": None,
    "trusted_naming": None,
}


@pytest.fixture
def rates(settings):
    """Every limit off; each test turns on the one it checks."""
    settings.THROTTLE_RATES = dict(NO_LIMITS)
    return settings.THROTTLE_RATES


@pytest.fixture
def pharmacist(db):
    return professional(role=Role.EXTERNAL_PROFESSIONAL, profession=Profession.PHARMACIEN, username="ph.test")


def _lookup(api, patient, birth_date=None):
    birth = birth_date or patient.birth_date.isoformat()
    return api.get("/api/v1/dmp/lookup/", {"ins": patient.nir, "birth_date": birth})


def _assert_limited(response):
    assert response.status_code == 429, response.content[:500]
    assert int(response["Retry-After"]) >= 1
    if response["Content-Type"].startswith("application/json"):
        assert response.json()["code"] == "rate_limited"


def test_the_lookup_is_limited_per_user_and_a_hit_counts(api, rates, pharmacist, camille):
    rates["lookup_user"] = "3/hour"
    api.as_user(pharmacist)
    assert _lookup(api, camille).status_code == 200  # a hit counts too
    others = [PatientFactory() for _ in range(3)]
    assert _lookup(api, others[0], "1900-01-01").status_code == 404
    assert _lookup(api, others[1], "1900-01-01").status_code == 404
    _assert_limited(_lookup(api, others[2]))
    _assert_limited(_lookup(api, camille))  # refused before the query: the answer tells nothing
    # The burst is traced once, flagged for the DPO.
    burst = AuditEvent.objects.filter(action=Action.RATE_LIMITED)
    assert [(e.actor_username, e.flagged, e.flag_reason, e.object_type) for e in burst] == [
        ("ph.test", True, "rate_limited", "lookup_user")
    ]


def test_the_lookup_is_limited_per_ins_whoever_asks(api, rates, camille, dr_moreau, pharmacist):
    rates["lookup_ins"] = "2/hour"
    for user in (dr_moreau, pharmacist):
        api.as_user(user)
        assert _lookup(api, camille, "1900-01-01").status_code == 404
    third = professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.tiers")
    api.as_user(third)
    _assert_limited(_lookup(api, camille))
    assert _lookup(api, PatientFactory(), "1900-01-01").status_code == 404  # another INS still answers


def test_the_lookup_page_answers_429_with_retry_after(client, rates, pharmacist, camille):
    rates["lookup_user"] = "1/hour"
    client.force_login(pharmacist)
    params = {"ins": camille.nir, "birth_date": camille.birth_date.isoformat()}
    assert client.get(reverse("dmp:pro_find"), params).status_code == 302
    response = client.get(reverse("dmp:pro_find"), params)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "Trop de demandes" in response.content.decode()


def test_the_token_endpoint_is_limited_per_address(api, rates, camille):
    rates["token"] = "2/minute"
    for _ in range(2):
        api.post("/api/v1/auth/token/", {"username": "camille.martin", "password": "nope"}, format="json")
    response = api.post("/api/v1/auth/token/", {"username": "camille.martin", "password": "nope"}, format="json")
    _assert_limited(response)
    trace = AuditEvent.objects.get(action=Action.RATE_LIMITED)
    assert trace.flagged and trace.reason.startswith("rate_limited: token")


def test_password_reset_requests_are_limited_per_address(client, rates, camille):
    rates["password_reset"] = "1/hour"
    url = reverse("accounts:password_reset")
    assert client.post(url, {"email": "x@example.org"}).status_code == 302
    response = client.post(url, {"email": "y@example.org"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_activation_attempts_are_limited_per_address(client, rates, db):
    rates["activation"] = "2/hour"
    url = reverse("dmp:activate")
    data = {"code": "AAAA-BBBB-CCCC", "birth_date": "1984-03-12", "password": "x", "password2": "x"}
    for _ in range(2):
        assert client.post(url, data).status_code == 400
    response = client.post(url, data)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_consent_requests_are_limited_per_professional(api, client, rates, camille):
    from dmp.services import records

    records.shared_record_for(camille)
    rates["consent_request"] = "1/hour"
    asker = professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.demandeur")
    api.as_user(asker)
    url = f"/api/v1/dmp/{camille.public_id}/consent-requests/"
    assert api.post(url, {"purpose": "Suivi cardiologique"}, format="json").status_code == 201
    _assert_limited(api.post(url, {"purpose": "Suivi cardiologique, encore"}, format="json"))
    client.force_login(asker)
    page = client.post(
        reverse("dmp:access_request", args=[camille.public_id]),
        {"form": "request", "request-purpose": "Encore une demande", "request-duration_days": ""},
    )
    assert page.status_code == 429


def test_the_limits_work_on_the_embedded_local_memory_cache(api, rates, settings, pharmacist, camille):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    rates["lookup_user"] = "1/hour"
    api.as_user(pharmacist)
    assert _lookup(api, camille).status_code == 200
    _assert_limited(_lookup(api, camille))


def test_the_schema_declares_429_with_retry_after(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, method in (
        ("/api/v1/dmp/lookup/", "get"),
        ("/api/v1/auth/token/", "post"),
        ("/api/v1/dmp/{patient_id}/consent-requests/", "post"),
    ):
        answer = schema["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in answer["headers"], path


def test_naming_trusted_representatives_is_limited_found_or_not(api, rates, camille):
    """A patient naming trusted representatives by username: "no such account" would otherwise list the portal's
    accounts; every attempt counts, and past the rate the answer is the same 429 whether the account exists."""
    from tests.factories import UserFactory

    rates["trusted_naming"] = "2/day"
    UserFactory(role=Role.PATIENT, username="real.person")
    api.as_user(camille.account)
    url = "/api/v1/me/trusted-representatives/"
    assert api.post(url, {"representative": "nobody.here"}, format="json").status_code == 400
    assert api.post(url, {"representative": "nobody.either"}, format="json").status_code == 400
    _assert_limited(api.post(url, {"representative": "real.person"}, format="json"))
