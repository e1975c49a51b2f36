"""seed_demo creates the demo cast (README), idempotently, with valid synthetic identifiers."""

import io

import pytest
from django.core.management import CommandError, call_command
from stdnum.fr import nir

from accounts.models import User
from accounts.validators import validate_rpps
from records.constants import INS_OID_TEST, InsStatus
from records.models import Patient, Report

CAST = {
    "camille.martin": "patient",
    "jules.petit": "patient",
    "lea.dubois": "patient",
    "lucas.martin": "patient",
    "dr.bernard": "chu_clinician",
    "inf.roux": "chu_collaborator",
    "dr.leroy": "chu_clinician",
    "dr.moreau": "external_professional",
    "dr.garnier": "external_professional",
    "ph.fournier": "external_professional",
    "sec.blanc": "chu_collaborator",
    "dr.samu": "external_professional",
    "archives.girard": "chu_collaborator",
    "dr.faure": "chu_clinician",
    "dpo.mercier": "dpo",
    "admin": "admin",
}


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True  # the test runner forces DEBUG off; the seed is for development
    call_command("seed_demo", stdout=io.StringIO())


def test_the_cast_has_every_role_and_the_demo_password(seeded):
    assert dict(User.objects.values_list("username", "role")) == CAST
    for user in User.objects.all():
        assert user.check_password("demo-chu-2026")
        if user.professional:
            validate_rpps(user.rpps)


def test_patients_have_valid_synthetic_ins(seeded):
    for patient in Patient.objects.all():
        assert nir.is_valid(patient.nir) and patient.ins_oid == INS_OID_TEST
    statuses = dict(Patient.objects.values_list("account__username", "ins_status"))
    assert statuses == {
        "camille.martin": InsStatus.QUALIFIED,
        "jules.petit": InsStatus.PROVISIONAL,
        "lea.dubois": InsStatus.QUALIFIED,
        "lucas.martin": InsStatus.QUALIFIED,
    }


def test_every_demo_identity_is_in_the_ins_registry_and_jules_is_retrieved_through_it(seeded):
    from records import ins

    for patient in Patient.objects.all():
        found = ins.client().retrieve(ins.Traits.of(patient))
        assert (
            found is not None and found.nir == patient.nir and not ins.differences(ins.Traits.of(patient), found.traits)
        )
    jules = Patient.objects.get(account__username="jules.petit")
    assert jules.ins_retrieved_at is None and not jules.identity_document_checked  # his journey: retrieve, check


def test_reports_are_signed_by_their_authors(seeded):
    letter = Report.objects.get(stay__patient__account__username="camille.martin", type_code="11490-0")
    assert letter.is_signed and letter.author.username == "dr.bernard"
    assert Report.objects.filter(status="signed").count() == 4


def test_seeding_twice_changes_nothing(seeded):
    from record_requests.models import RecordBundle, RecordRequest

    def counts():
        return (
            User.objects.count(),
            Patient.objects.count(),
            Report.objects.count(),
            RecordRequest.objects.count(),
            RecordBundle.objects.count(),
        )

    before = counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == before


def test_the_seed_refuses_to_run_in_production_without_force(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


def test_the_demo_story_holds(seeded, client):
    """dr.bernard opens Camille's record; dr.leroy is refused and can break the glass."""
    camille = Patient.objects.get(account__username="camille.martin")
    client.force_login(User.objects.get(username="dr.bernard"))
    assert client.get(f"/patients/{camille.public_id}/dossier/").status_code == 200
    client.force_login(User.objects.get(username="dr.leroy"))
    assert client.get(f"/patients/{camille.public_id}/dossier/").status_code == 403


def test_the_secretary_and_the_samu_regulator_are_in_the_cast(seeded):
    from accounts.models import ProfessionalProfile

    blanc = ProfessionalProfile.objects.get(user__username="sec.blanc")
    assert (blanc.profession, blanc.regulation) == ("secretaire_medicale", False)
    assert list(blanc.units.values_list("code", flat=True)) == ["CARDIO"]
    assert blanc.user.get_full_name() == "Nadia Blanc"
    samu = ProfessionalProfile.objects.get(user__username="dr.samu")
    assert (samu.profession, samu.regulation, samu.units.count()) == ("medecin", True, 0)
    assert samu.user.get_full_name() == "Hugo Lambert"
    assert ProfessionalProfile.objects.filter(regulation=True).count() == 1  # nobody else is a regulator
    call_command("seed_demo", stdout=io.StringIO())
    assert ProfessionalProfile.objects.filter(user__username__in=["sec.blanc", "dr.samu"]).count() == 2


def test_lucas_is_a_minor_camille_represents_with_one_secret_document(seeded):
    """Issue 21: Camille is Lucas's mother until his majority; one of his two documents is kept secret from her."""
    from dmp.models import SharedDocument
    from dmp.services import documents
    from records import access as records_access

    lucas = Patient.objects.get(account__username="lucas.martin")
    camille = User.objects.get(username="camille.martin")
    assert records_access.is_minor(lucas)
    assert records_access.representation_of(camille, lucas) is not None
    secret = SharedDocument.objects.get(record__patient=lucas, secret_from_representatives=True)
    shown = documents.documents_list(actor=camille, patient_id=lucas.public_id)
    assert shown.total == 1 and secret not in shown.documents
    assert documents.documents_list(actor=lucas.account, patient_id=lucas.public_id).total == 2


def test_the_records_office_and_camilles_two_requests(seeded):
    """Issue 22: the office's secretary and doctor (unit ARCH); Camille's request answered (its copy made, available,
    traced) and another waiting in the queue."""
    from accounts.models import ProfessionalProfile
    from audit.models import AuditEvent
    from record_requests.constants import RequestStatus
    from record_requests.models import RecordRequest

    girard = ProfessionalProfile.objects.get(user__username="archives.girard")
    faure = ProfessionalProfile.objects.get(user__username="dr.faure")
    assert (girard.profession, list(girard.units.values_list("code", flat=True))) == ("secretaire_medicale", ["ARCH"])
    assert (faure.profession, list(faure.units.values_list("code", flat=True))) == ("medecin", ["ARCH"])
    requests = RecordRequest.objects.filter(patient__account__username="camille.martin").order_by("received_at")
    answered, waiting = list(requests)
    assert answered.status == RequestStatus.AVAILABLE and answered.validated_by == faure.user
    assert answered.bundle.made_at is not None and answered.bundle.expires_at is not None
    assert waiting.status == RequestStatus.RECEIVED
    traced = set(
        AuditEvent.objects.filter(object_id__in=[str(answered.public_id), str(waiting.public_id)]).values_list(
            "action", flat=True
        )
    )
    assert {"create", "validate"} <= traced
