"""The minor's secret on a stay (CSP L.1111-5, R.1111-50): a doctor of her care team keeps it from her legal
representatives at her request, or lifts it; traced; on the record page and through the API."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.models import Profession, Role
from audit.constants import Mode
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict
from records import access
from records.models import Stay
from records.services import emergency, secret
from tests.factories import PatientFactory, StayFactory, UserFactory, professional

pytestmark = pytest.mark.django_db


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
def lucas_stay(lucas, cardiology):
    return StayFactory(patient=lucas, unit=cardiology)


def _traces(action):
    return AuditEvent.objects.filter(action=action)


# --- The decision -------------------------------------------------------------------------------------------------


def test_a_doctor_of_the_care_team_decides_the_minors_secret(dr_bernard, lucas_stay):
    decision = access.decide_stay_secret(dr_bernard, lucas_stay)
    assert decision.allowed and decision.mode == Mode.CARE_TEAM


def test_a_midwife_of_the_care_team_decides_it_too(cardiology, lucas_stay):
    midwife = professional(profession=Profession.SAGE_FEMME, units=[cardiology], username="sf.lambert")
    assert access.decide_stay_secret(midwife, lucas_stay).allowed


def test_a_nurse_or_a_doctor_outside_the_team_does_not(inf_roux, dr_leroy, lucas_stay):
    nurse = access.decide_stay_secret(inf_roux, lucas_stay)
    assert not nurse.allowed and nurse.code == "forbidden"
    outsider = access.decide_stay_secret(dr_leroy, lucas_stay)
    assert not outsider.allowed and outsider.code == "forbidden"


def test_an_emergency_access_reads_but_does_not_decide(dr_leroy, lucas, lucas_stay):
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=lucas.public_id, reason="Malaise aux urgences")
    assert access.decide_record(dr_leroy, lucas).mode == Mode.EMERGENCY
    assert access.decide_stay_secret(dr_leroy, lucas_stay).code == "forbidden"


def test_the_patient_and_her_parents_never_decide(camille, lucas, lucas_stay):
    assert access.decide_stay_secret(lucas.account, lucas_stay).code == "forbidden"
    assert access.decide_stay_secret(camille.account, lucas_stay).status == 404


def test_an_adults_stay_has_no_such_secret(dr_bernard, camille_stay):
    decision = access.decide_stay_secret(dr_bernard, camille_stay)
    assert not decision.allowed and decision.status == 409


# --- The service ---------------------------------------------------------------------------------------------------


def test_keeping_a_stay_secret_is_traced_and_lifting_it_too(dr_bernard, lucas, lucas_stay):
    stay = secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=True)
    assert stay.secret_from_representatives and Stay.objects.get(pk=lucas_stay.pk).secret_from_representatives
    trace = _traces("minor_secret").get()
    assert trace.actor_id == dr_bernard.public_id and trace.mode == Mode.CARE_TEAM
    assert trace.patient_id == lucas.public_id and trace.object_id == str(lucas_stay.public_id)
    # Asking again changes nothing and traces nothing.
    secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=True)
    assert _traces("minor_secret").count() == 1
    secret.stay_secret_set(actor=dr_bernard, stay_id=lucas_stay.public_id, secret=False)
    assert not Stay.objects.get(pk=lucas_stay.pk).secret_from_representatives
    assert _traces("minor_secret_lift").count() == 1


def test_a_refusal_is_traced_and_changes_nothing(inf_roux, lucas_stay):
    with pytest.raises(AccessDenied):
        secret.stay_secret_set(actor=inf_roux, stay_id=lucas_stay.public_id, secret=True)
    assert not Stay.objects.get(pk=lucas_stay.pk).secret_from_representatives
    refused = _traces("minor_secret").get()
    assert refused.outcome == "denied" and refused.actor_id == inf_roux.public_id


def test_an_adults_stay_is_a_conflict(dr_bernard, camille_stay):
    with pytest.raises(Conflict):
        secret.stay_secret_set(actor=dr_bernard, stay_id=camille_stay.public_id, secret=True)
    assert not Stay.objects.get(pk=camille_stay.pk).secret_from_representatives


# --- The record page -----------------------------------------------------------------------------------------------


def test_the_record_page_offers_the_secret_to_the_doctor_and_keeps_it(client, dr_bernard, lucas, lucas_stay):
    client.force_login(dr_bernard)
    page = client.get(f"/patients/{lucas.public_id}/dossier/").content.decode()
    action = f"/sejours/{lucas_stay.public_id}/secret-mineur/"
    assert action in page and 'data-stay-secret="yes"' not in page
    response = client.post(action, {"secret": "yes"})
    assert response.status_code == 302 and response.url == f"/patients/{lucas.public_id}/dossier/"
    assert Stay.objects.get(pk=lucas_stay.pk).secret_from_representatives
    page = client.get(f"/patients/{lucas.public_id}/dossier/").content.decode()
    assert 'data-stay-secret="yes"' in page and 'name="secret" value="no"' in page
    client.post(action, {"secret": "no"})
    assert not Stay.objects.get(pk=lucas_stay.pk).secret_from_representatives


def test_the_record_page_offers_nothing_to_a_nurse_nor_for_an_adult(client, inf_roux, dr_bernard, lucas, camille):
    StayFactory(patient=camille, unit=dr_bernard.professional.units.get())
    lucas_stay = StayFactory(patient=lucas, unit=inf_roux.professional.units.get())
    client.force_login(inf_roux)
    assert "secret-mineur" not in client.get(f"/patients/{lucas.public_id}/dossier/").content.decode()
    response = client.post(f"/sejours/{lucas_stay.public_id}/secret-mineur/", {"secret": "yes"})
    assert response.status_code in (302, 403)
    assert not Stay.objects.get(pk=lucas_stay.pk).secret_from_representatives
    client.force_login(dr_bernard)
    assert "secret-mineur" not in client.get(f"/patients/{camille.public_id}/dossier/").content.decode()


# --- The API -------------------------------------------------------------------------------------------------------


def test_the_api_keeps_and_lifts_the_secret_and_the_record_shows_it(api, dr_bernard, lucas, lucas_stay):
    api.as_user(dr_bernard)
    url = f"/api/v1/stays/{lucas_stay.public_id}/minor-secret/"
    response = api.post(url, {"secret": True}, format="json")
    assert response.status_code == 200
    assert response.json() == {"stay": str(lucas_stay.public_id), "secret_from_representatives": True}
    record = api.get(f"/api/v1/patients/{lucas.public_id}/record/").json()
    assert [s["secret_from_representatives"] for s in record["stays"]] == [True]
    assert api.post(url, {"secret": False}, format="json").json()["secret_from_representatives"] is False
    assert api.post(url, {}, format="json").status_code == 400


def test_the_api_refuses_a_nurse_and_an_adults_stay(api, inf_roux, dr_bernard, lucas_stay, camille_stay):
    api.as_user(inf_roux)
    response = api.post(f"/api/v1/stays/{lucas_stay.public_id}/minor-secret/", {"secret": True}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    api.as_user(dr_bernard)
    response = api.post(f"/api/v1/stays/{camille_stay.public_id}/minor-secret/", {"secret": True}, format="json")
    assert response.status_code == 409
    assert not Stay.objects.filter(secret_from_representatives=True).exists()
