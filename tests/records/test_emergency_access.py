"""Emergency access (bris de glace) to the hospital record: reason, window, banner, flagged trace."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, InvalidInput
from records.models import EmergencyAccess
from records.services import emergency

REASON = "Patiente inconsciente admise au déchocage, antécédents inconnus"


def test_breaking_the_glass_opens_the_record_and_flags_the_trace(client, dr_leroy, camille, camille_stay):
    client.force_login(dr_leroy)
    response = client.post(reverse("records:emergency_access", args=[camille.public_id]), {"reason": REASON})
    assert response.status_code == 302
    record = client.get(reverse("records:patient_record", args=[camille.public_id]))
    assert record.status_code == 200
    assert "Fibrillation atriale paroxystique" in record.content.decode()
    grant_trace = AuditEvent.objects.get(actor_username="dr.leroy", action="emergency_access")
    assert grant_trace.flagged and grant_trace.flag_reason == "emergency_access"
    assert grant_trace.reason == REASON
    read_trace = AuditEvent.objects.get(actor_username="dr.leroy", action="read", object_type="hospital_record")
    assert read_trace.mode == "emergency"
    assert read_trace.flagged


def test_the_emergency_banner_shows_on_every_page_during_the_window(client, dr_leroy, camille, camille_stay):
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    client.force_login(dr_leroy)
    for url in (reverse("records:my_patients"), reverse("records:patient_search") + "?q=zzz"):
        body = client.get(url).content.decode()
        assert "Mode accès d&#x27;urgence" in body or "Mode accès d'urgence" in body
        assert camille.display_name in body


def test_emergency_access_expires_after_its_window(client, dr_leroy, camille, camille_stay, settings):
    settings.EMERGENCY_ACCESS_HOURS = 4
    grant = emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    assert grant.expires - grant.starts == datetime.timedelta(hours=4)
    EmergencyAccess.objects.filter(pk=grant.pk).update(
        starts=timezone.now() - datetime.timedelta(hours=5), expires=timezone.now() - datetime.timedelta(hours=1)
    )
    client.force_login(dr_leroy)
    assert client.get(reverse("records:patient_record", args=[camille.public_id])).status_code == 403
    assert "Mode accès" not in client.get(reverse("records:my_patients")).content.decode()


def test_one_emergency_access_opens_one_patient(client, dr_leroy, camille, camille_stay, other_patient):
    from tests.factories import StayFactory

    StayFactory(patient=other_patient, unit=camille_stay.unit)
    emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason=REASON)
    client.force_login(dr_leroy)
    assert client.get(reverse("records:patient_record", args=[other_patient.public_id])).status_code == 403


def test_a_reason_is_required(dr_leroy, camille, camille_stay):
    with pytest.raises(InvalidInput):
        emergency.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason="  urgent ")
    assert not EmergencyAccess.objects.exists()
    assert not AuditEvent.objects.filter(action="emergency_access").exists()


def test_the_page_refuses_an_empty_reason_in_french(client, dr_leroy, camille, camille_stay):
    client.force_login(dr_leroy)
    response = client.post(reverse("records:emergency_access", args=[camille.public_id]), {"reason": ""})
    assert response.status_code == 400
    body = response.content.decode()
    assert "motif" in body and 'id="reason-error"' in body  # the bound form comes back with its error
    assert not EmergencyAccess.objects.exists()


def test_a_member_of_the_care_team_needs_no_emergency_access(dr_bernard, camille, camille_stay):
    with pytest.raises(Conflict):
        emergency.emergency_access_grant(actor=dr_bernard, patient_id=camille.public_id, reason=REASON)


@pytest.mark.parametrize("who", ["dr_moreau", "dpo"])
def test_only_chu_staff_may_break_the_glass_on_the_hospital_record(request, who, camille, camille_stay):
    user = request.getfixturevalue(who)
    with pytest.raises(AccessDenied) as refused:
        emergency.emergency_access_grant(actor=user, patient_id=camille.public_id, reason=REASON)
    assert refused.value.status == 403
    assert AuditEvent.objects.filter(actor_username=user.username, outcome="denied", action="emergency_access").exists()
