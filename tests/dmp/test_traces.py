"""Every read, download, upload, mask and settings change of the DMP is traced."""

import pytest

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, NotFound
from dmp import services

pytestmark = pytest.mark.django_db


def test_a_list_writes_one_trace_naming_the_ids_shown(camille, dr_moreau, fed_letter):
    before = AuditEvent.objects.count()
    services.documents_list(actor=dr_moreau, patient_id=camille.public_id)
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert len(events) == 1
    assert events[0].object_ids == [str(fed_letter.public_id)] and events[0].mode == "gp"


def test_opening_and_downloading_a_document_write_one_trace_each(camille, dr_moreau, fed_letter):
    before = AuditEvent.objects.count()
    services.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    _doc, handle = services.document_content(actor=dr_moreau, document_id=fed_letter.public_id, download=True)
    handle.close()
    actions = list(AuditEvent.objects.order_by("id")[before:].values_list("action", "object_id"))
    assert actions == [("read", str(fed_letter.public_id)), ("download", str(fed_letter.public_id))]


def test_a_refusal_trace_survives_the_refusal(camille, dr_leroy, fed_letter):
    with pytest.raises(AccessDenied):
        services.documents_list(actor=dr_leroy, patient_id=camille.public_id)
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.outcome, event.patient_id, event.actor_username) == ("denied", camille.public_id, "dr.leroy")


def test_mask_and_settings_changes_are_traced(camille, fed_letter):
    services.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    services.record_settings_update(actor=camille.account, emergency_access_allowed=False)
    actions = list(AuditEvent.objects.order_by("-id").values_list("action", flat=True)[:2])
    assert actions == ["update_settings", "mask"]


def test_the_patient_sees_every_access_by_others_in_her_history(
    camille, dr_moreau, dr_bernard, fed_letter, discharge_letter
):
    from records import services as record_services

    services.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    record_services.record_open(actor=dr_bernard, patient_id=camille.public_id)
    history = services.access_history(actor=camille.account)
    who = {(e.actor_username, e.object_type) for e in history.events}
    assert ("dr.moreau", "dmp_document") in who and ("dr.bernard", "hospital_record") in who
    assert all(e.actor_username != "camille.martin" for e in history.events)
    assert any(e.profession_label == "Médecin" for e in history.events)


def test_external_lookup_by_exact_ins_and_birth_date_is_traced(camille, dr_garnier):
    found = services.patient_lookup(actor=dr_garnier, ins=camille.nir, birth_date=camille.birth_date.isoformat())
    assert found == camille
    assert AuditEvent.objects.order_by("-id").first().action == "lookup"
    with pytest.raises(NotFound) as refused:
        services.patient_lookup(actor=dr_garnier, ins=camille.nir, birth_date="2000-01-01")
    assert refused.value.status == 404
    assert AuditEvent.objects.order_by("-id").first().outcome == "denied"
