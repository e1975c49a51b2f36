"""seed_demo's DMP part (README, "The demo cast"): Camille's documents, GP, upload and mask; Léa's opposition; idempotent."""

import pytest
from django.core.management import call_command

from dmp.models import SharedDocument, SharedRecord
from dmp.services import designations

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_dmp_cast_once(settings):
    call_command("seed_demo", "--force", verbosity=0)
    call_command("seed_demo", "--force", verbosity=0)
    camille = SharedRecord.objects.get(patient__account__username="camille.martin")
    assert designations.gp_of(camille).username == "dr.moreau"
    documents = {d.title: d for d in SharedDocument.objects.filter(record=camille)}
    assert set(documents) == {
        "Lettre de liaison — Cardiologie",
        "Échocardiographie transthoracique",
        "Certificat de vaccination",
    }
    assert documents["Certificat de vaccination"].source == "patient"
    assert sum(d.masked for d in documents.values()) == 1
    assert all(d.file.read(5) == b"%PDF-" for d in documents.values())
    lea = SharedRecord.objects.get(patient__account__username="lea.dubois")
    assert lea.status == "opposed" and not lea.documents.exists()
