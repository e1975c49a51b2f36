"""The record request pages (issue 22): the patient's request page says what, when and which law; her request's
page shows its due date and progress; the office's queue counts and marks overdue requests in words; the doctor
validates from a preview (never a draft) or refuses with a legal reason; heirs' files are recorded by the office."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Profession, Role, Unit
from audit.models import AuditEvent
from record_requests.constants import Delivery, RequestStatus
from record_requests.models import RecordBundle, RecordRequest
from record_requests.services import requests as rr_requests
from tests.factories import professional

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(db):
    return Unit.objects.get_or_create(code=settings.RECORDS_OFFICE_UNIT_CODE, defaults={"name": "Archives médicales"})[
        0
    ]


@pytest.fixture
def archivist(office):
    return professional(
        role=Role.CHU_COLLABORATOR,
        profession=Profession.SECRETAIRE_MEDICALE,
        units=[office],
        username="archives.girard",
        first_name="Martine",
        last_name="Girard",
    )


@pytest.fixture
def office_doctor(office):
    return professional(units=[office], username="dr.faure", first_name="Élise", last_name="Faure")


def _ask(patient, *, days_ago=0, **kwargs):
    now = timezone.now() - datetime.timedelta(days=days_ago)
    return rr_requests.request_create(actor=patient.account, delivery=Delivery.DOWNLOAD, now=now, **kwargs)


def test_the_request_page_says_what_when_and_the_law(client, camille, camille_stay):
    client.force_login(camille.account)
    response = client.get("/mon-dossier-chu/copie/demander/")
    assert response.status_code == 200
    body = response.content.decode()
    for said in ("L.1111-7", "48 heures", "8 jours", "2 mois", "plus de 5 ans", "DMP", "comptes rendus signés"):
        assert said in body, said
    assert str(camille_stay.public_id) in body  # her stay is offered
    assert "http-equiv" not in body


def test_the_patient_asks_and_sees_the_due_date(client, camille, camille_stay):
    client.force_login(camille.account)
    response = client.post(
        "/mon-dossier-chu/copie/demander/", {"scope": "all", "delivery": Delivery.DOWNLOAD}, follow=True
    )
    made = RecordRequest.objects.get(patient=camille)
    assert response.redirect_chain[-1][0] == f"/mon-dossier-chu/copie/{made.public_id}/"
    body = response.content.decode()
    assert made.due_on.strftime("%d/%m/%Y") in body
    assert "au plus tard" in body and "délai de réflexion" in body
    listed = client.get("/mon-dossier-chu/copie/").content.decode()
    assert str(made.public_id) in listed


def test_a_doctor_copy_needs_his_rpps(client, camille, camille_stay):
    client.force_login(camille.account)
    response = client.post("/mon-dossier-chu/copie/demander/", {"scope": "all", "delivery": Delivery.DOCTOR})
    assert response.status_code == 400
    assert "numéro RPPS" in response.content.decode()
    assert not RecordRequest.objects.exists()


def test_some_stays_need_one_chosen(client, camille, camille_stay):
    client.force_login(camille.account)
    response = client.post("/mon-dossier-chu/copie/demander/", {"scope": "some", "delivery": Delivery.DOWNLOAD})
    assert response.status_code == 400
    response = client.post(
        "/mon-dossier-chu/copie/demander/",
        {"scope": "some", "stays": [str(camille_stay.public_id)], "delivery": Delivery.DOWNLOAD},
    )
    assert response.status_code == 302
    assert not RecordRequest.objects.get().all_stays


def test_the_copy_in_preparation_shows_its_progress_and_refreshes(client, camille, camille_stay):
    made = _ask(camille)
    RecordRequest.objects.filter(pk=made.pk).update(status=RequestStatus.VALIDATED)
    RecordBundle.objects.create(request=made, progress=40)
    client.force_login(camille.account)
    body = client.get(f"/mon-dossier-chu/copie/{made.public_id}/").content.decode()
    assert '<progress id="rr-progress" max="100" value="40"' in body
    # Updated in place by a script file (no timed refresh of the whole page, WCAG 2.2.1), which a button stops.
    assert 'id="rr-live" data-refresh-seconds="5"' in body and "js/progress-refresh.js" in body
    assert 'id="rr-stop" hidden' in body and "http-equiv" not in body


def test_another_patient_never_sees_the_request(client, camille, camille_stay, other_patient):
    made = _ask(camille)
    client.force_login(other_patient.account)
    assert client.get(f"/mon-dossier-chu/copie/{made.public_id}/").status_code == 404


def test_the_queue_counts_and_marks_overdue_requests_in_words(client, archivist, camille, camille_stay):
    late = _ask(camille, days_ago=10)
    _ask(camille)
    client.force_login(archivist)
    client.get("/archives/")  # the session's first page loads more
    with CaptureQueriesContext(connection) as few:
        response = client.get("/archives/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<span class="rr-count" id="count-received">2</span>' in body
    assert '<span class="rr-count" id="count-overdue">1</span>' in body
    assert body.count('class="rr-overdue"') == 1 and "En retard" in body
    assert late.due_on.strftime("%d/%m/%Y") in body
    for _ in range(5):
        _ask(camille, days_ago=9)
    with CaptureQueriesContext(connection) as many:
        client.get("/archives/")
    assert len(many) == len(few)
    overdue_only = client.get("/archives/?status=overdue").content.decode()
    assert overdue_only.count("<tr class=") == 6


def test_the_queue_is_the_offices(client, inf_roux, camille, camille_stay):
    _ask(camille)
    client.force_login(inf_roux)
    assert client.get("/archives/").status_code == 403


def test_the_nav_links(client, camille, archivist, inf_roux, office_doctor):
    client.force_login(camille.account)
    assert "/mon-dossier-chu/copie/" in client.get("/dmp/").content.decode()
    client.force_login(archivist)
    page = client.get("/patients/").content.decode()
    assert 'href="/archives/"' in page and "/pro/messagerie/" not in page
    client.force_login(office_doctor)
    page = client.get("/patients/").content.decode()
    assert 'href="/archives/"' in page and 'href="/pro/messagerie/"' in page
    client.force_login(inf_roux)
    assert 'href="/archives/"' not in client.get("/patients/").content.decode()


def test_the_doctor_validates_from_a_preview_without_drafts(
    client, office_doctor, camille, camille_stay, discharge_letter, draft_report
):
    made = _ask(camille)
    client.force_login(office_doctor)
    page = client.get(f"/archives/demandes/{made.public_id}/valider/").content.decode()
    assert discharge_letter.title in page and draft_report.title not in page
    assert "Fibrillation atriale paroxystique" in page and "inclure les transmissions" in page.lower()
    response = client.post(f"/archives/demandes/{made.public_id}/valider/", {"include_handover_notes": "on"})
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.status != RequestStatus.RECEIVED and made.include_handover_notes
    assert made.validated_by == office_doctor


def test_the_office_refuses_on_a_legal_ground(client, archivist, camille, camille_stay):
    made = _ask(camille)
    client.force_login(archivist)
    page = client.get(f"/archives/demandes/{made.public_id}/").content.decode()
    assert "Identité ou qualité du demandeur non établie" in page
    client.post(f"/archives/demandes/{made.public_id}/refuser/", {"reason": "made-up", "note": ""})
    made.refresh_from_db()
    assert made.status == RequestStatus.RECEIVED
    client.post(
        f"/archives/demandes/{made.public_id}/refuser/",
        {"reason": "identity_not_established", "note": "Pièce d'identité illisible."},
    )
    made.refresh_from_db()
    assert made.status == RequestStatus.REFUSED and made.refusal_note == "Pièce d'identité illisible."
    client.force_login(camille.account)
    seen = client.get(f"/mon-dossier-chu/copie/{made.public_id}/").content.decode()
    assert "Pièce d&#x27;identité illisible." in seen


def test_the_office_records_an_heirs_request(client, archivist, office_doctor, camille_stay):
    patient = camille_stay.patient
    client.force_login(archivist)
    today = timezone.localdate()
    data = {
        "ipp": patient.ipp,
        "death_date": (today - datetime.timedelta(days=30)).isoformat(),
        "heir_name": "Paul Martin",
        "heir_relation": "frère",
        "heir_reason": "cause_of_death",
        "received_on": (today - datetime.timedelta(days=1)).isoformat(),
        "doctor_rpps": office_doctor.rpps,
    }
    response = client.post("/archives/ayants-droit/nouvelle/", {**data, "ipp": "0000000000"})
    assert response.status_code == 400 and "IPP" in response.content.decode()
    response = client.post("/archives/ayants-droit/nouvelle/", data)
    made = RecordRequest.objects.get()
    assert response.status_code == 302 and made.heir_name == "Paul Martin" and made.named_doctor == office_doctor


def test_heirs_are_recorded_by_the_office_only(client, inf_roux, camille):
    client.force_login(inf_roux)
    before = AuditEvent.objects.count()
    response = client.post("/archives/ayants-droit/nouvelle/", {"ipp": camille.ipp})
    assert response.status_code == 403
    assert AuditEvent.objects.count() == before + 1  # the refusal is traced
    client.force_login(camille.account)
    assert client.get("/archives/ayants-droit/nouvelle/").status_code == 403


def _answered(record_request, validated_by, settings, tmp_path):
    """Validated, made by its task and released by the sweep 49 hours later (the request's clock moved back)."""
    from record_requests import tasks
    from record_requests.services import office

    settings.MEDIA_ROOT = tmp_path / "media"
    office.request_validate(actor=validated_by, request_id=record_request.public_id)
    tasks.make_bundle.apply(args=[record_request.pk])
    earlier = datetime.timedelta(hours=49)
    RecordRequest.objects.filter(pk=record_request.pk).update(
        received_at=record_request.received_at - earlier,
        earliest_release_at=record_request.earliest_release_at - earlier,
    )
    tasks.run_sweep()
    record_request.refresh_from_db()
    return record_request


def test_she_downloads_her_copy_and_nobody_else_does(
    client, camille, camille_stay, discharge_letter, office_doctor, other_patient, settings, tmp_path
):
    made = _answered(_ask(camille), office_doctor, settings, tmp_path)
    assert made.status == RequestStatus.AVAILABLE
    client.force_login(camille.account)
    page = client.get(f"/mon-dossier-chu/copie/{made.public_id}/").content.decode()
    assert f"/mon-dossier-chu/copie/{made.public_id}/telecharger/" in page
    assert made.bundle.expires_at.astimezone(timezone.get_current_timezone()).strftime("%d/%m/%Y") in page
    response = client.get(f"/mon-dossier-chu/copie/{made.public_id}/telecharger/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Cache-Control"] == "private, no-store"
    for stranger in (other_patient.account, office_doctor):
        client.force_login(stranger)
        assert client.get(f"/mon-dossier-chu/copie/{made.public_id}/telecharger/").status_code == 404


def test_the_named_doctor_reads_the_copy_in_his_secure_inbox(
    client, camille, camille_stay, discharge_letter, office_doctor, dr_moreau, dr_bernard, settings, tmp_path
):
    asked = rr_requests.request_create(
        actor=camille.account, delivery=Delivery.DOCTOR, named_doctor_rpps=dr_moreau.rpps
    )
    made = _answered(asked, office_doctor, settings, tmp_path)
    assert made.status == RequestStatus.SENT
    client.force_login(camille.account)
    page = client.get(f"/mon-dossier-chu/copie/{made.public_id}/").content.decode()
    assert "messagerie sécurisée" in page and "/telecharger/" not in page
    client.force_login(dr_moreau)
    assert 'href="/pro/messagerie/"' in client.get("/dmp/pro/").content.decode()
    inbox = client.get("/pro/messagerie/").content.decode()
    message = made.bundle.messages.get()
    assert f"/pro/messagerie/{message.public_id}/" in inbox and "non lu" in inbox
    opened = client.get(f"/pro/messagerie/{message.public_id}/").content.decode()
    assert f"/pro/messagerie/{message.public_id}/copie/" in opened
    response = client.get(f"/pro/messagerie/{message.public_id}/copie/")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert "non lu" not in client.get("/pro/messagerie/").content.decode()
    client.force_login(dr_bernard)
    assert client.get(f"/pro/messagerie/{message.public_id}/").status_code == 404
    assert client.get(f"/pro/messagerie/{message.public_id}/copie/").status_code == 404
    client.force_login(camille.account)
    assert client.get("/pro/messagerie/").status_code == 403


def test_a_mother_asks_for_her_sons_record_without_his_secret_stay(client, camille, cardiology, inf_roux):
    from dmp import acting
    from records.constants import RepresentationKind
    from records.services import representatives
    from tests.factories import PatientFactory, StayFactory, UserFactory

    today = timezone.localdate()
    lucas = PatientFactory(
        birth_name="MARTIN",
        first_names="Lucas",
        sex="M",
        birth_date=today.replace(year=today.year - 15) - datetime.timedelta(days=40),
        account=UserFactory(role=Role.PATIENT, username="lucas.martin"),
    )
    representatives.representation_record(
        actor=inf_roux,
        patient_id=lucas.public_id,
        representative=camille.account.username,
        kind=RepresentationKind.PARENT,
        relation="mère",
        identity_checked=True,
    )
    ordinary = StayFactory(patient=lucas, unit=cardiology)
    secret = StayFactory(patient=lucas, unit=cardiology, secret_from_representatives=True)
    client.force_login(camille.account)
    session = client.session
    session[acting.SESSION_KEY] = str(lucas.public_id)
    session.save()
    page = client.get("/mon-dossier-chu/copie/demander/").content.decode()
    assert "que vous représentez" in page and str(ordinary.public_id) in page and str(secret.public_id) not in page
    response = client.post("/mon-dossier-chu/copie/demander/", {"scope": "all", "delivery": Delivery.DOWNLOAD})
    assert response.status_code == 302
    made = RecordRequest.objects.get(patient=lucas)
    assert made.requested_by == camille.account and list(made.stays.all()) == [ordinary]
    assert str(made.public_id) in client.get("/mon-dossier-chu/copie/").content.decode()


def test_the_pages_speak_english(client, camille, camille_stay, archivist):
    client.force_login(camille.account)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get("/mon-dossier-chu/copie/demander/").content.decode()
    assert "Request a copy of my CHU record" in body and "This is not your DMP" in body
    _ask(camille, days_ago=10)
    client.force_login(archivist)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Overdue" in client.get("/archives/").content.decode()


def test_a_doctor_of_the_unit_sees_the_requests_to_validate_not_the_heirs_form(
    client, dr_bernard, dr_leroy, camille, camille_stay
):
    made = _ask(camille)
    client.force_login(dr_bernard)
    page = client.get("/archives/").content.decode()
    assert "Demandes de copie du dossier à valider" in page and "/archives/ayants-droit/nouvelle/" not in page
    assert f"/archives/demandes/{made.public_id}/" in page
    assert client.get("/archives/ayants-droit/nouvelle/").status_code == 403
    client.force_login(dr_leroy)  # Orthopédie: Camille's stay never went through his unit
    assert f"/archives/demandes/{made.public_id}/" not in client.get("/archives/").content.decode()
    assert client.get(f"/archives/demandes/{made.public_id}/valider/").status_code == 404


def test_the_two_records_page_leads_the_patient_to_her_copy(client, camille):
    assert "/mon-dossier-chu/copie/demander/" not in client.get("/deux-dossiers/").content.decode()
    client.force_login(camille.account)
    assert "/mon-dossier-chu/copie/demander/" in client.get("/deux-dossiers/").content.decode()


def test_a_failed_copy_is_said_and_the_page_stops_refreshing(client, camille, camille_stay):
    made = _ask(camille)
    RecordRequest.objects.filter(pk=made.pk).update(status=RequestStatus.VALIDATED)
    RecordBundle.objects.create(request=made, progress=30, failed_at=timezone.now())
    client.force_login(camille.account)
    body = client.get(f"/mon-dossier-chu/copie/{made.public_id}/").content.decode()
    assert 'id="rr-failed"' in body and "progress-refresh.js" not in body and "<progress" not in body
