"""Uploads are checked by content, stored under a random name, and nothing is stored on refusal."""

import os

import pytest

from chu_portal.errors import ServiceError
from dmp.constants import DocumentSource
from dmp.models import SharedDocument
from dmp.services import documents

from .conftest import MINIMAL_PDF, upload

pytestmark = pytest.mark.django_db

BAD_UPLOADS = [
    ("programme.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, "unsupported_file_type", 415),
    ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "active_content", 415),
    ("vide.pdf", b"", "empty_file", 400),
    (
        "script.pdf",
        MINIMAL_PDF.replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>"),
        "active_content",
        415,
    ),
]


def stored_files(media_root):
    return [os.path.join(d, f) for d, _dirs, names in os.walk(media_root) for f in names]


@pytest.mark.parametrize(("name", "content", "code", "status"), BAD_UPLOADS)
def test_bad_upload_is_refused_and_nothing_is_stored(camille, camille_dmp, _media, name, content, code, status):
    with pytest.raises(ServiceError) as refused:
        documents.document_upload(
            actor=camille.account, record=camille_dmp, uploaded=upload(name, content), title="Test"
        )
    assert (refused.value.code, refused.value.status) == (code, status)
    assert not SharedDocument.objects.exists()
    assert stored_files(_media) == []


def test_a_file_of_20_mb_plus_one_byte_is_refused(camille, camille_dmp, _media, settings):
    content = MINIMAL_PDF + b"0" * (settings.DMP_UPLOAD_MAX_BYTES + 1 - len(MINIMAL_PDF))
    with pytest.raises(ServiceError) as refused:
        documents.document_upload(
            actor=camille.account, record=camille_dmp, uploaded=upload("gros.pdf", content), title="Gros"
        )
    assert (refused.value.code, refused.value.status) == ("file_too_large", 413)
    assert stored_files(_media) == []


def test_a_name_with_a_path_is_refused(camille, camille_dmp, _media):
    with pytest.raises(ServiceError) as refused:
        documents.document_upload(
            actor=camille.account,
            record=camille_dmp,
            uploaded=upload("x.pdf", MINIMAL_PDF),
            filename="../../etc/passwd.pdf",
            title="T",
        )
    assert refused.value.code == "invalid"
    assert stored_files(_media) == []


def test_a_good_upload_is_stored_under_a_random_name_with_its_hash(camille, camille_dmp, _media):
    import hashlib

    document = documents.document_upload(
        actor=camille.account,
        record=camille_dmp,
        uploaded=upload("Mon certificat.pdf", MINIMAL_PDF),
        title="Certificat",
        type_code="11369-6",
    )
    assert (
        document.source == DocumentSource.PATIENT and document.class_code == "90" and document.author == camille.account
    )
    assert document.original_filename == "Mon certificat.pdf"
    assert "certificat" not in document.file.name.lower() and document.file.name.endswith(".pdf")
    assert document.sha256 == hashlib.sha256(MINIMAL_PDF).hexdigest() and document.size == len(MINIMAL_PDF)
    assert len(stored_files(_media)) == 1


def real_image(fmt: str) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def test_png_and_jpeg_are_accepted_by_content(camille, camille_dmp):
    png = real_image("PNG")
    jpeg = real_image("JPEG")
    a = documents.document_upload(actor=camille.account, record=camille_dmp, uploaded=upload("a.pdf", png), title="A")
    b = documents.document_upload(actor=camille.account, record=camille_dmp, uploaded=upload("b", jpeg), title="B")
    assert (a.mime_type, b.mime_type) == ("image/png", "image/jpeg")
    assert a.file.name.endswith(".png")


def test_patient_deletes_her_own_upload_softly(camille, camille_dmp, dr_moreau):
    document = documents.document_upload(
        actor=camille.account, record=camille_dmp, uploaded=upload("a.pdf", MINIMAL_PDF), title="A"
    )
    documents.document_delete(actor=camille.account, document_id=document.public_id)
    assert SharedDocument.objects.get(pk=document.pk).deleted_at is not None
    assert documents.documents_list(actor=camille.account, record=camille_dmp).total == 0
    assert documents.documents_list(actor=dr_moreau, record=camille_dmp).total == 0
