"""Open opinion requests expire after OPINION_MAX_DAYS, computed at check time in SQL (issue 16): the
consulted doctor's access then ends with the grace period, as after an answer or a close; an expired
request cannot be answered (409) nor closed, and pages and the API show it as expired."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from chu_portal.errors import Conflict
from records.access import decide_record, opinions_giving_access
from records.models import OpinionRequest, Report
from records.services import care


@pytest.fixture(autouse=True)
def _windows(settings):
    settings.OPINION_MAX_DAYS = 14
    settings.OPINION_GRACE_HOURS = 48


@pytest.fixture
def opinion(camille_stay, dr_bernard, dr_leroy):
    return care.opinion_request_create(
        actor=dr_bernard,
        stay_id=camille_stay.public_id,
        question="Avis orthopédique sur une douleur de hanche ?",
        consulted_username="dr.leroy",
    )


def age(opinion, **delta):
    """Make the request as old as `delta` (the stays' window is not the point here)."""
    OpinionRequest.objects.filter(pk=opinion.pk).update(created_at=timezone.now() - datetime.timedelta(**delta))
    opinion.refresh_from_db()
    return opinion


def test_an_open_request_gives_access_until_it_expires_then_the_grace_period(opinion, dr_leroy, camille):
    age(opinion, days=13, hours=23)
    assert decide_record(dr_leroy, camille).mode == "opinion_request"
    age(opinion, days=15)  # expired a day ago: still within the 48-hour grace period
    assert opinion.is_expired and decide_record(dr_leroy, camille).mode == "opinion_request"
    age(opinion, days=16, hours=1)  # expired 49 hours ago
    assert not decide_record(dr_leroy, camille).allowed
    assert not opinions_giving_access(dr_leroy).exists()


def test_expiry_is_computed_at_check_time_for_any_now(opinion, dr_leroy):
    created = opinion.created_at
    giving = opinions_giving_access
    assert giving(dr_leroy, now=created + datetime.timedelta(days=14, hours=47)).exists()
    assert not giving(dr_leroy, now=created + datetime.timedelta(days=14, hours=49)).exists()


def test_a_unit_request_expires_for_the_units_doctors(camille_stay, dr_bernard, dr_leroy, camille):
    opinion = care.opinion_request_create(
        actor=dr_bernard,
        stay_id=camille_stay.public_id,
        question="Avis de l'équipe d'orthopédie ?",
        consulted_unit_code="ORTHO",
    )
    age(opinion, days=17)
    assert not decide_record(dr_leroy, camille).allowed


def test_an_expired_request_cannot_be_answered(opinion, dr_leroy, api):
    age(opinion, days=15)
    with pytest.raises(Conflict) as refused:
        care.opinion_answer(actor=dr_leroy, opinion_id=opinion.public_id, body="Avis bien tardif.")
    assert "expiré" in refused.value.message
    assert not Report.objects.filter(type_code="11488-4").exists()
    response = api.as_user(dr_leroy).post(
        f"/api/v1/opinion-requests/{opinion.public_id}/answer/", {"body": "Avis bien tardif."}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "conflict")


def test_closing_an_expired_request_does_not_restart_the_grace_period(opinion, dr_bernard, dr_leroy, camille):
    age(opinion, days=16, hours=1)
    with pytest.raises(Conflict):
        care.opinion_close(actor=dr_bernard, opinion_id=opinion.public_id)
    opinion.refresh_from_db()
    assert opinion.status == "open" and opinion.finished_at is None
    assert not decide_record(dr_leroy, camille).allowed


def test_the_api_shows_an_expired_request_as_expired(api, opinion, dr_bernard, dr_leroy):
    fresh = api.as_user(dr_bernard).get("/api/v1/opinion-requests/", {"box": "sent"}).json()["results"][0]
    assert fresh["status"] == "open" and fresh["expires_at"]
    age(opinion, days=15)
    sent = api.get("/api/v1/opinion-requests/", {"box": "sent"}).json()["results"]
    assert [o["status"] for o in sent] == ["expired"]
    received = api.as_user(dr_leroy).get("/api/v1/opinion-requests/").json()["results"]
    assert [o["status"] for o in received] == ["expired"]  # in its grace period, shown as expired
    record = api.get(f"/api/v1/patients/{opinion.patient.public_id}/record/").json()
    assert record["stays"][0]["opinion_requests"][0]["status"] == "expired"


def test_the_inbox_shows_an_expired_request_as_expired_without_the_answer_form(client, opinion, dr_leroy, dr_bernard):
    client.force_login(dr_leroy)
    answer_url = reverse("records:opinion_answer", args=[opinion.public_id])
    assert answer_url in client.get(reverse("records:opinions")).content.decode()
    age(opinion, days=15)
    body = client.get(reverse("records:opinions")).content.decode()
    assert "Expirée sans réponse" in body and answer_url not in body
    client.force_login(dr_bernard)
    body = client.get(reverse("records:opinions")).content.decode()
    assert "Expirée sans réponse" in body
    assert reverse("records:opinion_close", args=[opinion.public_id]) not in body


def test_the_record_page_shows_an_expired_request_as_expired(client, opinion, dr_bernard, camille):
    age(opinion, days=15)
    client.force_login(dr_bernard)
    body = client.get(reverse("records:patient_record", args=[camille.public_id])).content.decode()
    assert "Expirée sans réponse" in body
