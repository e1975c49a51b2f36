"""DMP emergency access (bris de glace, SAMU): one patient, a reason, a window; the matrix, masks, blocks and opposition hold."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.constants import Action, Mode
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, InvalidInput
from dmp import access
from dmp.consent import blocking
from dmp.consent import emergency as consent_emergency
from dmp.constants import NotificationKind
from dmp.models import DmpEmergencyAccess, Notification
from dmp.services import documents, history, record_settings
from tests.factories import professional

pytestmark = pytest.mark.django_db

REASON = "Patiente inconsciente admise aux urgences, antécédents inconnus"


@pytest.fixture
def travel(monkeypatch):
    real_now = timezone.now

    def to(delta: datetime.timedelta):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)

    return to


@pytest.fixture
def dr_samu(db):
    user = professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.samu", first_name="Luc", last_name="Régulateur")
    user.professional.regulation = True
    user.professional.save(update_fields=["regulation"])
    return user


def visible_ids(user, patient):
    return {d.public_id for d in access.documents_visible_to(user, patient)}


def break_glass(user, patient, mode=Mode.EMERGENCY, reason=REASON):
    return consent_emergency.emergency_access_open(actor=user, patient_id=patient.public_id, reason=reason, mode=mode)


def test_breaking_the_glass_opens_the_dmp_for_four_hours_then_closes(
    camille, camille_dmp, dr_garnier, fed_letter, travel
):
    emergency = break_glass(dr_garnier, camille)
    assert emergency.expires - emergency.starts == datetime.timedelta(hours=4)
    page = documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert page.decision.mode == Mode.EMERGENCY and page.total == 1
    travel(datetime.timedelta(hours=3, minutes=59))
    assert visible_ids(dr_garnier, camille) == {fed_letter.public_id}
    travel(datetime.timedelta(hours=4, seconds=1))
    assert visible_ids(dr_garnier, camille) == set()
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert refused.value.code == "forbidden"


def test_the_window_is_a_setting(camille, camille_dmp, dr_garnier, settings):
    settings.DMP_EMERGENCY_ACCESS_HOURS = 1
    emergency = break_glass(dr_garnier, camille)
    assert emergency.expires - emergency.starts == datetime.timedelta(hours=1)


def test_one_emergency_access_opens_one_patient(camille, camille_dmp, other_patient, dr_garnier, fed_letter):
    break_glass(dr_garnier, camille)
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_garnier, patient_id=other_patient.public_id)
    assert refused.value.code == "forbidden"


def test_a_reason_is_required(camille, camille_dmp, dr_garnier):
    with pytest.raises(InvalidInput) as refused:
        break_glass(dr_garnier, camille, reason="urgence")
    assert "reason" in refused.value.fields
    assert not DmpEmergencyAccess.objects.exists()


def test_the_access_matrix_still_applies_in_an_emergency(
    camille, camille_dmp, ph_fournier, fed_letter, operative_report
):
    break_glass(ph_fournier, camille)
    # A pharmacist reads discharge letters, not operative reports (docs/domain.md, "The access matrix").
    assert visible_ids(ph_fournier, camille) == {fed_letter.public_id}
    with pytest.raises(AccessDenied) as refused:
        documents.document_open(actor=ph_fournier, document_id=operative_report.public_id)
    assert refused.value.status == 404


def test_a_masked_document_stays_hidden_even_from_the_counts(camille, camille_dmp, dr_garnier, dr_samu, fed_letter):
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    break_glass(dr_garnier, camille)
    break_glass(dr_samu, camille, mode=Mode.SAMU)
    for user in (dr_garnier, dr_samu):
        page = documents.documents_list(actor=user, patient_id=camille.public_id)
        assert page.decision.mode in (Mode.EMERGENCY, Mode.SAMU)
        assert page.documents == [] and page.total == 0
        with pytest.raises(AccessDenied) as refused:
            documents.document_content(actor=user, document_id=fed_letter.public_id)
        assert refused.value.status == 404


def test_a_patient_who_opposed_emergency_access_gets_emergency_opposed(camille, camille_dmp, dr_garnier, dr_samu):
    record_settings.record_settings_update(actor=camille.account, emergency_access_allowed=False)
    with pytest.raises(AccessDenied) as refused:
        break_glass(dr_garnier, camille)
    assert refused.value.code == "emergency_opposed" and refused.value.status == 403
    assert AuditEvent.objects.filter(
        action=Action.EMERGENCY_ACCESS, outcome="denied", reason="emergency_opposed", flagged=True
    ).exists()
    break_glass(dr_samu, camille, mode=Mode.SAMU)  # SAMU access is its own choice
    record_settings.record_settings_update(actor=camille.account, samu_access_allowed=False)
    with pytest.raises(AccessDenied) as refused:
        break_glass(dr_samu, camille, mode=Mode.SAMU, reason=REASON + " (bis)")
    assert refused.value.code == "emergency_opposed"


def test_opposing_meanwhile_ends_an_open_window(camille, camille_dmp, dr_garnier, fed_letter):
    break_glass(dr_garnier, camille)
    record_settings.record_settings_update(actor=camille.account, emergency_access_allowed=False)
    assert visible_ids(dr_garnier, camille) == set()


def test_a_blocked_professional_is_refused_even_in_an_emergency(camille, camille_dmp, dr_garnier, fed_letter):
    break_glass(dr_garnier, camille)
    blocking.professional_block(actor=camille.account, rpps=dr_garnier.rpps)
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert refused.value.code == "blocked"
    with pytest.raises(AccessDenied) as refused:
        break_glass(dr_garnier, camille, reason=REASON + " encore")
    assert refused.value.code == "blocked"


def test_samu_mode_is_for_regulation_doctors(camille, camille_dmp, dr_garnier, dr_samu, fed_letter):
    with pytest.raises(AccessDenied) as refused:
        break_glass(dr_garnier, camille, mode=Mode.SAMU)
    assert refused.value.code == "forbidden"
    break_glass(dr_samu, camille, mode=Mode.SAMU)
    assert documents.documents_list(actor=dr_samu, patient_id=camille.public_id).decision.mode == Mode.SAMU
    with pytest.raises(InvalidInput):
        break_glass(dr_samu, camille, mode="gp")


def test_a_second_window_while_one_is_open_is_a_conflict(camille, camille_dmp, dr_garnier):
    break_glass(dr_garnier, camille)
    with pytest.raises(Conflict):
        break_glass(dr_garnier, camille)


@pytest.mark.parametrize("mode,flag", [(Mode.EMERGENCY, "emergency_access"), (Mode.SAMU, "samu_access")])
def test_the_trace_and_every_read_under_it_are_flagged_for_the_dpo(
    camille, camille_dmp, dr_garnier, dr_samu, fed_letter, mode, flag
):
    user = dr_samu if mode == Mode.SAMU else dr_garnier
    emergency = break_glass(user, camille, mode=mode)
    opened = AuditEvent.objects.get(action=Action.EMERGENCY_ACCESS, object_id=str(emergency.public_id))
    assert opened.flagged and opened.flag_reason == flag and opened.reason == REASON
    documents.document_open(actor=user, document_id=fed_letter.public_id)
    read = AuditEvent.objects.get(action=Action.READ, actor_id=user.public_id)
    assert read.mode == mode and read.flagged


def test_the_patient_is_notified_at_once(camille, camille_dmp, dr_garnier):
    break_glass(dr_garnier, camille)
    note = Notification.objects.get(recipient=camille.account, kind=NotificationKind.EMERGENCY_ACCESS)
    assert "Dr Paul Garnier" in note.message and REASON in note.message and note.read_at is None


def test_the_patient_sees_the_alert_at_her_next_login_until_she_has_seen_it(client, camille, camille_dmp, dr_garnier):
    break_glass(dr_garnier, camille)
    client.force_login(camille.account)
    for url in ("/dmp/", "/dmp/profil-medical/"):
        body = client.get(url).content.decode()
        assert 'id="dmp-emergency-alert"' in body and "Dr Paul Garnier" in body
    response = client.post("/dmp/alertes-urgence/vues/")
    assert response.status_code == 302 and response["Location"] == "/dmp/historique-des-acces/"
    assert 'id="dmp-emergency-alert"' not in client.get("/dmp/").content.decode()


def test_the_professional_sees_the_emergency_banner_on_every_page_meanwhile(
    client, camille, camille_dmp, dr_garnier, travel
):
    break_glass(dr_garnier, camille)
    client.force_login(dr_garnier)
    for url in ("/dmp/pro/", f"/dmp/patients/{camille.public_id}/", "/dmp/pro/demandes/"):
        body = client.get(url).content.decode()
        assert 'id="dmp-emergency-banner"' in body and camille.display_name in body
    travel(datetime.timedelta(hours=5))
    assert 'id="dmp-emergency-banner"' not in client.get("/dmp/pro/").content.decode()


def test_the_emergency_shows_in_the_patient_access_history(camille, camille_dmp, dr_garnier, fed_letter):
    break_glass(dr_garnier, camille)
    documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)
    events = history.access_history(actor=camille.account).events
    assert {(e.action, e.mode) for e in events} >= {("emergency_access", "emergency"), ("read", "emergency")}
