"""The visibility rules of docs/domain.md, as sentences: who sees which DMP document."""

import datetime

import pytest
from django.utils import timezone

from audit.constants import Mode
from chu_portal.errors import AccessDenied, Conflict
from dmp import access
from dmp.consent import blocking, grants
from dmp.constants import DocumentType, RecordStatus
from dmp.models import AccessMatrixEntry, SharedDocument
from dmp.services import documents, record_settings

from .conftest import MINIMAL_PDF, grant

pytestmark = pytest.mark.django_db


def visible_ids(user, patient):
    return {d.public_id for d in access.documents_visible_to(user, patient)}


def test_the_patient_sees_her_fed_documents(camille, fed_letter):
    assert visible_ids(camille.account, camille) == {fed_letter.public_id}


def test_gp_still_sees_a_masked_document(camille, dr_moreau, fed_letter):
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    assert fed_letter.public_id in visible_ids(dr_moreau, camille)
    document, decision = documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    assert decision.mode == Mode.GP and document.masked


def test_author_still_sees_a_masked_document_but_only_that_document(camille, dr_bernard, fed_letter):
    """CSP R.1111-49: the author reads his masked document; authorship opens neither the list nor the record."""
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    assert visible_ids(dr_bernard, camille) == set()
    _document, decision = documents.document_open(actor=dr_bernard, document_id=fed_letter.public_id)
    assert decision.mode == Mode.AUTHOR


def test_authorised_outsider_is_not_told_a_masked_document_exists(camille, camille_dmp, dr_garnier, fed_letter):
    grant(camille_dmp, dr_garnier)
    assert visible_ids(dr_garnier, camille) == {fed_letter.public_id}
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    page = documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert page.documents == [] and page.total == 0
    with pytest.raises(AccessDenied) as refused:
        documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)
    assert refused.value.status == 404
    with pytest.raises(AccessDenied) as refused:
        documents.document_content(actor=dr_garnier, document_id=fed_letter.public_id)
    assert refused.value.status == 404


def test_emergency_access_does_not_reveal_a_masked_document(camille, camille_dmp, dr_garnier, fed_letter):
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    for mode in (Mode.EMERGENCY, Mode.SAMU):
        assert not access.documents_in(dr_garnier, camille_dmp, mode).exists()


def test_pharmacist_does_not_read_an_operative_report(camille, camille_dmp, ph_fournier, fed_letter, operative_report):
    grant(camille_dmp, ph_fournier)
    assert visible_ids(ph_fournier, camille) == {fed_letter.public_id}
    with pytest.raises(AccessDenied) as refused:
        documents.document_open(actor=ph_fournier, document_id=operative_report.public_id)
    assert refused.value.status == 404


def test_the_matrix_is_data_an_admin_edits(camille, camille_dmp, ph_fournier, operative_report):
    grant(camille_dmp, ph_fournier)
    assert visible_ids(ph_fournier, camille) == set()
    AccessMatrixEntry.objects.filter(profession="pharmacien", document_key=DocumentType.OPERATIVE_REPORT).update(
        allowed=True
    )
    assert visible_ids(ph_fournier, camille) == {operative_report.public_id}


def test_blocked_professional_sees_nothing_even_with_a_grant(camille, camille_dmp, dr_garnier, fed_letter):
    grant(camille_dmp, dr_garnier)
    blocking.professional_block(actor=camille.account, rpps=dr_garnier.rpps)
    assert visible_ids(dr_garnier, camille) == set()
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert refused.value.code == "blocked"
    blocking.professional_unblock(actor=camille.account, rpps=dr_garnier.rpps)
    assert visible_ids(dr_garnier, camille) == {fed_letter.public_id}


def test_the_gp_cannot_be_blocked_while_he_holds_the_rights(camille, camille_dmp, dr_moreau, fed_letter):
    """CSP L.1111-16: the médecin traitant reads the whole DMP; the patient removes the designation first."""
    with pytest.raises(Conflict) as refused:
        blocking.professional_block(actor=camille.account, rpps=dr_moreau.rpps)
    assert refused.value.status == 409 and "retirez d'abord sa désignation" in str(refused.value)
    assert visible_ids(dr_moreau, camille) == {fed_letter.public_id}


def test_patient_does_not_see_an_invisible_document_until_a_professional_releases_it(
    camille, dr_moreau, dr_garnier, camille_dmp, pdf_bytes
):
    from .conftest import upload

    document = documents.document_upload(
        actor=dr_garnier,
        patient_id=camille.public_id,
        uploaded=upload("resultat.pdf", pdf_bytes),
        title="Résultat à annoncer",
        type_code=DocumentType.LAB_REPORT,
        visible_to_patient=False,
    )
    assert document.public_id not in visible_ids(camille.account, camille)
    assert documents.documents_list(actor=camille.account, patient_id=camille.public_id).total == 0
    with pytest.raises(AccessDenied) as refused:
        documents.document_open(actor=camille.account, document_id=document.public_id)
    assert refused.value.status == 404
    assert document.public_id in visible_ids(dr_moreau, camille)  # the GP sees it, with the warning
    with pytest.raises(AccessDenied):
        documents.document_make_visible(actor=camille.account, document_id=document.public_id)
    documents.document_make_visible(actor=dr_garnier, document_id=document.public_id)
    assert document.public_id in visible_ids(camille.account, camille)


def test_a_mask_covers_every_version_of_the_document(camille, camille_dmp, dr_bernard, dr_garnier, discharge_letter):
    """Masks follow the document: the older version is masked too (lists with include_superseded, content)."""
    from records.services import reports

    first = documents.chu_document_file(report=discharge_letter, content=MINIMAL_PDF)
    amendment = reports.report_amend(actor=dr_bernard, report_id=discharge_letter.public_id, title=None, body="v2")
    signed = reports.report_sign(actor=dr_bernard, report_id=amendment.public_id)
    second = documents.chu_document_file(report=signed, content=MINIMAL_PDF)
    grant(camille_dmp, dr_garnier)
    every = {first.public_id, second.public_id}
    assert {d.public_id for d in access.documents_visible_to(dr_garnier, camille, include_superseded=True)} == every
    documents.document_mask(actor=camille.account, document_id=second.public_id)
    assert not access.documents_visible_to(dr_garnier, camille, include_superseded=True).exists()
    with pytest.raises(AccessDenied) as refused:
        documents.document_content(actor=dr_garnier, document_id=first.public_id)
    assert refused.value.status == 404
    documents.document_unmask(actor=camille.account, document_id=second.public_id)
    assert {d.public_id for d in access.documents_visible_to(dr_garnier, camille, include_superseded=True)} == every


def test_outsider_without_authorisation_is_refused_with_forbidden(camille, dr_garnier, fed_letter):
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)
    assert (refused.value.status, refused.value.code) == (403, "forbidden")


def test_another_patient_is_answered_not_found(camille, other_patient, fed_letter):
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=other_patient.account, patient_id=camille.public_id)
    assert refused.value.status == 404
    with pytest.raises(AccessDenied) as refused:
        documents.document_open(actor=other_patient.account, document_id=fed_letter.public_id)
    assert refused.value.status == 404


def test_an_opposed_dmp_refuses_professionals_but_not_the_patient(camille, camille_dmp, dr_moreau):
    """Opposition (allowed: not activated, no document): professionals refused, the patient reads her empty DMP."""
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.OPPOSED)
    with pytest.raises(AccessDenied) as refused:
        documents.documents_list(actor=dr_moreau, patient_id=camille.public_id)
    assert refused.value.code == "dmp_opposed"
    assert documents.documents_list(actor=camille.account, patient_id=camille.public_id).total == 0


def test_a_closed_dmp_refuses_everybody_the_patient_included(camille, camille_dmp, dr_moreau, fed_letter):
    """Issue 19: closing makes the DMP unreadable to everybody, its holder too (CSP R.1111-36: archived)."""
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    for who in (dr_moreau, camille.account):
        with pytest.raises(AccessDenied) as refused:
            documents.documents_list(actor=who, patient_id=camille.public_id)
        assert refused.value.code == "dmp_closed"


def test_expired_or_revoked_grant_is_never_honoured(camille, camille_dmp, dr_garnier, fed_letter):
    expired = grant(camille_dmp, dr_garnier, days=1, starts=timezone.now() - datetime.timedelta(days=2))
    assert not expired.is_live()
    assert visible_ids(dr_garnier, camille) == set()
    live = grant(camille_dmp, dr_garnier)
    assert visible_ids(dr_garnier, camille) == {fed_letter.public_id}
    grants.grant_revoke(actor=camille.account, grant_id=live.public_id)
    assert visible_ids(dr_garnier, camille) == set()


def test_patient_masks_but_does_not_delete_a_professional_document(camille, fed_letter):
    with pytest.raises(AccessDenied) as refused:
        documents.document_delete(actor=camille.account, document_id=fed_letter.public_id)
    assert refused.value.code == "forbidden"
    assert SharedDocument.objects.get(pk=fed_letter.pk).deleted_at is None


def test_only_the_patient_masks(camille, dr_moreau, fed_letter):
    with pytest.raises(AccessDenied):
        documents.document_mask(actor=dr_moreau, document_id=fed_letter.public_id)
