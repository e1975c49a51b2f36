"""Care across units: transfers widen the care team, opinion requests open a read window, handover notes, letters."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, InvalidInput
from dmp.services import records
from records.constants import ReportType
from records.models import HandoverNote, OpinionRequest, Report, StayMovement
from records.services import care, patients, reports
from tests.factories import ReportFactory, StayFactory, UnitFactory, professional


@pytest.fixture
def emergency_unit(db):
    return UnitFactory(code="URG", name="Urgences")


@pytest.fixture
def dr_urgences(emergency_unit):
    return professional(units=[emergency_unit], username="dr.urgences")


@pytest.fixture
def transferred_stay(camille, emergency_unit, dr_urgences, cardiology):
    """Camille came in through the emergency department and was moved to cardiology."""
    stay = StayFactory(
        patient=camille,
        unit=emergency_unit,
        admitted_at=timezone.now() - datetime.timedelta(days=2),
        discharged_at=None,
    )
    care.stay_transfer(actor=dr_urgences, stay_id=stay.public_id, unit_code="CARDIO")
    return stay


def readable(user, patient):
    from records.access import decide_record

    return decide_record(user, patient).allowed


def test_a_patient_transferred_from_emergency_to_cardiology_is_readable_by_both_teams(
    transferred_stay, camille, dr_urgences, dr_bernard, dr_leroy
):
    assert readable(dr_urgences, camille) and readable(dr_bernard, camille)
    assert not readable(dr_leroy, camille)
    assert AuditEvent.objects.filter(action="transfer", patient_id=camille.public_id, reason="CARDIO").exists()


def test_after_discharge_and_the_window_neither_team_reads(
    transferred_stay, camille, dr_urgences, dr_bernard, settings
):
    settings.RECORDS_RECENT_STAY_DAYS = 30
    transferred_stay.discharged_at = timezone.now() - datetime.timedelta(days=31)
    transferred_stay.admitted_at = timezone.now() - datetime.timedelta(days=40)
    transferred_stay.save()
    StayMovement.objects.filter(stay=transferred_stay).update(at=timezone.now() - datetime.timedelta(days=39))
    assert not readable(dr_urgences, camille) and not readable(dr_bernard, camille)


def test_a_finished_stay_is_not_transferred(camille_stay, dr_bernard):
    with pytest.raises(Conflict):
        care.stay_transfer(actor=dr_bernard, stay_id=camille_stay.public_id, unit_code="CARDIO")


def test_an_outsider_cannot_transfer(transferred_stay, dr_leroy):
    with pytest.raises(AccessDenied):
        care.stay_transfer(actor=dr_leroy, stay_id=transferred_stay.public_id, unit_code="ORTHO")


@pytest.fixture
def opinion(camille_stay, dr_bernard, dr_leroy):
    return care.opinion_request_create(
        actor=dr_bernard,
        stay_id=camille_stay.public_id,
        question="Avis orthopédique sur une douleur de hanche ?",
        consulted_username="dr.leroy",
    )


def test_the_consulted_doctor_reads_the_record_while_the_request_is_open(client, opinion, camille, dr_leroy):
    client.force_login(dr_leroy)
    assert client.get(reverse("records:patient_record", args=[camille.public_id])).status_code == 200
    trace = AuditEvent.objects.filter(actor_username="dr.leroy", object_type="hospital_record").latest("id")
    assert trace.mode == "opinion_request" and trace.outcome == "allowed"


def test_the_consulted_doctor_answers_with_a_note_that_joins_the_record(opinion, dr_leroy, dr_bernard, camille):
    answered = care.opinion_answer(
        actor=dr_leroy, opinion_id=opinion.public_id, body="Coxarthrose débutante, pas de geste."
    )
    note = answered.answer
    assert (note.type_code, note.is_signed, note.author) == (ReportType.CONSULTATION_REPORT, True, dr_leroy)
    record = patients.record_open(actor=dr_bernard, patient_id=camille.public_id)
    assert note.public_id in record.report_ids


def test_after_the_answer_and_the_grace_period_the_consulted_doctor_is_refused(
    client, opinion, dr_leroy, camille, settings
):
    settings.OPINION_GRACE_HOURS = 48
    care.opinion_answer(actor=dr_leroy, opinion_id=opinion.public_id, body="Pas d'indication chirurgicale.")
    client.force_login(dr_leroy)
    assert client.get(reverse("records:patient_record", args=[camille.public_id])).status_code == 200  # grace period
    OpinionRequest.objects.filter(pk=opinion.pk).update(finished_at=timezone.now() - datetime.timedelta(hours=49))
    assert client.get(reverse("records:patient_record", args=[camille.public_id])).status_code == 403


def test_a_closed_request_ends_access_after_the_grace_period(opinion, dr_bernard, dr_leroy, camille, settings):
    settings.OPINION_GRACE_HOURS = 0
    care.opinion_close(actor=dr_bernard, opinion_id=opinion.public_id)
    assert not readable(dr_leroy, camille)


def test_an_opinion_gives_read_access_only(opinion, dr_leroy, camille_stay):
    with pytest.raises(AccessDenied):
        reports.report_create_draft(
            actor=dr_leroy, stay_id=camille_stay.public_id, type_code=ReportType.OPERATIVE_REPORT, title="x", body="y"
        )
    with pytest.raises(AccessDenied):
        care.handover_add(actor=dr_leroy, stay_id=camille_stay.public_id, body="note")


def test_an_answered_request_cannot_be_answered_twice(opinion, dr_leroy):
    care.opinion_answer(actor=dr_leroy, opinion_id=opinion.public_id, body="Avis.")
    with pytest.raises(Conflict):
        care.opinion_answer(actor=dr_leroy, opinion_id=opinion.public_id, body="Autre avis.")
    assert Report.objects.filter(type_code=ReportType.CONSULTATION_REPORT).count() == 1


def test_a_unit_request_opens_the_record_to_that_units_doctors(camille_stay, dr_bernard, dr_leroy, camille):
    care.opinion_request_create(
        actor=dr_bernard,
        stay_id=camille_stay.public_id,
        question="Avis de l'équipe d'orthopédie ?",
        consulted_unit_code="ORTHO",
    )
    assert readable(dr_leroy, camille)


def test_only_care_team_doctors_ask_for_an_opinion(camille_stay, inf_roux, dr_leroy):
    with pytest.raises(AccessDenied):
        care.opinion_request_create(
            actor=inf_roux,
            stay_id=camille_stay.public_id,
            question="Question d'infirmier ?",
            consulted_username="dr.leroy",
        )
    with pytest.raises(AccessDenied):
        care.opinion_request_create(
            actor=dr_leroy,
            stay_id=camille_stay.public_id,
            question="Je m'invite dans ce dossier",
            consulted_username="dr.leroy",
        )
    assert not OpinionRequest.objects.exists()


def test_a_request_needs_a_question_and_someone_to_ask(camille_stay, dr_bernard):
    with pytest.raises(InvalidInput):
        care.opinion_request_create(
            actor=dr_bernard, stay_id=camille_stay.public_id, question="?", consulted_username="dr.leroy"
        )
    with pytest.raises(InvalidInput):
        care.opinion_request_create(actor=dr_bernard, stay_id=camille_stay.public_id, question="Une vraie question ?")


def test_handover_notes_are_part_of_the_record_under_the_care_team_rule(
    client, camille_stay, inf_roux, dr_bernard, dr_leroy, camille
):
    care.handover_add(
        actor=inf_roux, stay_id=camille_stay.public_id, body="Patiente douloureuse cette nuit, antalgiques donnés."
    )
    client.force_login(dr_bernard)
    assert (
        "Patiente douloureuse cette nuit"
        in client.get(reverse("records:patient_record", args=[camille.public_id])).content.decode()
    )
    with pytest.raises(AccessDenied):
        care.handover_add(actor=dr_leroy, stay_id=camille_stay.public_id, body="intrusion")
    assert HandoverNote.objects.count() == 1


def test_a_discharged_stay_without_a_signed_letter_is_on_the_units_dashboard_until_signed(
    client, camille_stay, dr_bernard, inf_roux
):
    older = StayFactory(
        patient=camille_stay.patient,
        unit=camille_stay.unit,
        admitted_at=timezone.now() - datetime.timedelta(days=20),
        discharged_at=timezone.now() - datetime.timedelta(days=15),
    )
    assert [s.pk for s in care.stays_missing_letter(actor=inf_roux)] == [older.pk, camille_stay.pk]
    draft = reports.report_create_draft(
        actor=dr_bernard,
        stay_id=camille_stay.public_id,
        type_code=ReportType.DISCHARGE_LETTER,
        title="Lettre",
        body="Texte",
    )
    assert camille_stay.pk in [s.pk for s in care.stays_missing_letter(actor=inf_roux)]
    reports.report_sign(actor=dr_bernard, report_id=draft.public_id)
    assert [s.pk for s in care.stays_missing_letter(actor=inf_roux)] == [older.pk]
    client.force_login(inf_roux)
    page = client.get(reverse("records:missing_letters")).content.decode()
    assert "MARTIN" in page


def test_the_dashboard_counts_the_stay_where_it_was_discharged(transferred_stay, dr_urgences, dr_bernard):
    transferred_stay.discharged_at = timezone.now()
    transferred_stay.save()
    assert [s.pk for s in care.stays_missing_letter(actor=dr_bernard)] == [transferred_stay.pk]
    assert care.stays_missing_letter(actor=dr_urgences) == []


def test_the_api_covers_opinions_handover_and_transfers(api, camille_stay, dr_bernard, dr_leroy):
    api.as_user(dr_bernard)
    created = api.post(
        "/api/v1/opinion-requests/",
        {"stay": str(camille_stay.public_id), "question": "Avis orthopédique ?", "consulted_doctor": "dr.leroy"},
        format="json",
    )
    assert created.status_code == 201 and created.json()["status"] == "open"
    note = api.post(f"/api/v1/stays/{camille_stay.public_id}/handover-notes/", {"body": "RAS"}, format="json")
    assert note.status_code == 201
    transfer = api.post(f"/api/v1/stays/{camille_stay.public_id}/transfer/", {"unit": "ORTHO"}, format="json")
    assert (transfer.status_code, transfer.json()["code"]) == (409, "conflict")  # the stay is over
    api.as_user(dr_leroy)
    inbox = api.get("/api/v1/opinion-requests/").json()
    assert inbox["count"] == 1 and [o["id"] for o in inbox["results"]] == [created.json()["id"]]
    assert api.get("/api/v1/opinion-requests/", {"box": "sent"}).json()["count"] == 0
    answered = api.post(
        f"/api/v1/opinion-requests/{created.json()['id']}/answer/", {"body": "Pas de geste."}, format="json"
    )
    assert answered.json()["status"] == "answered" and answered.json()["answer"]
    record = api.get(f"/api/v1/patients/{camille_stay.patient.public_id}/record/").json()
    assert record["access_mode"] == "opinion_request"
    assert record["stays"][0]["handover_notes"][0]["body"] == "RAS"
    missing = api.as_user(dr_bernard).get("/api/v1/stays/missing-letter/").json()
    assert missing["count"] == 1


def test_the_record_page_queries_stay_bounded_with_notes_and_opinions(
    client, camille, cardiology, orthopaedics, dr_bernard, inf_roux
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        url = reverse("records:patient_record", args=[camille.public_id])
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        return len(ctx.captured_queries)

    client.force_login(dr_bernard)
    stay = StayFactory(patient=camille, unit=cardiology, discharged_at=None)
    ReportFactory(stay=stay, author=dr_bernard)  # a signed report: the page asks the DMP its feed state, once
    small = count()
    for i in range(10):
        other = StayFactory(
            patient=camille,
            unit=cardiology,
            discharged_at=None,
            admitted_at=timezone.now() - datetime.timedelta(days=i + 1),
        )
        care.handover_add(actor=inf_roux, stay_id=other.public_id, body=f"note {i}")
        ReportFactory(stay=other, author=dr_bernard)
    care.opinion_request_create(
        actor=dr_bernard, stay_id=stay.public_id, question="Question pour l'orthopédie ?", consulted_unit_code="ORTHO"
    )
    assert count() == small


def test_the_patient_sees_the_opinion_in_her_access_history(
    client, opinion, dr_leroy, camille, dr_moreau, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    records.shared_record_for(camille)
    client.force_login(dr_leroy)
    client.get(reverse("records:patient_record", args=[camille.public_id]))
    care.opinion_answer(actor=dr_leroy, opinion_id=opinion.public_id, body="Pas d'indication chirurgicale.")
    client.force_login(camille.account)
    body = client.get(reverse("dmp:history")).content.decode()
    assert "Marc Leroy" in body and "a consulté votre dossier du CHU" in body
    assert "avis demandé par l&#x27;équipe qui vous soigne" in body
