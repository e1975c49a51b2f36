"""Identities: NIR keys (Corsica included), INS status invariants, identity vigilance (qualification).

The INSi seam (retrieval) is tested in test_ins_seam.py."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, InvalidInput
from records.constants import InsStatus
from records.models import Patient, validate_nir
from records.services import patients
from records.signals import identity_qualified
from tests.factories import PatientFactory


def with_key(first13: str) -> str:
    number = first13.replace("2A", "19").replace("2B", "18") if first13[5:7] in ("2A", "2B") else first13
    return f"{first13}{97 - int(number) % 97:02d}"


def test_a_nir_with_its_right_key_is_valid():
    validate_nir(with_key("2840375056123"))


def test_a_nir_with_a_wrong_key_is_refused():
    good = with_key("2840375056123")
    bad = good[:13] + f"{(int(good[13:]) + 1) % 97:02d}"
    with pytest.raises(ValidationError):
        validate_nir(bad)


@pytest.mark.parametrize("department,substitute", [("2A", "19"), ("2B", "18")])
def test_corsican_nirs_compute_their_key_with_19_and_18(department, substitute):
    first13 = f"18506{department}004012"
    key = 97 - int(f"18506{substitute}004012") % 97
    validate_nir(f"{first13}{key:02d}")
    with pytest.raises(ValidationError):
        validate_nir(f"{first13}{(key + 1) % 97:02d}")


def test_a_malformed_nir_is_refused_by_the_database(db):
    patient = PatientFactory.build(nir="123", ins_status=InsStatus.PROVISIONAL)
    with pytest.raises(IntegrityError), transaction.atomic():
        patient.save()


def test_a_qualified_identity_needs_a_checked_document_in_the_database(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(ins_status=InsStatus.QUALIFIED, identity_document_checked=False)


def test_a_retrieved_ins_needs_its_number_in_the_database(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(
            nir=None, ins_status=InsStatus.RETRIEVED, identity_document_checked=False, identity_qualified_at=None
        )


@pytest.fixture
def jules(db):
    return PatientFactory(ins_status=InsStatus.RETRIEVED, identity_document_checked=False, identity_qualified_at=None)


def test_chu_staff_qualify_a_retrieved_identity_and_it_is_traced(inf_roux, jules):
    received = []
    identity_qualified.connect(lambda sender, patient, **kw: received.append(patient.pk), weak=False, dispatch_uid="t")
    try:
        patients.identity_qualify(actor=inf_roux, patient_id=jules.public_id, document_checked=True)
    finally:
        identity_qualified.disconnect(dispatch_uid="t")
    jules.refresh_from_db()
    assert jules.ins_status == InsStatus.QUALIFIED and jules.identity_document_checked
    assert received == [jules.pk]
    assert AuditEvent.objects.filter(action="qualify_identity", patient_id=jules.public_id, outcome="allowed").exists()


def test_qualification_requires_the_id_document_check(inf_roux, jules):
    with pytest.raises(InvalidInput):
        patients.identity_qualify(actor=inf_roux, patient_id=jules.public_id, document_checked=False)
    jules.refresh_from_db()
    assert jules.ins_status == InsStatus.RETRIEVED


def test_a_provisional_identity_is_only_validated_before_the_ins_is_retrieved(inf_roux, db):
    patient = PatientFactory(
        nir=None, ins_status=InsStatus.PROVISIONAL, identity_document_checked=False, identity_qualified_at=None
    )
    validated = patients.identity_qualify(actor=inf_roux, patient_id=patient.public_id, document_checked=True)
    assert validated.ins_status == InsStatus.VALIDATED and validated.identity_qualified_at is None
    with pytest.raises(Conflict):
        patients.identity_qualify(actor=inf_roux, patient_id=patient.public_id, document_checked=True)


def test_only_chu_staff_qualify_identities(dr_moreau, jules):
    with pytest.raises(AccessDenied):
        patients.identity_qualify(actor=dr_moreau, patient_id=jules.public_id, document_checked=True)
    assert Patient.objects.get(pk=jules.pk).ins_status == InsStatus.RETRIEVED


def test_the_record_page_offers_qualification_for_a_retrieved_identity(client, inf_roux, jules, cardiology):
    from tests.factories import StayFactory

    StayFactory(patient=jules, unit=cardiology)
    client.force_login(inf_roux)
    page = client.get(reverse("records:patient_record", args=[jules.public_id])).content.decode()
    assert reverse("records:qualify_identity", args=[jules.public_id]) in page
    client.post(reverse("records:qualify_identity", args=[jules.public_id]), {"document_checked": "on"})
    jules.refresh_from_db()
    assert jules.ins_status == InsStatus.QUALIFIED


def test_staff_search_by_name_birth_date_ipp_and_ins(dr_leroy, camille):
    for query in ("martin", "1984-03-12", "12/03/1984", camille.ipp, camille.nir, "camille MARTIN"):
        found, total = patients.patient_search(actor=dr_leroy, query=query)
        assert camille in found, query
    assert AuditEvent.objects.filter(actor_username="dr.leroy", action="search").count() == 6


def test_patients_and_external_professionals_cannot_search(camille, dr_moreau):
    for user in (camille.account, dr_moreau):
        with pytest.raises(AccessDenied):
            patients.patient_search(actor=user, query="martin")
