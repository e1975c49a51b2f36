"""DMP fixtures: Camille's DMP with her GP, CHU documents, outsiders, and file storage in a temporary folder."""

import datetime
import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Profession, Role
from dmp.consent import grants
from dmp.constants import DocumentClass, DocumentSource, DocumentType, GrantSource
from dmp.models import SharedDocument
from dmp.services import documents, records
from records.constants import ReportType
from tests.factories import ReportFactory, designate_gp, professional

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def pdf_bytes():
    return MINIMAL_PDF


@pytest.fixture
def dr_garnier(db):
    return professional(role=Role.EXTERNAL_PROFESSIONAL, username="dr.garnier", first_name="Paul", last_name="Garnier")


@pytest.fixture
def ph_fournier(db):
    return professional(
        role=Role.EXTERNAL_PROFESSIONAL,
        profession=Profession.PHARMACIEN,
        username="ph.fournier",
        first_name="Julie",
        last_name="Fournier",
    )


@pytest.fixture
def camille_dmp(camille, dr_moreau):
    record = records.shared_record_for(camille)
    designate_gp(record, dr_moreau)
    return record


@pytest.fixture
def fed_letter(camille_dmp, discharge_letter):
    """Her discharge letter, filed by the CHU (as the feed will)."""
    return documents.chu_document_file(report=discharge_letter, content=MINIMAL_PDF)


@pytest.fixture
def operative_report(camille_dmp, camille_stay, dr_bernard):
    report = ReportFactory(
        stay=camille_stay, author=dr_bernard, type_code=ReportType.OPERATIVE_REPORT, title="Compte rendu opératoire"
    )
    return documents.chu_document_file(report=report, content=MINIMAL_PDF)


def grant(record, professional, *, days=365, source=GrantSource.IN_PERSON_CONSENT, starts=None):
    """Record consent given in person, as the professional would (the consent services' seam)."""
    return grants.grant_create(
        actor=professional, record=record, professional=professional, source=source, duration_days=days, starts=starts
    )


@pytest.fixture
def make_document():
    """Insert documents directly (for volume tests); metadata only, tiny file name."""

    def make(record, n=1, **fields):
        now = timezone.now()
        content = b"%PDF-1.4 test"
        rows = [
            SharedDocument(
                record=record,
                title=fields.get("title", f"Document {i}"),
                type_code=fields.get("type_code", DocumentType.DISCHARGE_LETTER),
                class_code=fields.get("class_code", DocumentClass.REPORT),
                source=fields.get("source", DocumentSource.CHU),
                author=fields.get("author"),
                event_date=datetime.date.today(),
                created_at=now - datetime.timedelta(minutes=i),
                file="dmp/test/none.pdf",
                original_filename="x.pdf",
                mime_type="application/pdf",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                masked=fields.get("masked", False),
                visible_to_patient=fields.get("visible_to_patient", True),
            )
            for i in range(n)
        ]
        return SharedDocument.objects.bulk_create(rows)

    return make


def upload(name, content):
    return ContentFile(content, name=name)


def as_file(content, name="doc.pdf"):
    f = io.BytesIO(content)
    f.name = name
    return f
