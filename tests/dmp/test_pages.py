"""The DMP pages of patients and professionals, in French, over the same services."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dmp import access
from dmp.constants import DocumentType
from dmp.models import Designation, SharedDocument
from dmp.services import activation, documents
from tests.conftest import VerifiedClient

from .conftest import MINIMAL_PDF, grant, upload

pytestmark = pytest.mark.django_db


def test_the_patient_home_leads_to_her_dmp_grouped_by_origin(client, camille, fed_letter):
    client.force_login(camille.account)
    response = client.get(reverse("accounts:home"), follow=True)
    page = response.content.decode()
    assert "Documents de l&#x27;hôpital" in page and "Mes documents" in page
    assert fed_letter.title in page


def test_patient_uploads_through_the_page_and_sees_it(client, camille, camille_dmp):
    client.force_login(camille.account)
    response = client.post(
        reverse("dmp:upload"),
        {
            "file": SimpleUploadedFile("vaccins.pdf", MINIMAL_PDF),
            "title": "Certificat de vaccination",
            "type_code": "11369-6",
        },
        follow=True,
    )
    assert "Certificat de vaccination" in response.content.decode()
    assert SharedDocument.objects.get().source == "patient"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00" + b"\x00" * 64, "programme"),
        (b"<html><script>x</script></html>", "pages web"),
        (b"", "vide"),
    ],
)
def test_a_bad_upload_shows_a_clear_french_message_and_stores_nothing(client, camille, camille_dmp, content, message):
    client.force_login(camille.account)
    response = client.post(
        reverse("dmp:upload"),
        {"file": SimpleUploadedFile("../../x.pdf", content), "title": "X", "type_code": "34133-9"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SharedDocument.objects.exists()


def test_a_bad_upload_by_script_answers_the_api_code(client, camille, camille_dmp):
    client.force_login(camille.account)
    response = client.post(
        reverse("dmp:upload"),
        {"file": SimpleUploadedFile("x.pdf", b"MZ" + b"\x00" * 10), "title": "X", "type_code": "34133-9"},
        headers={"x-requested-with": "XMLHttpRequest"},
    )
    assert response.status_code == 415 and response.json()["code"] == "unsupported_file_type"


def test_masking_tells_the_patient_who_still_sees_the_document(client, camille, fed_letter):
    client.force_login(camille.account)
    response = client.post(reverse("dmp:document_mask", args=[fed_letter.public_id]), follow=True)
    page = response.content.decode()
    assert "seuls vous, votre médecin traitant et son auteur peuvent le voir" in page
    assert "Démasquer ce document" in page


def test_the_viewer_serves_the_file_inline_and_as_a_download(client, camille, fed_letter):
    client.force_login(camille.account)
    inline = client.get(reverse("dmp:document_content", args=[fed_letter.public_id]))
    assert inline["Content-Type"] == "application/pdf" and inline["Content-Disposition"].startswith("inline")
    assert b"".join(inline.streaming_content) == MINIMAL_PDF
    download = client.get(reverse("dmp:document_content", args=[fed_letter.public_id]) + "?download=1")
    assert download["Content-Disposition"].startswith("attachment")


def test_professional_sees_the_not_visible_warning(client, camille, camille_dmp, dr_moreau, dr_garnier):
    document = documents.document_upload(
        actor=dr_garnier,
        record=camille_dmp,
        uploaded=upload("r.pdf", MINIMAL_PDF),
        title="Résultat",
        type_code=DocumentType.LAB_REPORT,
        visible_to_patient=False,
    )
    client.force_login(dr_moreau)
    page = client.get(reverse("dmp:document", args=[document.public_id])).content.decode()
    assert "Attention, ce document n'est pas visible du patient" in page
    client.post(reverse("dmp:document_make_visible", args=[document.public_id]))
    assert SharedDocument.objects.get(pk=document.pk).visible_to_patient


def test_outsider_gets_a_403_page_and_a_masked_document_is_a_404(client, camille, camille_dmp, dr_garnier, fed_letter):
    client.force_login(dr_garnier)
    assert client.get(reverse("dmp:patient_dmp", args=[camille.public_id])).status_code == 403
    grant(camille_dmp, dr_garnier)
    assert client.get(reverse("dmp:document", args=[fed_letter.public_id])).status_code == 200
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    page = client.get(reverse("dmp:patient_dmp", args=[camille.public_id])).content.decode()
    assert str(fed_letter.public_id) not in page and "0 document" in page
    assert client.get(reverse("dmp:document", args=[fed_letter.public_id])).status_code == 404


def test_external_professional_finds_a_patient_by_exact_ins_and_birth_date(client, camille, camille_dmp, dr_moreau):
    client.force_login(dr_moreau)
    response = client.get(reverse("dmp:pro_find"), {"ins": camille.nir, "birth_date": camille.birth_date.isoformat()})
    assert response.status_code == 302 and str(camille.public_id) in response["Location"]
    response = client.get(reverse("dmp:pro_find"), {"ins": camille.nir, "birth_date": "1999-01-01"})
    assert response.status_code == 404


def test_gp_dashboard_lists_new_documents_of_her_patients(client, dr_moreau, dr_garnier, fed_letter):
    client.force_login(dr_moreau)
    assert fed_letter.title in client.get(reverse("dmp:gp_dashboard")).content.decode()
    client.force_login(dr_garnier)
    assert fed_letter.title not in client.get(reverse("dmp:gp_dashboard")).content.decode()


def test_closing_the_dmp_goes_through_the_confirmation_step(client, camille, camille_dmp):
    """The settings page offers closing behind templates/_confirm.html; only its own button posts."""
    client.force_login(camille.account)
    page = client.get(reverse("dmp:settings")).content.decode()
    panel = page[page.index('id="confirm-close"') :]
    assert '<details class="confirm"' in page and 'name="status" value="closed"' in panel
    client.post(reverse("dmp:settings_status"), {"status": "closed"})
    camille_dmp.refresh_from_db()
    assert camille_dmp.status == "closed"


def test_the_gp_is_proposed_on_its_page_and_takes_effect_when_the_doctor_accepts(
    client, camille, camille_dmp, dr_moreau, dr_garnier, fed_letter
):
    """CSP L.1111-16: typing an RPPS opens nothing; the doctor accepts, then reads masked documents."""
    client.force_login(camille.account)
    client.post(reverse("dmp:settings"), {"emergency_access_allowed": "on"})
    camille_dmp.refresh_from_db()
    assert not camille_dmp.samu_access_allowed
    assert dr_moreau.display_name in client.get(reverse("dmp:settings")).content.decode()
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    client.post(reverse("dmp:designations"), {"rpps": dr_garnier.rpps, "kind": "gp_level"})
    assert access.record_decision(dr_garnier, camille_dmp).code == "forbidden"
    page = client.get(reverse("dmp:designations")).content.decode()
    assert dr_garnier.display_name in page and "Proposée" in page
    garnier = VerifiedClient()
    garnier.force_login(dr_garnier)
    (proposal,) = Designation.objects.filter(doctor=dr_garnier)
    assert camille.display_name in garnier.get(reverse("dmp:pro_designations")).content.decode()
    garnier.post(reverse("dmp:pro_designation_answer", args=[proposal.public_id, "accepter"]))
    assert access.record_decision(dr_garnier, camille_dmp).mode == "gp"
    assert fed_letter.public_id in {d.public_id for d in access.documents_visible_to(dr_garnier, camille)}
    client.post(reverse("dmp:designation_remove", args=[proposal.public_id]))
    assert access.record_decision(dr_garnier, camille_dmp).code == "forbidden"


def test_profile_history_notifications_and_blocked_pages_render(client, camille, camille_dmp, fed_letter, dr_moreau):
    client.force_login(camille.account)
    client.post(reverse("dmp:profile"), {"kind": "allergy", "label": "Pénicilline"})
    assert "Pénicilline" in client.get(reverse("dmp:profile")).content.decode()
    documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    assert "médecin traitant" in client.get(reverse("dmp:history")).content.decode()
    assert fed_letter.title in client.get(reverse("dmp:notifications")).content.decode()
    refused = client.post(reverse("dmp:blocked"), {"rpps": dr_moreau.rpps}).content.decode()
    assert "retirez d&#x27;abord sa désignation" in refused  # the GP is not blocked while he holds the rights


def test_a_patient_activates_her_space_with_the_chu_code(client, dr_bernard):
    from tests.factories import PatientFactory

    patient = PatientFactory(birth_date=datetime.date(1970, 1, 2), first_names="Nina", birth_name="ROSE")
    code, account = activation.activation_code_issue(actor=dr_bernard, patient_id=patient.public_id)
    assert not account.is_active
    bad = client.post(
        reverse("dmp:activate"), {"code": code, "birth_date": "1970-01-03", "password": "x", "password2": "x"}
    )
    assert bad.status_code == 400 and "incorrects" in bad.content.decode()
    ok = client.post(
        reverse("dmp:activate"),
        {
            "code": code,
            "birth_date": "1970-01-02",
            "password": "un-long-mot-de-passe-2026",
            "password2": "un-long-mot-de-passe-2026",
        },
    )
    assert ok.status_code == 302
    assert client.login(username=account.username, password="un-long-mot-de-passe-2026")
    again = client.post(
        reverse("dmp:activate"),
        {
            "code": code,
            "birth_date": "1970-01-02",
            "password": "un-long-mot-de-passe-2026",
            "password2": "un-long-mot-de-passe-2026",
        },
    )
    assert again.status_code == 400


def test_the_chu_issues_an_activation_code_from_the_command_line(dr_bernard, camille):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    # Camille's account is active: since issue 18 the code is an account recovery, with a reason.
    call_command(
        "issue_activation_code", camille.ipp, "--by", "dr.bernard", "--reason", "Mot de passe oublié", stdout=out
    )
    assert "activation code:" in out.getvalue() and camille.activation_codes.count() == 1


def test_a_patient_whose_identity_is_not_qualified_is_told_why_hospital_reports_wait(client, db, settings, tmp_path):
    from records.constants import InsStatus
    from tests.factories import PatientFactory, UserFactory

    settings.MEDIA_ROOT = tmp_path
    account = UserFactory(role="patient", username="jules.test")
    PatientFactory(
        account=account, ins_status=InsStatus.RETRIEVED, identity_document_checked=False, identity_qualified_at=None
    )
    client.force_login(account)
    body = client.get("/dmp/").content.decode()
    assert "En attente d'identité qualifiée" in body
