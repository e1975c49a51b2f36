"""The INSi seam (records/ins.py): an identity is retrieved only through it, with matching traits, and qualified only
once retrieved and its ID document checked; a typed NIR alone is never fed."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict
from dmp.constants import FeedStatus
from dmp.models import FeedItem, SharedDocument
from records import ins
from records.constants import InsStatus, ReportStatus, ReportType
from records.models import InsRegistryEntry, Patient
from records.services import patients, reports
from tests.factories import PatientFactory, ReportFactory, StayFactory, register_ins, synthetic_nir

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DMP_FEED_RETRY_BACKOFF_SECONDS = 0


@pytest.fixture
def jules(cardiology):
    """Admitted with a NIR typed from his carte Vitale: provisional, nothing retrieved, nothing checked."""
    patient = PatientFactory(
        birth_name="PETIT",
        first_names="Jules Antoine",
        birth_date=datetime.date(1990, 5, 3),
        sex="M",
        birth_place="69123",
        ins_status=InsStatus.PROVISIONAL,
        identity_document_checked=False,
        identity_qualified_at=None,
    )
    StayFactory(patient=patient, unit=cardiology)
    return patient


@pytest.fixture
def waiting_letter(jules, dr_bernard, django_capture_on_commit_callbacks):
    """A discharge letter signed while his identity is not qualified: it waits."""
    draft = ReportFactory(
        stay=jules.stays.get(),
        author=dr_bernard,
        type_code=ReportType.DISCHARGE_LETTER,
        status=ReportStatus.DRAFT,
        signed_at=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        reports.report_sign(actor=dr_bernard, report_id=draft.public_id)
    item = FeedItem.objects.get(report=draft)
    assert item.status == FeedStatus.WAITING_IDENTITY
    return item


def status_of(patient) -> str:
    return Patient.objects.get(pk=patient.pk).ins_status


# --- A typed NIR alone --------------------------------------------------------------------------


def test_a_typed_nir_and_a_checked_document_validate_the_identity_but_never_qualify_it(
    jules, inf_roux, waiting_letter, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        patient = patients.identity_qualify(actor=inf_roux, patient_id=jules.public_id, document_checked=True)
    assert patient.ins_status == InsStatus.VALIDATED and patient.identity_qualified_at is None
    waiting_letter.refresh_from_db()
    assert waiting_letter.status == FeedStatus.WAITING_IDENTITY
    assert not SharedDocument.objects.filter(record__patient=jules).exists()
    # Ticking the box again does not qualify it either: only a retrieval can.
    with pytest.raises(Conflict, match="téléservice INSi"):
        patients.identity_qualify(actor=inf_roux, patient_id=jules.public_id, document_checked=True)
    assert status_of(jules) == InsStatus.VALIDATED
    assert AuditEvent.objects.filter(action="validate_identity", patient_id=jules.public_id).count() == 1
    assert not AuditEvent.objects.filter(action="qualify_identity", patient_id=jules.public_id).exists()


def test_the_database_refuses_a_retrieved_or_qualified_identity_without_a_retrieval(jules):
    for status in (InsStatus.RETRIEVED, InsStatus.QUALIFIED):
        with pytest.raises(IntegrityError), transaction.atomic():
            Patient.objects.filter(pk=jules.pk).update(
                ins_status=status, identity_document_checked=True, identity_qualified_at=timezone.now()
            )
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(ins_retrieved_at=None)  # qualified by default


# --- Not found, mismatch, duplicate: nothing changes ---------------------------------------------


def test_an_identity_the_registry_does_not_know_stays_as_it_is(jules, inf_roux):
    with pytest.raises(Conflict, match="aucune identité unique"):
        patients.identity_retrieve_ins(actor=inf_roux, patient_id=jules.public_id)
    after = Patient.objects.get(pk=jules.pk)
    assert (after.ins_status, after.nir, after.ins_retrieved_at) == (InsStatus.PROVISIONAL, jules.nir, None)
    refusal = AuditEvent.objects.get(action="retrieve_ins", patient_id=jules.public_id)
    assert refusal.outcome == "denied" and refusal.reason.startswith("ins_not_found")


@pytest.mark.parametrize(
    "change,named",
    [
        ({"first_names": "Jules"}, "prénoms (INSi : JULES)"),
        ({"birth_place": "69381"}, "lieu de naissance (INSi : 69381)"),
    ],
)
def test_traits_that_differ_from_the_national_ones_are_refused_with_the_difference_named(
    jules, inf_roux, waiting_letter, change, named
):
    register_ins(jules, **change)
    with pytest.raises(Conflict) as refused:
        patients.identity_retrieve_ins(actor=inf_roux, patient_id=jules.public_id)
    assert named in refused.value.message and "L'identité n'a pas changé" in refused.value.message
    assert status_of(jules) == InsStatus.PROVISIONAL
    assert AuditEvent.objects.get(action="retrieve_ins", patient_id=jules.public_id).reason.startswith(
        "ins_traits_mismatch"
    )
    waiting_letter.refresh_from_db()
    assert waiting_letter.status == FeedStatus.WAITING_IDENTITY


def test_the_search_needs_the_birth_name_first_name_sex_and_birth_date(jules, inf_roux):
    register_ins(jules, birth_date=datetime.date(1990, 5, 4))
    InsRegistryEntry.objects.create(
        nir=synthetic_nir("M", jules.birth_date, department="75"),
        birth_name="PETIT",
        first_names="JULIEN",
        birth_date=jules.birth_date,
        sex="M",
    )
    assert ins.client().retrieve(ins.Traits.of(jules)) is None


def test_a_matricule_held_by_another_patient_is_a_possible_duplicate(jules, inf_roux, camille):
    InsRegistryEntry.objects.filter(nir=camille.nir).delete()
    register_ins(jules)
    InsRegistryEntry.objects.filter(nir=jules.nir).update(nir=camille.nir)  # the registry gives him her matricule
    with pytest.raises(Conflict, match="doublon possible"):
        patients.identity_retrieve_ins(actor=inf_roux, patient_id=jules.public_id)
    assert status_of(jules) == InsStatus.PROVISIONAL


def test_only_chu_staff_retrieve_an_ins(jules, dr_moreau):
    register_ins(jules)
    with pytest.raises(AccessDenied):
        patients.identity_retrieve_ins(actor=dr_moreau, patient_id=jules.public_id)
    assert status_of(jules) == InsStatus.PROVISIONAL


# --- Retrieval, then the document: qualified, and the feed goes ---------------------------------


def test_retrieval_then_the_document_qualifies_and_releases_what_waited(
    jules, inf_roux, waiting_letter, django_capture_on_commit_callbacks
):
    register_ins(jules, first_names="Jules Antoine")  # the national writing: JULES ANTOINE
    retrieved = patients.identity_retrieve_ins(actor=inf_roux, patient_id=jules.public_id)
    assert retrieved.ins_status == InsStatus.RETRIEVED and retrieved.ins_retrieved_at is not None
    waiting_letter.refresh_from_db()
    assert waiting_letter.status == FeedStatus.WAITING_IDENTITY  # retrieved is not qualified
    with pytest.raises(Conflict, match="déjà été récupérée"):
        patients.identity_retrieve_ins(actor=inf_roux, patient_id=jules.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        qualified = patients.identity_qualify(actor=inf_roux, patient_id=jules.public_id, document_checked=True)
    assert qualified.ins_status == InsStatus.QUALIFIED
    waiting_letter.refresh_from_db()
    assert waiting_letter.status == FeedStatus.DELIVERED
    assert SharedDocument.objects.filter(record__patient=jules).count() == 1
    actions = list(
        AuditEvent.objects.filter(patient_id=jules.public_id, outcome="allowed", object_type="patient_identity")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["retrieve_ins", "qualify_identity"]


def test_the_document_then_the_retrieval_qualifies_with_the_national_matricule(
    jules, inf_roux, waiting_letter, django_capture_on_commit_callbacks
):
    national = synthetic_nir("M", jules.birth_date, department="69")
    register_ins(jules)
    InsRegistryEntry.objects.filter(nir=jules.nir).update(nir=national)  # the typed NIR was not his INS
    patients.identity_qualify(actor=inf_roux, patient_id=jules.public_id, document_checked=True)
    with django_capture_on_commit_callbacks(execute=True):
        patient = patients.identity_retrieve_ins(actor=inf_roux, patient_id=jules.public_id)
    assert patient.ins_status == InsStatus.QUALIFIED and patient.nir == national
    waiting_letter.refresh_from_db()
    assert waiting_letter.status == FeedStatus.DELIVERED


def test_names_compare_in_the_national_writing(db):
    local = ins.Traits("Dubois-Lefèvre", "Léa  Zoé", datetime.date(1992, 2, 21), "F", "13055")
    national = ins.Traits("DUBOIS-LEFEVRE", "LEA ZOE", datetime.date(1992, 2, 21), "F", "13055")
    assert ins.differences(local, national) == []
    assert ins.differences(local, ins.Traits("DUBOIS LEFEVRE", "LEA", local.birth_date, "F", "")) == [
        "birth_name",
        "first_names",
        "birth_place",
    ]


class RefusingClient:
    calls = []

    def retrieve(self, traits):
        self.calls.append(traits)
        return None


def test_the_client_is_the_one_the_setting_names(jules, inf_roux, settings):
    register_ins(jules)  # the local registry knows him, but another client is named
    settings.INSI_CLIENT = "tests.records.test_ins_seam.RefusingClient"
    with pytest.raises(Conflict):
        patients.identity_retrieve_ins(actor=inf_roux, patient_id=jules.public_id)
    assert RefusingClient.calls and RefusingClient.calls[-1].birth_name == "PETIT"


# --- Pages and API --------------------------------------------------------------------------------


def test_the_record_page_shows_the_status_the_next_step_and_the_retrieval(client, jules, inf_roux):
    register_ins(jules)
    client.force_login(inf_roux)
    url = reverse("records:patient_record", args=[jules.public_id])
    page = client.get(url).content.decode()
    assert "Provisoire" in page and "Récupérer l&#x27;INS auprès du téléservice INSi" in page
    assert "Vérifier la pièce d&#x27;identité" in page
    assert reverse("records:retrieve_ins", args=[jules.public_id]) in page
    response = client.post(reverse("records:retrieve_ins", args=[jules.public_id]), follow=True)
    page = response.content.decode()
    assert status_of(jules) == InsStatus.RETRIEVED and "INS récupérée" in page
    assert reverse("records:retrieve_ins", args=[jules.public_id]) not in page
    assert "Qualifier l'identité" in page


def test_the_record_page_says_why_a_retrieval_failed(client, jules, inf_roux):
    register_ins(jules, first_names="Jules")
    client.force_login(inf_roux)
    page = client.post(reverse("records:retrieve_ins", args=[jules.public_id]), follow=True).content.decode()
    assert "prénoms (INSi : JULES)" in page and status_of(jules) == InsStatus.PROVISIONAL


def test_the_api_retrieves_then_qualifies(api, jules, inf_roux):
    register_ins(jules)
    api.as_user(inf_roux)
    response = api.post(f"/api/v1/patients/{jules.public_id}/retrieve-ins/")
    assert response.status_code == 200 and response.json()["ins_status"] == "retrieved"
    assert api.post(f"/api/v1/patients/{jules.public_id}/retrieve-ins/").status_code == 409
    response = api.post(
        f"/api/v1/patients/{jules.public_id}/qualify-identity/", {"document_checked": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["ins_status"] == "qualified"
