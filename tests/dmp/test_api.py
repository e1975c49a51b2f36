"""The DMP API (docs/api.md, "Shared record (DMP)"): the same rules and codes as the pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dmp.models import SharedDocument

from .conftest import MINIMAL_PDF, grant

pytestmark = pytest.mark.django_db


def docs_url(patient):
    return f"/api/v1/dmp/{patient.public_id}/documents/"


def test_patient_lists_her_documents_with_the_contract_fields(api, camille, fed_letter):
    body = api.as_user(camille.account).get(docs_url(camille)).json()
    assert body["count"] == 1
    item = body["results"][0]
    for field in (
        "id",
        "title",
        "type_code",
        "type_display",
        "class_code",
        "source",
        "author",
        "event_date",
        "created_at",
        "status",
        "masked",
        "visible_to_patient",
        "size",
        "sha256",
        "content_url",
    ):
        assert field in item
    assert item["source"] == "chu" and item["type_code"] == "11490-0"


def test_patient_uploads_masks_and_deletes_through_the_api(api, camille, camille_dmp):
    client = api.as_user(camille.account)
    created = client.post(
        docs_url(camille),
        {"file": SimpleUploadedFile("v.pdf", MINIMAL_PDF), "title": "Vaccins", "type_code": "11369-6"},
        format="multipart",
    )
    assert created.status_code == 201 and created.json()["class_code"] == "90"
    doc_id = created.json()["id"]
    assert client.post(f"/api/v1/dmp/documents/{doc_id}/mask/").json()["masked"] is True
    assert client.post(f"/api/v1/dmp/documents/{doc_id}/unmask/").json()["masked"] is False
    content = client.get(f"/api/v1/dmp/documents/{doc_id}/content/")
    assert content.status_code == 200 and b"".join(content.streaming_content) == MINIMAL_PDF
    assert client.delete(f"/api/v1/dmp/documents/{doc_id}/").status_code == 204
    assert client.get(f"/api/v1/dmp/documents/{doc_id}/").status_code == 404


@pytest.mark.parametrize(
    ("content", "code", "status"),
    [
        (b"\x7fELF" + b"\x00" * 40, "unsupported_file_type", 415),
        (b"<html><body>hi</body></html>", "active_content", 415),
        (b"", "empty_file", 400),
    ],
)
def test_bad_uploads_answer_their_code_and_store_nothing(api, camille, camille_dmp, content, code, status):
    response = api.as_user(camille.account).post(
        docs_url(camille), {"file": SimpleUploadedFile("x.pdf", content), "title": "X"}, format="multipart"
    )
    assert response.status_code == status and response.json()["code"] == code
    assert not SharedDocument.objects.exists()


def test_too_large_upload_answers_413(api, camille, camille_dmp, settings):
    settings.DMP_UPLOAD_MAX_BYTES = 1024  # same rule, smaller number: the 20 MB case is in test_uploads
    response = api.as_user(camille.account).post(
        docs_url(camille),
        {"file": SimpleUploadedFile("x.pdf", MINIMAL_PDF + b"0" * 1024), "title": "X"},
        format="multipart",
    )
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"


def test_professional_adds_an_invisible_document_and_releases_it(api, camille, camille_dmp, dr_garnier):
    client = api.as_user(dr_garnier)
    created = client.post(
        docs_url(camille),
        {
            "file": SimpleUploadedFile("r.pdf", MINIMAL_PDF),
            "title": "Biologie",
            "type_code": "11502-2",
            "visible_to_patient": "false",
        },
        format="multipart",
    )
    assert created.status_code == 201 and created.json()["visible_to_patient"] is False
    doc_id = created.json()["id"]
    patient_client = api.__class__().as_user(camille.account)
    assert patient_client.get(docs_url(camille)).json()["count"] == 0
    assert patient_client.get(f"/api/v1/dmp/documents/{doc_id}/").status_code == 404
    assert client.post(f"/api/v1/dmp/documents/{doc_id}/make-visible/").json()["visible_to_patient"] is True
    assert patient_client.get(docs_url(camille)).json()["count"] == 1


def test_outsider_is_refused_with_forbidden_and_masked_documents_are_not_counted(
    api, camille, camille_dmp, dr_garnier, fed_letter
):
    client = api.as_user(dr_garnier)
    refused = client.get(docs_url(camille))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    grant(camille_dmp, dr_garnier)
    assert client.get(docs_url(camille)).json()["count"] == 1
    api.__class__().as_user(camille.account).post(f"/api/v1/dmp/documents/{fed_letter.public_id}/mask/")
    assert client.get(docs_url(camille)).json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert client.get(f"/api/v1/dmp/documents/{fed_letter.public_id}/").json()["code"] == "not_found"


def test_settings_get_and_patch_and_the_opposed_code(api, camille, camille_dmp, dr_moreau, dr_garnier):
    client = api.as_user(camille.account)
    url = f"/api/v1/dmp/{camille.public_id}/settings/"
    body = client.get(url).json()
    assert body["emergency_access_allowed"] is True and body["samu_access_allowed"] is True
    assert body["gp"]["rpps"] == dr_moreau.rpps
    # The médecin traitant is not a setting the patient types: a designation the doctor accepts.
    assert client.patch(url, {"gp": dr_garnier.rpps}, format="json").status_code == 400
    patched = client.patch(url, {"status": "opposed"}, format="json").json()
    assert patched["status"] == "opposed" and patched["gp"]["rpps"] == dr_moreau.rpps
    refused = api.__class__().as_user(dr_garnier).get(docs_url(camille))
    assert refused.status_code == 403 and refused.json()["code"] == "dmp_opposed"
    assert api.__class__().as_user(dr_garnier).get(url).status_code == 403


def test_blocked_professionals_and_profile(api, camille, camille_dmp, dr_moreau, dr_garnier):
    client = api.as_user(camille.account)
    base = f"/api/v1/dmp/{camille.public_id}"
    grant(camille_dmp, dr_garnier)
    assert client.post(f"{base}/blocked-professionals/", {"rpps": dr_garnier.rpps}, format="json").status_code == 201
    assert client.get(f"{base}/blocked-professionals/").json()["results"][0]["rpps"] == dr_garnier.rpps
    assert api.__class__().as_user(dr_garnier).get(docs_url(camille)).json()["code"] == "blocked"
    assert client.delete(f"{base}/blocked-professionals/{dr_garnier.rpps}/").status_code == 204
    assert (
        client.post(f"{base}/profile/", {"kind": "allergy", "label": "Pénicilline"}, format="json").status_code == 201
    )
    assert api.__class__().as_user(dr_moreau).get(f"{base}/profile/").json()["results"][0]["label"] == "Pénicilline"


def test_lookup_by_exact_ins_and_birth_date(api, camille, dr_garnier):
    client = api.as_user(dr_garnier)
    found = client.get("/api/v1/dmp/lookup/", {"ins": camille.nir, "birth_date": camille.birth_date.isoformat()})
    assert found.json()["patient_id"] == str(camille.public_id)
    assert client.get("/api/v1/dmp/lookup/", {"ins": camille.nir, "birth_date": "1900-01-01"}).status_code == 404


@pytest.mark.parametrize("status", ["provisional", "validated", "retrieved"])
def test_an_ins_not_qualified_finds_nobody(api, camille, dr_garnier, status):
    """Only a qualified INS identifies the DMP: a NIR typed at the desk, or retrieved but not checked against an
    identity document, gets the no-match answer."""
    retrieved = camille.ins_retrieved_at if status == "retrieved" else None
    type(camille).objects.filter(pk=camille.pk).update(
        ins_status=status, ins_retrieved_at=retrieved, identity_qualified_at=None
    )
    found = api.as_user(dr_garnier).get(
        "/api/v1/dmp/lookup/", {"ins": camille.nir, "birth_date": camille.birth_date.isoformat()}
    )
    assert found.status_code == 404 and found.json()["code"] == "not_found"


def test_another_patient_gets_404(api, camille, other_patient, fed_letter):
    client = api.as_user(other_patient.account)
    assert client.get(docs_url(camille)).status_code == 404
    assert client.get(f"/api/v1/dmp/{camille.public_id}/settings/").status_code == 404


def _amended(record, make_document, *, author, hidden_from_patient: bool):
    """An older version (superseded) and the current one that replaces it."""
    older, newer = make_document(record, 2, author=author, visible_to_patient=not hidden_from_patient)
    SharedDocument.objects.filter(pk=older.pk).update(status="superseded", visible_to_patient=not hidden_from_patient)
    SharedDocument.objects.filter(pk=newer.pk).update(replaces=older, lineage=older.lineage, visible_to_patient=True)
    return older, newer


@pytest.mark.parametrize("who", ["patient", "gp"])
def test_the_lean_list_writes_each_document_as_the_serializer_does(
    api, camille, camille_dmp, dr_moreau, dr_bernard, fed_letter, make_document, who
):
    """dmp.api.document_items (the list's items without a serializer per row, issue 23) writes every field as
    DocumentSerializer: authors with and without a professional profile or none, no event date, a masked
    document, a held one, amended ones whose predecessor the reader may or may not see."""
    from django.test import RequestFactory

    from dmp.api import DocumentSerializer, document_items
    from dmp.services import documents

    make_document(camille_dmp, 1, author=camille.account, source="patient", class_code="90", title="Mes notes")
    make_document(camille_dmp, 1, author=None, title="Sans auteur")
    [masked] = make_document(camille_dmp, 1, author=dr_bernard, masked=True)
    SharedDocument.objects.filter(pk=masked.pk).update(event_date=None, held=False)
    _amended(camille_dmp, make_document, author=dr_bernard, hidden_from_patient=False)
    _amended(camille_dmp, make_document, author=dr_moreau, hidden_from_patient=True)
    actor = {"patient": camille.account, "gp": dr_moreau}[who]

    response = api.as_user(actor).get(docs_url(camille), {"include_superseded": "true"})
    assert response.status_code == 200
    results = response.json()["results"]

    page = documents.documents_list(actor=actor, record=camille_dmp, include_superseded=True)
    request = RequestFactory().get(docs_url(camille))
    expected = DocumentSerializer(page.documents, many=True, context={"request": request}).data
    assert document_items(request, page.documents) == [dict(item) for item in expected]
    assert results == [dict(item) for item in expected]  # the JSON answered too (same host, same fields)
    replaces = {item["title"]: item["replaces"] for item in results}
    assert any(value is not None for value in replaces.values())  # a visible predecessor is named
    if who == "patient":  # the version held from her is not named (docs/domain.md, "Held reports")
        assert sum(value is not None for value in replaces.values()) == 1
    assert {item["author"] is None for item in results} == {True, False}


def test_amended_documents_cost_no_query_each_in_the_api_list(
    api, camille, camille_dmp, dr_moreau, dr_bernard, make_document
):
    """The predecessors' ids are read in one query, not one per amended document (it was one each)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api.as_user(dr_moreau)

    def queries() -> int:
        client.get(docs_url(camille))  # warm
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(docs_url(camille)).status_code == 200
        return len(ctx.captured_queries)

    _amended(camille_dmp, make_document, author=dr_bernard, hidden_from_patient=False)
    one = queries()
    for _ in range(4):
        _amended(camille_dmp, make_document, author=dr_bernard, hidden_from_patient=False)
    assert queries() == one
