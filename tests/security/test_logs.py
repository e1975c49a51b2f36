"""Logs never carry secrets or medical content, even at DEBUG level, for requests that read them."""

import logging

import pytest

from dmp.services import documents, records
from tests.dmp.conftest import MINIMAL_PDF
from tests.factories import PASSWORD, designate_gp, totp_code


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_reading_a_document_and_a_report_logs_no_medical_content_nor_secret(
    client, api, caplog, dr_bernard, dr_moreau, camille, discharge_letter
):
    record = records.shared_record_for(camille)
    designate_gp(record, dr_moreau)
    document = documents.chu_document_file(report=discharge_letter, content=MINIMAL_PDF)
    caplog.set_level(logging.DEBUG)

    token = api.post(
        "/api/v1/auth/token/", {"username": "dr.moreau", "password": PASSWORD, "otp": totp_code()}, format="json"
    ).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(f"/api/v1/dmp/documents/{document.public_id}/").status_code == 200
    assert api.get(f"/api/v1/dmp/documents/{document.public_id}/content/").status_code == 200
    client.force_login(dr_bernard)
    assert client.get(f"/comptes-rendus/{discharge_letter.public_id}/").status_code == 200
    assert client.get(f"/patients/{camille.public_id}/dossier/").status_code == 200
    # A refused request is logged too (django.request warns about 4xx): still nothing medical.
    assert api.get(f"/api/v1/patients/{camille.public_id}/record/").status_code == 403

    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    for secret_or_content in (
        PASSWORD,
        token,
        discharge_letter.body,
        discharge_letter.title,
        document.title,
        "Fibrillation",
        camille.nir,
    ):
        assert secret_or_content not in logged
    assert caplog.records, "the requests above should have logged something (django.request, axes)"
