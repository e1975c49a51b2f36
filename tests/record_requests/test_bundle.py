"""What a copy of the hospital record holds (issue 22, point 3): identity, stays, diagnoses, procedures, the latest
signed reports and never drafts, handover notes only when included, never a minor's secret stay for her
representatives, a table of contents whose page numbers are right; bounded queries; a PDF with no active content."""

import datetime
import re

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Role
from dmp import files
from record_requests.constants import RequesterKind
from record_requests.services import bundle
from records.constants import InsStatus, ReportStatus, RepresentationKind
from records.models import HandoverNote, Patient, Representation
from tests.factories import DiagnosisFactory, PatientFactory, ProcedureFactory, ReportFactory, StayFactory, UserFactory

from .bundle_cast import pdf_pages, pdf_text, validated_request

pytestmark = pytest.mark.django_db


def rendered(request, tmp_path) -> tuple[bundle.Rendered, list[str]]:
    path = str(tmp_path / "copy.pdf")
    result = bundle.render(bundle.bundle_plan(request), path)
    return result, pdf_pages(path)


@pytest.fixture
def amended(camille_stay, dr_bernard):
    """A discharge letter signed, then amended by a signed version 2, then by a draft version 3."""
    first = ReportFactory(
        stay=camille_stay, author=dr_bernard, title="Compte rendu opératoire", body="PREMIERE-VERSION"
    )
    second = ReportFactory(
        stay=camille_stay,
        author=dr_bernard,
        title="Compte rendu opératoire",
        body="DEUXIEME-VERSION",
        version=2,
        replaces=first,
    )
    ReportFactory(
        stay=camille_stay,
        author=dr_bernard,
        title="Compte rendu opératoire",
        body="TROISIEME-BROUILLON",
        version=3,
        replaces=second,
        status=ReportStatus.DRAFT,
        signed_at=None,
    )
    return second


def test_the_copy_holds_signed_reports_and_never_drafts(
    camille, camille_stay, discharge_letter, draft_report, tmp_path
):
    draft_report.body = "BROUILLON-NON-SIGNE"
    draft_report.save()
    request = validated_request(camille, [camille_stay])
    result, pages = rendered(request, tmp_path)
    text = "\n".join(pages)
    assert "Lettre de liaison" in text and "Sortie à domicile. Traitement inchangé." in text
    assert "Dr Sophie Bernard" in text
    assert "Échocardiographie" not in text and "BROUILLON-NON-SIGNE" not in text
    assert result.contents.reports == [str(discharge_letter.public_id)]
    assert str(draft_report.public_id) not in result.contents.reports


def test_only_the_latest_signed_version_of_an_amended_report_with_a_mention(camille, camille_stay, amended, tmp_path):
    result, pages = rendered(validated_request(camille, [camille_stay]), tmp_path)
    text = "\n".join(pages)
    assert "DEUXIEME-VERSION" in text
    assert "PREMIERE-VERSION" not in text and "TROISIEME-BROUILLON" not in text
    assert "Compte rendu modifié : version 2" in text
    assert result.contents.reports == [str(amended.public_id)]


def test_stays_diagnoses_principal_first_and_procedures(camille, camille_stay, tmp_path):
    DiagnosisFactory(stay=camille_stay, code="E11.9", label="Diabète de type 2 sans complication")
    ProcedureFactory(stay=camille_stay, code="DZQM006", label="Échographie-doppler transthoracique du coeur")
    _result, pages = rendered(validated_request(camille, [camille_stay]), tmp_path)
    text = "\n".join(pages)
    assert "Hospitalisation — Cardiologie" in text
    principal = text.index("I48.0 — Fibrillation atriale paroxystique (diagnostic principal)")
    assert principal < text.index("E11.9 — Diabète de type 2 sans complication")
    assert "DEQP003" in text and "DZQM006" in text


def test_handover_notes_only_when_the_doctor_includes_them(camille, camille_stay, dr_bernard, tmp_path):
    note = HandoverNote.objects.create(stay=camille_stay, author=dr_bernard, body="TRANSMISSION-DE-NUIT surveiller")
    without, pages = rendered(validated_request(camille, [camille_stay]), tmp_path)
    assert "TRANSMISSION-DE-NUIT" not in "\n".join(pages) and without.contents.handover_notes == []
    assert "les transmissions entre équipes n'y figurent pas" in pages[0]
    with_notes, pages = rendered(validated_request(camille, [camille_stay], include_handover_notes=True), tmp_path)
    assert "TRANSMISSION-DE-NUIT" in "\n".join(pages)
    assert with_notes.contents.handover_notes == [str(note.public_id)]
    assert with_notes.contents.as_json(True)["handover_notes_included"] is True


@pytest.fixture
def lucas(db):
    today = timezone.localdate()
    account = UserFactory(role=Role.PATIENT, username="lucas.martin", first_name="Lucas", last_name="Martin")
    return PatientFactory(
        birth_name="MARTIN",
        first_names="Lucas",
        sex="M",
        birth_date=today.replace(year=today.year - 15) - datetime.timedelta(days=40),
        account=account,
    )


@pytest.fixture
def mother(camille, lucas):
    return Representation.objects.create(
        representative=camille.account,
        patient=lucas,
        kind=RepresentationKind.PARENT,
        relation="mère",
        identity_checked=True,
    )


@pytest.fixture
def lucas_stays(lucas, cardiology, orthopaedics, dr_bernard, dr_leroy):
    """An ordinary stay, and one Lucas keeps secret from his parents (CSP L.1111-5)."""
    ordinary = StayFactory(patient=lucas, unit=orthopaedics)
    DiagnosisFactory(stay=ordinary, code="S52.5", label="Fracture de l'extrémité inférieure du radius", principal=True)
    ReportFactory(stay=ordinary, author=dr_leroy, title="Compte rendu de plâtre", body="Plâtre antébrachial.")
    secret = StayFactory(patient=lucas, unit=cardiology, secret_from_representatives=True)
    DiagnosisFactory(stay=secret, code="Z30.0", label="CONSULTATION-CONFIDENTIELLE", principal=True)
    ReportFactory(stay=secret, author=dr_bernard, title="SUIVI-SECRET", body="CORPS-SECRET")
    return ordinary, secret


def test_a_representatives_copy_never_holds_the_minors_secret_stay_nor_says_it_exists(
    lucas, mother, lucas_stays, tmp_path
):
    ordinary, secret = lucas_stays
    request = validated_request(
        lucas,
        [ordinary, secret],
        requested_by=mother.representative,
        kind=RequesterKind.REPRESENTATIVE,
        representation=mother,
    )
    plan = bundle.bundle_plan(request)
    assert [s.stay for s in plan.stays] == [ordinary]
    result, pages = rendered(request, tmp_path)
    text = "\n".join(pages)
    assert "Compte rendu de plâtre" in text and "S52.5" in text
    for hidden in ("CONSULTATION-CONFIDENTIELLE", "SUIVI-SECRET", "CORPS-SECRET", "Z30.0", "Cardiologie", "secret"):
        assert hidden not in text
    assert str(secret.public_id) not in result.contents.stays
    assert "Camille Martin (mère), représentant légal" in pages[0]


def test_the_patients_own_copy_holds_the_stay_kept_from_her_parents(lucas, lucas_stays, tmp_path):
    ordinary, secret = lucas_stays
    _result, pages = rendered(validated_request(lucas, [ordinary, secret]), tmp_path)
    assert "SUIVI-SECRET" in "\n".join(pages)


def test_only_the_requested_stays_are_copied(camille, camille_stay, orthopaedics, tmp_path):
    other = StayFactory(patient=camille, unit=orthopaedics)
    ReportFactory(stay=other, title="HORS-DEMANDE")
    result, pages = rendered(validated_request(camille, [camille_stay]), tmp_path)
    assert "HORS-DEMANDE" not in "\n".join(pages) and result.contents.stays == [str(camille_stay.public_id)]


def test_a_table_of_contents_gives_each_stays_page(camille, cardiology, orthopaedics, dr_bernard, tmp_path):
    stays = []
    for n, unit in enumerate((cardiology, orthopaedics, cardiology)):
        admitted = timezone.now() - datetime.timedelta(days=300 - 50 * n)
        stay = StayFactory(
            patient=camille, unit=unit, admitted_at=admitted, discharged_at=admitted + datetime.timedelta(days=4)
        )
        # Long reports: each stay runs over several pages.
        ReportFactory(stay=stay, author=dr_bernard, title=f"Compte rendu {n}", body="Texte du compte rendu. " * 900)
        stays.append(stay)
    result, pages = rendered(validated_request(camille, stays), tmp_path)
    assert result.page_count == len(pages) > 6
    toc = pages[0]
    assert "Sommaire" in toc
    starts = []
    for stay in stays:
        title = bundle.stay_title(stay)
        # The table draws each entry's page number, then its title.
        found = re.search(r"(\d+) " + re.escape(title), toc)
        assert found, title
        page = int(found.group(1))
        assert title in pages[page - 1] and f"Page {page}" in pages[page - 1]
        assert title not in pages[page - 2] or page - 2 == 0
        starts.append(page)
    assert starts == sorted(starts) and len(set(starts)) == 3 and starts[0] >= 2


def test_the_cover_shows_the_identity_and_the_ins_only_when_qualified(camille, camille_stay, dr_bernard, tmp_path):
    request = validated_request(camille, [camille_stay], validated_by=dr_bernard)
    _result, pages = rendered(request, tmp_path)
    cover = pages[0]
    assert "Nom de naissance : MARTIN" in cover and "Prénoms : Camille" in cover
    assert "Date de naissance : 12/03/1984" in cover and f"IPP : {camille.ipp}" in cover
    assert f"INS (matricule) : {camille.nir}" in cover
    assert f"À communiquer au plus tard le {request.due_on:%d/%m/%Y}" in cover
    assert "Validée par Dr Sophie Bernard" in cover
    assert "MARTIN Camille, la personne elle-même" in cover
    Patient.objects.filter(pk=camille.pk).update(
        ins_status=InsStatus.PROVISIONAL, ins_retrieved_at=None, identity_qualified_at=None
    )
    request.refresh_from_db()
    _result, pages = rendered(request, tmp_path)
    assert "INS (matricule)" not in pages[0] and camille.nir not in pages[0]


def test_the_plan_is_one_query_whatever_the_number_of_stays(camille, cardiology, dr_bernard, django_assert_num_queries):
    stays = [StayFactory(patient=camille, unit=cardiology) for _ in range(6)]
    for stay in stays:
        ReportFactory(stay=stay, author=dr_bernard)
        ReportFactory(stay=stay, author=dr_bernard, status=ReportStatus.DRAFT, signed_at=None)
        DiagnosisFactory(stay=stay)
        HandoverNote.objects.create(stay=stay, author=dr_bernard, body="Note")
    request = validated_request(camille, stays, include_handover_notes=True)
    request = type(request).objects.select_related("patient").get(pk=request.pk)
    with django_assert_num_queries(1):
        plan = bundle.bundle_plan(request)
    assert len(plan.stays) == 6
    assert {(s.reports, s.diagnoses, s.handover_notes) for s in plan.stays} == {(1, 1, 1)}
    assert plan.report_count == 6 and plan.handover_note_count == 6


def test_the_pdf_has_no_active_content_and_reads_as_text(camille, camille_stay, discharge_letter, tmp_path):
    path = tmp_path / "copy.pdf"
    bundle.render(bundle.bundle_plan(validated_request(camille, [camille_stay])), str(path))
    data = path.read_bytes()
    # The table of contents' links go inside the document only: the upload inspection accepts it.
    assert files.inspect(ContentFile(data, name="copy.pdf")).mime_type == "application/pdf"
    assert "Lettre de liaison" in pdf_text(data)


def test_the_story_is_read_lazily_a_few_flowables_ahead():
    consumed = []

    def source():
        for n in range(1000):
            consumed.append(n)
            yield n

    story = bundle._Story(source())
    assert len(story) == bundle.LOOKAHEAD and story[0] == 0
    del story[0]
    assert story[0] == 1 and len(consumed) <= bundle.LOOKAHEAD + 1
    story.insert(0, "split")
    assert story[0] == "split"


def test_rendering_reads_the_record_in_a_bounded_number_of_queries_per_stay(camille, cardiology, dr_bernard, tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(reports_per_stay: int) -> int:
        stays = [StayFactory(patient=camille, unit=cardiology) for _ in range(3)]
        for stay in stays:
            for n in range(reports_per_stay):
                author = dr_bernard if n % 2 else ReportFactory(stay=stay).author  # several authors
                ReportFactory(stay=stay, author=author, title=f"Compte rendu {n}")
                HandoverNote.objects.create(stay=stay, author=author, body=f"Note {n}")
        request = validated_request(camille, stays, include_handover_notes=True)
        plan = bundle.bundle_plan(request)
        with CaptureQueriesContext(connection) as captured:
            bundle.render(plan, str(tmp_path / f"copy-{reports_per_stay}.pdf"))
        return len(captured)

    assert queries_for(2) == queries_for(12)  # no query per report, per author or per note


def test_an_heirs_copy_says_who_asked_and_why(camille, camille_stay, discharge_letter, tmp_path):
    from record_requests.constants import HeirReason

    clerk = UserFactory(role=Role.CHU_COLLABORATOR, username="arch.clerk")
    request = validated_request(
        camille,
        [camille_stay],
        requested_by=clerk,
        kind=RequesterKind.HEIR,
        heir_name="Paul MARTIN",
        heir_relation="fils",
        heir_reason=HeirReason.CAUSE_OF_DEATH,
        death_date=datetime.date(2026, 1, 5),
    )
    _result, pages = rendered(request, tmp_path)
    assert "Paul MARTIN (fils), ayant droit — motif : Connaître les causes de la mort ; décès le 05/01/2026" in pages[0]
