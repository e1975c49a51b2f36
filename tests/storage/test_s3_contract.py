"""The storage contract the portal relies on, run against the S3 backend and an S3 peer over real HTTP.

The peer is moto's server mode (an S3 emulator) started as a subprocess on a free local port: the stand-in
for an S3-compatible object store, none of which can be installed on these machines (docs/scaling.md).
The portal talks to it through `STORAGE_BACKEND=s3` exactly as it would to a real store: django-storages'
S3Storage, boto3, HTTP, credentials from the environment.
"""

import datetime
import hashlib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from storages.backends.s3 import S3Storage

from audit.models import AuditEvent
from chu_portal.settings import default_storage_config
from dmp import files
from dmp.constants import FeedStatus
from dmp.feed import delivery, orphans
from dmp.models import FeedItem, SharedDocument
from dmp.services import documents, records
from records.constants import ReportStatus, ReportType
from records.services import reports
from tests.factories import ReportFactory

# A PDF the upload inspection accepts, followed by every byte value: what is read back must be these bytes.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
BINARY = MINIMAL_PDF + b"%" + bytes(range(256)) * 40
REGION = "eu-west-3"
KEY_ID, SECRET = "test-key-id", "test-secret-not-a-credential"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_peer():
    """moto's S3 server in its own process, on a free local port; its endpoint URL."""
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603  # nosec B603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a configured proxy
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                with direct.open(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto's server did not start on port {port}")
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def _peer_client(endpoint: str):
    """A boto3 client of our own, to look at the bucket from outside the portal."""
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET
    )


@pytest.fixture
def s3(s3_peer, settings, monkeypatch, tmp_path):
    """The portal's default storage on a new private bucket of the peer, as STORAGE_BACKEND=s3 configures it;
    MEDIA_ROOT points at an empty folder that must stay empty."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # boto3 talks to the local peer directly
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"chu-documents-{uuid.uuid4().hex[:12]}"
    client = _peer_client(s3_peer)
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": default_storage_config(
            {
                "STORAGE_BACKEND": "s3",
                "AWS_STORAGE_BUCKET_NAME": bucket,
                "AWS_S3_ENDPOINT_URL": s3_peer,
                "AWS_S3_REGION_NAME": REGION,
                "AWS_S3_ADDRESSING_STYLE": "path",
                "AWS_S3_SERVER_SIDE_ENCRYPTION": "AES256",
            }
        ),
    }
    yield client, bucket
    assert not settings.MEDIA_ROOT.exists(), "a file went to the local filesystem instead of the object store"


def _in_bucket(client, bucket: str, name: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=name)["Body"].read()


def test_the_filesystem_stays_the_default_and_s3_needs_its_bucket():
    assert default_storage_config({}) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert default_storage_config({"STORAGE_BACKEND": "filesystem"})["BACKEND"].endswith("FileSystemStorage")
    with pytest.raises(ImproperlyConfigured, match="AWS_STORAGE_BUCKET_NAME"):
        default_storage_config({"STORAGE_BACKEND": "s3"})
    with pytest.raises(ImproperlyConfigured, match="STORAGE_BACKEND"):
        default_storage_config({"STORAGE_BACKEND": "ftp"})
    config = default_storage_config({"STORAGE_BACKEND": "S3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_LOCATION": "/chu/"})
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    options = config["OPTIONS"]
    assert options["bucket_name"] == "b" and options["location"] == "chu" and options["file_overwrite"] is False
    assert "access_key" not in options and "secret_key" not in options  # credentials: the environment's only
    assert options["object_parameters"] == {}


def test_a_document_is_stored_read_back_sized_and_deleted(s3):
    client, bucket = s3
    name = files.store(ContentFile(BINARY), ".pdf")
    assert isinstance(default_storage, S3Storage) and default_storage.bucket_name == bucket
    assert default_storage.access_key == KEY_ID  # the credentials came from the environment, not the settings
    assert name.startswith(f"dmp/{timezone.now():%Y/%m}/") and name.endswith(".pdf")
    # On the peer, as the portal wrote it: the same bytes, typed, encrypted at rest.
    head = client.head_object(Bucket=bucket, Key=name)
    assert head["ContentType"] == "application/pdf" and head["ServerSideEncryption"] == "AES256"
    assert _in_bucket(client, bucket, name) == BINARY
    # Read back through the storage as the portal does (in chunks, as FileResponse streams it).
    with default_storage.open(name, "rb") as handle:
        assert b"".join(iter(lambda: handle.read(1000), b"")) == BINARY
    assert default_storage.size(name) == len(BINARY)
    assert default_storage.exists(name)
    assert abs(default_storage.get_modified_time(name) - timezone.now()) < datetime.timedelta(minutes=5)
    default_storage.delete(name)
    assert not default_storage.exists(name)
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    default_storage.delete(name)  # a second delete (a rollback after a commit's cleanup) is harmless
    with pytest.raises(FileNotFoundError):
        default_storage.open(name, "rb").read()


def test_a_name_taken_is_never_overwritten(s3):
    """The portal stores the name save() returns: as on the filesystem, a taken name gets another, and
    the first file is untouched (S3's own default would overwrite it)."""
    client, bucket = s3
    wanted = "record_requests/2026/11/copy.pdf"
    first = files.store(ContentFile(MINIMAL_PDF + b"first"), ".pdf", prefix="record_requests", name=wanted)
    second = files.store(ContentFile(MINIMAL_PDF + b"second"), ".pdf", prefix="record_requests", name=wanted)
    assert first == wanted
    assert second != wanted and second.startswith("record_requests/2026/11/copy") and second.endswith(".pdf")
    assert _in_bucket(client, bucket, first) == MINIMAL_PDF + b"first"
    assert _in_bucket(client, bucket, second) == MINIMAL_PDF + b"second"


@pytest.mark.django_db
def test_the_orphan_sweep_lists_the_prefix_and_removes_only_orphans(s3, camille, discharge_letter):
    """An object store has no directories: `dmp` itself does not "exist", the sweep still finds what lies
    under it (listdir by prefix), keeps what a document references and what is not under `dmp/`."""
    client, bucket = s3
    records.shared_record_for(camille)
    referenced = documents.chu_document_file(report=discharge_letter, content=MINIMAL_PDF).file.name
    october = files.store(ContentFile(MINIMAL_PDF), ".pdf", name="dmp/2025/10/orphan-a.pdf")
    november = files.store(ContentFile(MINIMAL_PDF), ".pdf", name="dmp/2025/11/orphan-b.pdf")
    other_app = files.store(ContentFile(MINIMAL_PDF), ".pdf", prefix="record_requests")
    assert not default_storage.exists("dmp")  # what the sweep must not rely on
    directories, top_files = default_storage.listdir("dmp")
    assert top_files == [] and set(directories) >= {"2025", f"{timezone.now():%Y}"}
    assert default_storage.listdir("dmp/2025") == (["10", "11"], [])
    assert default_storage.listdir("dmp/2025/10") == ([], ["orphan-a.pdf"])
    assert default_storage.listdir("dmp/1999") == ([], [])

    later = timezone.now() + datetime.timedelta(hours=1)
    assert list(orphans.orphan_files(now=later)) == []  # younger than the grace period: kept
    assert sorted(orphans.orphan_files(older_than=datetime.timedelta(0), now=later)) == [october, november]

    removed = orphans.remove_orphan_files(older_than=datetime.timedelta(seconds=-3600))
    assert sorted(removed) == [october, november]
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {referenced, other_app}
    trace = AuditEvent.objects.get(action="remove_orphan_files")
    assert sorted(trace.object_ids) == [october, november]


@pytest.mark.django_db
def test_an_upload_and_a_chu_filing_are_read_back_through_the_portal(s3, camille, discharge_letter, client):
    """End to end with the S3 storage active: the patient uploads through the DMP service, the CHU files its
    signed letter (the feed's filing), and both come back identical through the service and the page."""
    s3_client, bucket = s3
    record = records.shared_record_for(camille)
    uploaded = documents.document_upload(
        actor=camille.account,
        record=record,
        uploaded=SimpleUploadedFile("bilan.pdf", BINARY, content_type="application/pdf"),
        title="Bilan sanguin",
    )
    filed = documents.chu_document_file(report=discharge_letter, content=MINIMAL_PDF)
    for document, content in ((uploaded, BINARY), (filed, MINIMAL_PDF)):
        document = SharedDocument.objects.get(pk=document.pk)
        assert _in_bucket(s3_client, bucket, document.file.name) == content
        assert document.size == len(content)
        _document, handle = documents.document_content(actor=camille.account, document_id=document.public_id)
        with handle:
            assert handle.read() == content
    client.force_login(camille.account)
    response = client.get(reverse("dmp:document_content", args=[uploaded.public_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == BINARY
    # Each read left its trace, as on the filesystem.
    assert AuditEvent.objects.filter(object_id=str(uploaded.public_id), object_type="dmp_document_content").count() == 2


@pytest.mark.django_db
def test_the_feeds_batch_relay_writes_its_files_to_the_store(s3, camille, camille_stay, dr_bernard):
    """The relay writes a batch's files first, then files the documents in one transaction: with the S3
    storage active every file is on the store, as signed, and read back through the service."""
    s3_client, bucket = s3
    records.shared_record_for(camille)
    items = []
    for n in range(3):
        draft = ReportFactory(
            stay=camille_stay,
            author=dr_bernard,
            type_code=ReportType.DISCHARGE_LETTER,
            title=f"Lettre {n}",
            status=ReportStatus.DRAFT,
            signed_at=None,
        )
        reports.report_sign(actor=dr_bernard, report_id=draft.public_id)
        items.append(FeedItem.objects.get(report=draft))
    outcome = delivery.feed_relay(item_id=items[0].pk, batch_size=3)
    assert outcome.own_error is None and not outcome.retries
    delivered = FeedItem.objects.filter(pk__in=[i.pk for i in items]).select_related("document")
    assert {item.status for item in delivered} == {FeedStatus.DELIVERED}
    for item in delivered:
        stored = _in_bucket(s3_client, bucket, item.document.file.name)
        assert stored.startswith(b"%PDF-") and hashlib.sha256(stored).hexdigest() == item.document.sha256
        _document, handle = documents.document_content(actor=camille.account, document_id=item.document.public_id)
        with handle:
            assert handle.read() == stored
