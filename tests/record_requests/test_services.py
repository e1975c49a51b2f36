"""Record requests' services: what is frozen, traced and told at each step, and nothing half-written on bad input."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from audit.constants import Action, Mode, ObjectType, Outcome
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, InvalidInput
from dmp.constants import NotificationKind
from dmp.models import Notification
from dmp.services import history
from record_requests.constants import (
    Delivery,
    HeirReason,
    RecordRequestAction,
    RefusalReason,
    RequesterKind,
    RequestStatus,
)
from record_requests.models import RecordBundle, RecordRequest, SecureMessage
from record_requests.services import delivery, office, requests

MEDICAL_WORDS = ("Cardiologie", "Orthopédie", "Fibrillation", "I48", "Lettre de liaison")


def _traces(**filters):
    return AuditEvent.objects.filter(**filters)


def _told(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, kind=NotificationKind.RECORD_REQUEST)
        .order_by("created_at", "id")
        .values_list("message", flat=True)
    )


# --- asking ------------------------------------------------------------------------------------------


def test_the_patient_asks_for_her_whole_record_traced_and_told_without_medical_content(camille, camille_stay, old_stay):
    request = requests.request_create(actor=camille.account)
    assert request.requester_kind == RequesterKind.PATIENT and request.all_stays
    assert set(request.stays.all()) == {camille_stay, old_stay}
    assert request.oldest_information_at == old_stay.admitted_at and request.long_delay
    trace = _traces(object_type=ObjectType.RECORD_REQUEST, action=Action.CREATE).get()
    assert trace.object_id == str(request.public_id) and trace.patient_id == camille.public_id
    assert trace.mode == Mode.SELF and trace.outcome == Outcome.ALLOWED
    told = _told(camille.account)
    assert len(told) == 1 and "a été reçue" in told[0]
    assert not any(word in told[0] for word in MEDICAL_WORDS)


def test_chosen_stays_only_and_eight_days_when_none_is_old(camille, camille_stay, old_stay):
    request = requests.request_create(actor=camille.account, stays=[str(camille_stay.public_id)])
    assert list(request.stays.all()) == [camille_stay] and not request.all_stays and not request.long_delay
    assert request.due_on == timezone.localdate(request.received_at) + datetime.timedelta(days=8)


def test_bad_input_writes_nothing(camille, camille_stay, other_patient, inf_roux):
    other_stay = other_patient.stays.create(
        unit=camille_stay.unit, kind=camille_stay.kind, admitted_at=timezone.now() - datetime.timedelta(days=3)
    )
    cases = [
        ({"stays": [str(other_stay.public_id)]}, "stays"),
        ({"stays": ["not-a-uuid"]}, "stays"),
        ({"delivery": "fax"}, "delivery"),
        ({"delivery": Delivery.DOCTOR}, "named_doctor_rpps"),
        ({"delivery": Delivery.DOCTOR, "named_doctor_rpps": "10000000000"}, "named_doctor_rpps"),
        ({"delivery": Delivery.DOCTOR, "named_doctor_rpps": inf_roux.rpps}, "named_doctor_rpps"),
        ({"delivery": Delivery.DOWNLOAD, "named_doctor_rpps": inf_roux.rpps}, "named_doctor_rpps"),
    ]
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as raised:
            requests.request_create(actor=camille.account, **kwargs)
        assert field in raised.value.fields, kwargs
    assert not RecordRequest.objects.exists()
    assert not _traces(object_type=ObjectType.RECORD_REQUEST).exists()
    assert _told(camille.account) == []


def test_no_stay_to_copy_is_bad_input(camille):
    with pytest.raises(InvalidInput) as raised:
        requests.request_create(actor=camille.account)
    assert "stays" in raised.value.fields and not RecordRequest.objects.exists()


def test_a_named_doctor_is_a_doctor_with_an_account(camille, camille_stay, dr_moreau):
    request = requests.request_create(
        actor=camille.account, delivery=Delivery.DOCTOR, named_doctor_rpps=f" {dr_moreau.rpps} "
    )
    assert request.named_doctor == dr_moreau


def test_the_parent_never_sees_nor_gets_the_minors_secret_stay(camille, lucas, lucas_stays, mother):
    ordinary, secret = lucas_stays
    _patient, offered = requests.requestable_stays_for(actor=camille.account, patient_id=lucas.public_id)
    assert offered == [ordinary]
    with pytest.raises(InvalidInput):
        requests.request_create(actor=camille.account, patient_id=lucas.public_id, stays=[str(secret.public_id)])
    request = requests.request_create(actor=camille.account, patient_id=lucas.public_id)
    assert list(request.stays.all()) == [ordinary]
    assert request.requester_kind == RequesterKind.REPRESENTATIVE and request.representation == mother
    assert _traces(object_type=ObjectType.RECORD_REQUEST, action=Action.CREATE).get().mode == Mode.REPRESENTATIVE
    # told in the space where she acts for him, naming him; the minor is not told
    assert "Pour Lucas MARTIN" in _told(camille.account)[0] or "Lucas" in _told(camille.account)[0]
    assert _told(lucas.account) == []
    page = requests.requests_mine(actor=camille.account, patient_id=lucas.public_id)
    assert page.items == [request]
    assert requests.requests_mine(actor=camille.account).items == []


def test_the_minor_asks_through_his_parents(lucas, lucas_stays):
    with pytest.raises(AccessDenied) as raised:
        requests.request_create(actor=lucas.account)
    assert raised.value.status == 403
    assert _traces(object_type=ObjectType.RECORD_REQUEST, outcome=Outcome.DENIED).exists()
    assert not RecordRequest.objects.exists()


def test_an_adult_is_told_when_her_guardian_asks(camille, camille_stay, other_patient, inf_roux):
    from records.constants import RepresentationKind
    from records.services import representatives

    representatives.representation_record(
        actor=inf_roux,
        patient_id=camille.public_id,
        representative=other_patient.account.username,
        kind=RepresentationKind.GUARDIAN,
        relation="tuteur",
        identity_checked=True,
    )
    requests.request_create(actor=other_patient.account, patient_id=camille.public_id)
    told = _told(camille.account)
    assert len(told) == 1 and "a été faite par" in told[0] and "Cette demande" in told[0]


def test_nobody_else_reads_a_request(camille, camille_stay, other_patient, dr_leroy):
    request = requests.request_create(actor=camille.account)
    for outsider in (other_patient.account, dr_leroy):
        with pytest.raises(AccessDenied) as raised:
            requests.request_get(actor=outsider, request_id=request.public_id)
        assert raised.value.status == 404
    found, decision = requests.request_get(actor=camille.account, request_id=request.public_id)
    assert found == request and decision.mode == Mode.SELF


# --- heirs ---------------------------------------------------------------------------------------------


def _heir(actor, patient, **changes):
    fields = dict(
        actor=actor,
        patient_id=patient.public_id,
        heir_name="Paul Martin",
        heir_relation="fils",
        heir_reason=HeirReason.CAUSE_OF_DEATH,
        death_date=timezone.localdate() - datetime.timedelta(days=30),
        received_on=timezone.localdate() - datetime.timedelta(days=2),
        named_doctor_rpps=None,
    )
    fields.update(changes)
    return requests.heir_request_record(**fields)


def test_the_office_records_an_heirs_paper_file_for_a_named_doctor(camille, camille_stay, clerk, dr_moreau):
    received_on = timezone.localdate() - datetime.timedelta(days=2)
    request = _heir(clerk, camille, named_doctor_rpps=dr_moreau.rpps, received_on=received_on)
    assert request.requester_kind == RequesterKind.HEIR and request.delivery == Delivery.DOCTOR
    assert request.named_doctor == dr_moreau and request.requested_by == clerk
    assert timezone.localdate(request.received_at) == received_on
    assert request.due_on == received_on + datetime.timedelta(days=8)
    assert _traces(object_type=ObjectType.RECORD_REQUEST, action=Action.CREATE).get().mode == Mode.RECORD_REQUEST


def test_heirs_bad_input_and_outsiders(camille, camille_stay, clerk, dr_moreau, inf_roux):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    for changes, field in [
        ({"received_on": tomorrow}, "received_on"),
        ({"heir_reason": "curiosity"}, "heir_reason"),
        ({"heir_name": "  "}, "heir_name"),
        ({"death_date": tomorrow}, "death_date"),
        ({"named_doctor_rpps": ""}, "named_doctor_rpps"),
        ({"named_doctor_rpps": inf_roux.rpps}, "named_doctor_rpps"),
    ]:
        changes.setdefault("named_doctor_rpps", dr_moreau.rpps)
        with pytest.raises(InvalidInput) as raised:
            _heir(clerk, camille, **changes)
        assert field in raised.value.fields, changes
    assert not RecordRequest.objects.exists()
    with pytest.raises(AccessDenied) as raised:
        _heir(camille.account, camille, named_doctor_rpps=dr_moreau.rpps)
    assert raised.value.status == 403


# --- the office and the doctor -----------------------------------------------------------------------


@pytest.fixture
def asked(camille, camille_stay):
    return requests.request_create(actor=camille.account)


def test_a_doctor_of_the_unit_validates_enqueues_the_copy_on_commit_traced_and_told(
    asked, camille, dr_bernard, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(office, "enqueue_bundle", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        validated = office.request_validate(actor=dr_bernard, request_id=asked.public_id, include_handover_notes=True)
        assert sent == []  # only once committed
    assert sent == [asked.pk]
    asked.refresh_from_db()
    assert asked.status == RequestStatus.VALIDATED and asked.validated_by == dr_bernard
    assert asked.include_handover_notes and validated.validated_at is not None
    trace = _traces(action=RecordRequestAction.VALIDATE).get()
    assert trace.mode == Mode.RECORD_REQUEST and trace.object_id == str(asked.public_id)
    assert any("validée" in m for m in _told(camille.account))
    with pytest.raises(AccessDenied) as raised:
        office.request_validate(actor=dr_bernard, request_id=asked.public_id)
    assert raised.value.status == 409 and raised.value.code == "conflict"


def test_who_validates(asked, clerk, dr_leroy, office_doctor, monkeypatch):
    monkeypatch.setattr(office, "enqueue_bundle", lambda pk: None)
    with pytest.raises(AccessDenied) as raised:
        office.request_validate(actor=clerk, request_id=asked.public_id)
    assert raised.value.status == 403
    with pytest.raises(AccessDenied) as raised:
        office.request_validate(actor=dr_leroy, request_id=asked.public_id)
    assert raised.value.status == 404
    assert _traces(action=RecordRequestAction.VALIDATE, outcome=Outcome.DENIED).count() == 2
    office.request_validate(actor=office_doctor, request_id=asked.public_id)
    assert RecordRequest.objects.get(pk=asked.pk).validated_by == office_doctor


def test_the_preview_is_a_read_of_her_hospital_record_in_her_history(
    asked, camille, dr_bernard, discharge_letter, draft_report, monkeypatch
):
    preview = office.request_preview(actor=dr_bernard, request_id=asked.public_id)
    reports = [r for s in preview.stays for r in s.reports.all()]
    assert discharge_letter in reports and draft_report not in reports
    trace = _traces(object_type=ObjectType.HOSPITAL_RECORD, action=Action.READ).get()
    assert trace.mode == Mode.RECORD_REQUEST and trace.actor_id == dr_bernard.public_id
    monkeypatch.setattr(office, "enqueue_bundle", lambda pk: None)
    office.request_validate(actor=dr_bernard, request_id=asked.public_id)
    page = history.access_history(actor=camille.account)
    lines = [(e.who, e.sentence, e.how) for d in page.days for e in d.entries]
    assert (
        "Sophie Bernard, médecin",
        "a consulté votre dossier du CHU",
        "pour répondre à une demande de copie du dossier du CHU",
    ) in lines
    sentences = {s for _w, s, _h in lines}
    assert "Votre demande de copie du dossier du CHU a été reçue" in sentences
    assert "Votre demande de copie du dossier du CHU a été validée" in sentences


def test_a_refusal_on_a_ground_the_law_allows(asked, camille, clerk):
    with pytest.raises(InvalidInput) as raised:
        office.request_refuse(actor=clerk, request_id=asked.public_id, reason="too_busy")
    assert "reason" in raised.value.fields
    assert RecordRequest.objects.get(pk=asked.pk).status == RequestStatus.RECEIVED
    refused = office.request_refuse(
        actor=clerk, request_id=asked.public_id, reason=RefusalReason.IDENTITY_NOT_ESTABLISHED, note="Pièce illisible."
    )
    assert refused.status == RequestStatus.REFUSED and refused.refused_by == clerk
    assert _traces(action=RecordRequestAction.REFUSE).get().reason == RefusalReason.IDENTITY_NOT_ESTABLISHED
    assert any("refusée" in m for m in _told(camille.account))
    with pytest.raises(AccessDenied) as raised:
        office.request_refuse(actor=clerk, request_id=asked.public_id, reason=RefusalReason.NOT_ENTITLED)
    assert raised.value.status == 409


def test_the_queue_counts_and_flags_the_overdue(camille, camille_stay, clerk, other_patient):
    overdue = requests.request_create(actor=camille.account)
    RecordRequest.objects.filter(pk=overdue.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=1))
    due_today = requests.request_create(actor=camille.account)
    RecordRequest.objects.filter(pk=due_today.pk).update(due_on=timezone.localdate(), status=RequestStatus.VALIDATED)
    requests.request_create(actor=camille.account)
    page = office.office_queue_page(actor=clerk)
    assert page.counts == {"received": 2, "validated": 1, "ready": 0, "overdue": 1, "due_today": 1}
    assert [r.overdue for r in page.items] == [True, False, False]
    assert [r.pk for r in office.office_queue_page(actor=clerk, overdue=True).items] == [overdue.pk]
    trace = _traces(object_type=ObjectType.RECORD_REQUEST, action=Action.LIST).last()
    assert len(trace.object_ids) == 1
    with pytest.raises(AccessDenied):
        office.office_queue_page(actor=other_patient.account)
    with pytest.raises(InvalidInput):
        office.office_queue_page(actor=clerk, status="lost")


# --- the answer ------------------------------------------------------------------------------------------


def _made(request, status=RequestStatus.AVAILABLE) -> RecordBundle:
    """The copy as H-bundle's task leaves it: stored, released past the 48 hours."""
    name = default_storage.save("record_requests/test.pdf", ContentFile(b"%PDF-1.4 synthetic"))
    past = timezone.now() - datetime.timedelta(hours=49)
    RecordRequest.objects.filter(pk=request.pk).update(
        status=status, received_at=past, earliest_release_at=past + datetime.timedelta(hours=48), answered_at=past
    )
    return RecordBundle.objects.create(
        request=request,
        progress=100,
        file=name,
        sha256="0" * 64,
        size=18,
        made_at=past,
        expires_at=past + datetime.timedelta(days=60),
    )


def test_the_patient_downloads_her_copy_traced_nobody_else(asked, camille, other_patient, dr_bernard):
    with pytest.raises(AccessDenied) as raised:
        delivery.bundle_download(actor=camille.account, request_id=asked.public_id)
    assert raised.value.status == 409  # not made yet: she is told so
    with pytest.raises(AccessDenied) as raised:
        delivery.bundle_download(actor=other_patient.account, request_id=asked.public_id)
    assert raised.value.status == 404  # nobody else learns of it
    bundle = _made(asked)
    for outsider in (other_patient.account, dr_bernard):
        with pytest.raises(AccessDenied) as raised:
            delivery.bundle_download(actor=outsider, request_id=asked.public_id)
        assert raised.value.status == 404
    got, handle = delivery.bundle_download(actor=camille.account, request_id=asked.public_id)
    with handle:
        assert handle.read().startswith(b"%PDF")
    assert got == bundle
    trace = _traces(
        object_type=ObjectType.RECORD_BUNDLE, action=RecordRequestAction.DOWNLOAD, outcome=Outcome.ALLOWED
    ).get()
    assert trace.object_id == str(bundle.public_id) and trace.mode == Mode.SELF
    assert not any("téléchargée" in m for m in _told(camille.account))  # not told of her own download
    sentences = {e.sentence for d in history.access_history(actor=camille.account).days for e in d.entries}
    assert "La copie de votre dossier du CHU a été téléchargée" in sentences


def test_the_named_doctor_reads_the_copy_in_his_secure_inbox_only(camille, camille_stay, dr_moreau, dr_bernard):
    request = requests.request_create(actor=camille.account, delivery=Delivery.DOCTOR, named_doctor_rpps=dr_moreau.rpps)
    bundle = _made(request, RequestStatus.SENT)
    message = SecureMessage.objects.create(recipient=dr_moreau, subject="Copie de dossier", bundle=bundle)
    page = delivery.inbox_page(actor=dr_moreau)
    assert page.items == [message] and page.unread == 1
    assert delivery.inbox_page(actor=dr_bernard).items == []
    with pytest.raises(AccessDenied) as raised:
        delivery.message_open(actor=dr_bernard, message_id=message.public_id)
    assert raised.value.status == 404
    with pytest.raises(AccessDenied) as raised:
        delivery.message_bundle_download(actor=dr_bernard, message_id=message.public_id)
    assert raised.value.status == 404
    with pytest.raises(AccessDenied):
        delivery.bundle_download(actor=camille.account, request_id=request.public_id)
    got, handle = delivery.message_bundle_download(actor=dr_moreau, message_id=message.public_id)
    handle.close()
    assert got == bundle and SecureMessage.objects.get(pk=message.pk).read_at is not None
    assert any("téléchargée" in m for m in _told(camille.account))
    with pytest.raises(AccessDenied):
        delivery.inbox_page(actor=camille.account)


def test_a_representatives_copy_stops_with_the_representation(camille, lucas, lucas_stays, mother, inf_roux):
    from records.services import representatives

    request = requests.request_create(actor=camille.account, patient_id=lucas.public_id)
    _made(request)
    delivery.bundle_download(actor=camille.account, request_id=request.public_id)[1].close()
    representatives.representation_end(actor=inf_roux, representation_id=mother.public_id)
    with pytest.raises(AccessDenied) as raised:
        delivery.bundle_download(actor=camille.account, request_id=request.public_id)
    assert raised.value.status == 404


def test_another_doctor_of_the_chu_cannot_download(asked, office_doctor):
    _made(asked)
    with pytest.raises(AccessDenied):
        delivery.bundle_download(actor=office_doctor, request_id=asked.public_id)


def test_the_parents_request_is_in_the_history_she_reads_for_her_son(camille, lucas, lucas_stays, mother):
    requests.request_create(actor=camille.account, patient_id=lucas.public_id)
    page = history.access_history(actor=camille.account, patient_id=lucas.public_id)
    sentences = {e.sentence for d in page.days for e in d.entries}
    assert "Votre demande de copie du dossier du CHU a été reçue" in sentences
    # her reading of the request list is no step: not in the history
    requests.requests_mine(actor=camille.account, patient_id=lucas.public_id)
    page = history.access_history(actor=camille.account, patient_id=lucas.public_id)
    assert not any("consulté votre demande" in e.sentence for d in page.days for e in d.entries)
