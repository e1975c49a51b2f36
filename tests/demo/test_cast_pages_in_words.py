"""After the demo cast walks through the portal, the patient's history and the DPO console say everything in words
(issue 20): no raw code of the trace vocabulary on either page."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from dmp.consent import emergency
from dmp.services import documents, professionals
from records.models import Patient
from records.services import patients
from tests.dmp.test_history_wording import raw_codes, visible_text


@pytest.fixture
def walked(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    camille = Patient.objects.get(account__username="camille.martin")
    users = {u.username: u for u in User.objects.all()}
    patients.record_open(actor=users["dr.bernard"], patient_id=camille.public_id)
    for document in camille.shared_record.documents.filter(masked=False):
        documents.document_open(actor=users["dr.moreau"], document_id=document.public_id)
        documents.document_content(actor=users["dr.moreau"], document_id=document.public_id)[1].close()
    ins = {"ins": camille.nir, "birth_date": camille.birth_date.isoformat()}
    professionals.patient_lookup(actor=users["dr.garnier"], **ins)
    professionals.patient_lookup(actor=users["dr.samu"], **ins)
    emergency.emergency_access_open(
        actor=users["dr.samu"], patient_id=camille.public_id, reason="Détresse respiratoire", mode="samu"
    )
    return users


def test_the_history_and_the_console_of_the_cast_have_no_raw_code(client, walked):
    client.force_login(walked["camille.martin"])
    history = " ".join(visible_text(client.get(reverse("dmp:history")).content.decode()).split())
    assert "a cherché votre dossier" in history and "Détresse respiratoire" in history
    assert raw_codes(history) == []
    client.force_login(walked["dpo.mercier"])
    console = client.get(reverse("audit:console")).content.decode()
    text = " ".join(visible_text(console).split())
    assert [c for c in raw_codes(text) if c != "patient"] == []
