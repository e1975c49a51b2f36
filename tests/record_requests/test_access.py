"""Who asks for, runs, validates and reads a copy of the hospital record (record_requests/access.py), and the
request's trace committed with it or not at all."""

import pytest

from audit import services as audit_services
from audit.constants import Mode
from record_requests import access
from record_requests.models import RecordRequest
from record_requests.services import office, requests
from records.constants import RepresentationKind
from records.services import representatives


def test_the_adult_patient_asks_for_herself(camille):
    decision = access.decide_create(camille.account, camille)
    assert decision.allowed and decision.mode == Mode.SELF


def test_a_minor_is_refused_his_parent_allowed(camille, lucas, mother):
    refused = access.decide_create(lucas.account, lucas)
    assert not refused.allowed and refused.status == 403
    allowed = access.decide_create(camille.account, lucas)
    assert allowed.allowed and allowed.mode == Mode.REPRESENTATIVE


def test_a_guardian_is_allowed_a_trusted_representative_is_not(camille, other_patient, inf_roux):
    representatives.representation_record(
        actor=inf_roux,
        patient_id=other_patient.public_id,
        representative=camille.account.username,
        kind=RepresentationKind.GUARDIAN,
        relation="tutrice",
        identity_checked=True,
    )
    assert access.decide_create(camille.account, other_patient).mode == Mode.REPRESENTATIVE
    representatives.trusted_representative_name(actor=camille.account, representative=other_patient.account.username)
    trusted = access.decide_create(other_patient.account, camille)
    assert not trusted.allowed and trusted.status == 404


def test_another_patient_and_professionals_are_refused(camille, other_patient, dr_bernard):
    assert access.decide_create(other_patient.account, camille).status == 404
    assert access.decide_create(dr_bernard, camille).status == 403


def test_the_office_runs_the_queue_and_heirs_a_doctor_of_the_units_validates(
    camille, camille_stay, clerk, office_doctor, dr_bernard, dr_leroy, other_patient
):
    request = requests.request_create(actor=camille.account)
    assert access.is_office_staff(clerk) and access.is_office_staff(office_doctor)
    assert not access.is_office_staff(dr_bernard)
    assert access.decide_queue(clerk).allowed and access.decide_heir_request(clerk).allowed
    assert not access.decide_heir_request(dr_bernard).allowed
    assert access.decide_queue(other_patient.account).status == 403
    # the office reads the request, not the record: validating is a doctor's
    assert access.decide_read(clerk, request).mode == Mode.RECORD_REQUEST
    assert access.decide_validate(clerk, request).status == 403
    # a doctor of the unit the stay went through, or the office's doctor; another unit's doctor does not know of it
    assert access.decide_validate(dr_bernard, request).mode == Mode.RECORD_REQUEST
    assert access.decide_validate(office_doctor, request).allowed
    assert access.decide_validate(dr_leroy, request).status == 404
    assert access.decide_read(dr_leroy, request).status == 404
    assert list(access.office_queue(dr_leroy)) == [] and list(access.office_queue(dr_bernard)) == [request]
    assert access.decide_refuse(clerk, request).allowed and access.decide_refuse(dr_leroy, request).status == 404


def test_nothing_is_kept_when_the_trace_cannot_be_written(camille, camille_stay, dr_bernard, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("trace table unavailable")

    monkeypatch.setattr(audit_services, "record", broken)
    with pytest.raises(RuntimeError):
        requests.request_create(actor=camille.account)
    assert not RecordRequest.objects.exists()
    monkeypatch.undo()
    request = requests.request_create(actor=camille.account)
    monkeypatch.setattr(audit_services, "record", broken)
    monkeypatch.setattr(office, "enqueue_bundle", lambda pk: pytest.fail("sent for a rolled-back validation"))
    with pytest.raises(RuntimeError):
        office.request_validate(actor=dr_bernard, request_id=request.public_id)
    assert RecordRequest.objects.get(pk=request.pk).validated_by is None
