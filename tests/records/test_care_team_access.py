"""Who reads the hospital record: the care team of an open or recent stay, and nobody else."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from records.models import Stay
from records.services import patients
from tests.factories import StayFactory


def record_url(patient):
    return reverse("records:patient_record", args=[patient.public_id])


def test_care_team_doctor_reads_the_record_and_the_read_is_traced(client, dr_bernard, camille, discharge_letter):
    client.force_login(dr_bernard)
    response = client.get(record_url(camille))
    assert response.status_code == 200
    assert "Fibrillation atriale paroxystique" in response.content.decode()
    assert discharge_letter.title in response.content.decode()
    trace = AuditEvent.objects.get(actor_username="dr.bernard", object_type="hospital_record")
    assert trace.outcome == "allowed"
    assert trace.mode == "care_team"
    assert trace.patient_id == camille.public_id
    assert str(discharge_letter.public_id) in trace.object_ids
    assert str(discharge_letter.stay.public_id) in trace.object_ids


def test_unit_collaborator_reads_the_record(client, inf_roux, camille, camille_stay):
    client.force_login(inf_roux)
    response = client.get(record_url(camille))
    assert response.status_code == 200
    assert AuditEvent.objects.filter(actor_username="inf.roux", mode="care_team", outcome="allowed").exists()


def test_doctor_of_another_unit_is_refused_with_an_offer_of_emergency_access(client, dr_leroy, camille, camille_stay):
    client.force_login(dr_leroy)
    response = client.get(record_url(camille))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Fibrillation" not in body
    assert "bris de glace" in body
    assert reverse("records:emergency_access", args=[camille.public_id]) in body
    assert '<label for="id_reason">Motif de l&#x27;accès d&#x27;urgence</label>' in body  # the form's own label


@pytest.mark.django_db(transaction=True)
def test_the_refusal_trace_is_committed_even_though_the_request_failed(client, dr_leroy, camille, camille_stay):
    client.force_login(dr_leroy)
    assert client.get(record_url(camille)).status_code == 403
    refusal = AuditEvent.objects.get(actor_username="dr.leroy", outcome="denied")
    assert refusal.patient_id == camille.public_id
    assert refusal.reason.startswith("forbidden")


@pytest.mark.django_db(transaction=True)
def test_a_refusal_inside_a_callers_transaction_fails_loudly_rather_than_lose_its_trace(
    dr_leroy, camille, camille_stay
):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        patients.record_open(actor=dr_leroy, patient_id=camille.public_id)


def test_care_team_access_ends_after_the_recent_stay_window(client, dr_bernard, camille, cardiology, settings):
    settings.RECORDS_RECENT_STAY_DAYS = 30
    StayFactory(
        patient=camille,
        unit=cardiology,
        admitted_at=timezone.now() - datetime.timedelta(days=60),
        discharged_at=timezone.now() - datetime.timedelta(days=31),
    )
    client.force_login(dr_bernard)
    assert client.get(record_url(camille)).status_code == 403


def test_an_open_stay_gives_access_to_the_units_doctors(client, dr_bernard, camille, cardiology):
    StayFactory(patient=camille, unit=cardiology, discharged_at=None)
    client.force_login(dr_bernard)
    assert client.get(record_url(camille)).status_code == 200


def test_recent_window_is_a_setting(client, dr_bernard, camille, camille_stay, settings):
    settings.RECORDS_RECENT_STAY_DAYS = 2  # Camille left five days ago
    client.force_login(dr_bernard)
    assert client.get(record_url(camille)).status_code == 403


def test_a_patient_asking_for_another_patients_record_gets_404(client, other_patient, camille, camille_stay):
    client.force_login(other_patient.account)
    assert client.get(record_url(camille)).status_code == 404


def test_a_patient_is_pointed_to_the_dmp_for_her_own_hospital_record(client, camille, camille_stay):
    client.force_login(camille.account)
    response = client.get(record_url(camille))
    assert response.status_code == 403
    assert "DMP" in response.content.decode()
    assert "Fibrillation" not in response.content.decode()


@pytest.mark.parametrize("who", ["dr_moreau", "dpo"])
def test_external_professionals_and_the_dpo_never_read_the_hospital_record(request, client, who, camille, camille_stay):
    client.force_login(request.getfixturevalue(who))
    response = client.get(record_url(camille))
    assert response.status_code == 403
    assert "Fibrillation" not in response.content.decode()
    assert "bris de glace" not in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client, camille):
    response = client.get(record_url(camille))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_other_peoples_drafts_are_not_part_of_the_record(client, inf_roux, camille, draft_report, discharge_letter):
    client.force_login(inf_roux)
    body = client.get(record_url(camille)).content.decode()
    assert discharge_letter.title in body
    assert draft_report.title not in body
    response = client.get(reverse("records:report_detail", args=[draft_report.public_id]))
    assert response.status_code == 404


def test_my_patients_lists_the_care_team_patients_in_one_traced_read(
    client, dr_bernard, camille, camille_stay, other_patient
):
    StayFactory(patient=other_patient)  # another unit
    client.force_login(dr_bernard)
    response = client.get(reverse("records:my_patients"))
    body = response.content.decode()
    assert camille.display_name in body
    assert other_patient.display_name not in body
    trace = AuditEvent.objects.get(actor_username="dr.bernard", action="list")
    assert trace.object_ids == [str(camille.public_id)]


def test_patients_readable_by_is_a_single_sql_query(dr_bernard, camille, camille_stay, django_assert_num_queries):
    from records.access import patients_readable_by

    with django_assert_num_queries(1):
        assert list(patients_readable_by(dr_bernard)) == [camille]
    assert Stay.objects.count() == 1
