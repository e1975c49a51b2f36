"""Making, releasing and expiring a copy (issue 22, point 3): progress committed as it goes, retries then failure told
to the office, released only after the 48 hours (by the sweep when made before), sent to the named doctor's secure
inbox and never to the DMP, deleted when it expires; each step traced and told; the embedded mode end to end."""

import datetime
import hashlib

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.models import Profession, Role, Unit
from audit.constants import Mode, ObjectType
from audit.models import AuditEvent
from dmp.constants import NotificationKind
from dmp.models import Notification, SharedDocument
from record_requests import mailbox, tasks
from record_requests.constants import Delivery, RecordRequestAction, RequestStatus
from record_requests.models import RecordBundle, SecureMessage
from record_requests.services import bundle
from tests.factories import professional

from .bundle_cast import pdf_text, validated_request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def travel(monkeypatch):
    """Time travel: every `timezone.now()` of the code under test answers `now + delta`."""
    real_now = timezone.now

    def to(delta: datetime.timedelta):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)

    return to


@pytest.fixture
def office_agent(db):
    return professional(
        role=Role.CHU_COLLABORATOR,
        profession=Profession.SECRETAIRE_MEDICALE,
        units=[Unit.objects.get(code="ARCH")],
        username="archives.durand",
    )


@pytest.fixture
def request_of_camille(camille, camille_stay, discharge_letter, dr_bernard):
    return validated_request(camille, [camille_stay], validated_by=dr_bernard)


def traces(action, **filters):
    return AuditEvent.objects.filter(action=action, mode=Mode.RECORD_REQUEST, **filters)


def told(user, fragment: str) -> bool:
    return Notification.objects.filter(
        recipient=user, kind=NotificationKind.RECORD_REQUEST, message__contains=fragment
    ).exists()


def test_the_copy_is_made_stored_like_a_document_and_waits_for_the_48_hours(request_of_camille, camille):
    tasks.make_bundle.delay(request_of_camille.pk)
    request_of_camille.refresh_from_db()
    made = request_of_camille.bundle
    assert request_of_camille.status == RequestStatus.READY and request_of_camille.answered_at is None
    assert made.made_at and made.progress == 100 and made.failed_at is None and made.expires_at is None
    assert made.file.startswith("record_requests/") and made.file.endswith(".pdf")
    with default_storage.open(made.file, "rb") as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == made.sha256 and made.size == len(data) and made.page_count >= 2
    assert "Lettre de liaison" in pdf_text(data)
    assert made.contents["stays"] == [str(s.public_id) for s in request_of_camille.stays.all()]
    assert made.contents["handover_notes_included"] is False and len(made.contents["reports"]) == 1
    trace = traces(RecordRequestAction.MAKE_BUNDLE).get()
    assert trace.object_type == ObjectType.RECORD_BUNDLE and trace.object_id == str(made.public_id)
    assert trace.patient_id == camille.public_id and trace.reason == ""
    assert not told(camille.account, "mise à disposition")
    # Made again (a redelivered message): nothing new.
    tasks.make_bundle.delay(request_of_camille.pk)
    assert traces(RecordRequestAction.MAKE_BUNDLE).count() == 1
    assert RecordBundle.objects.get().file == made.file


def test_progress_is_committed_in_small_steps_up_to_100(request_of_camille, monkeypatch):
    seen = []
    real_render = bundle.render

    def spying_render(plan, path, *, now=None, on_progress=None):
        def spy(fraction):
            on_progress(fraction)
            seen.append(RecordBundle.objects.get(request=request_of_camille).progress)

        return real_render(plan, path, now=now, on_progress=spy)

    monkeypatch.setattr(bundle, "render", spying_render)
    atomic_blocks = []
    real_atomic = transaction.atomic
    monkeypatch.setattr(transaction, "atomic", lambda *a, **k: atomic_blocks.append(1) or real_atomic(*a, **k))
    tasks.make_bundle.delay(request_of_camille.pk)
    assert seen == sorted(seen) and 5 < seen[0] < seen[-1] <= 90
    assert len(atomic_blocks) >= len(set(seen)) + 2  # one small transaction per step, and the final one
    assert RecordBundle.objects.get().progress == 100


def test_a_copy_that_cannot_be_made_is_retried_then_marked_failed_and_the_office_told(
    request_of_camille, office_agent, monkeypatch, settings, django_capture_on_commit_callbacks
):
    attempts = []

    def broken(*args, **kwargs):
        attempts.append(1)
        raise OSError("disk full")

    monkeypatch.setattr(bundle, "render", broken)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.make_bundle.delay(request_of_camille.pk)
    assert len(attempts) == tasks.MAX_ATTEMPTS
    request_of_camille.refresh_from_db()
    failed = request_of_camille.bundle
    assert request_of_camille.status == RequestStatus.VALIDATED
    assert failed.failed_at is not None and failed.made_at is None and failed.file == ""
    assert list((settings.MEDIA_ROOT / "record_requests").rglob("*.pdf")) == []
    failure = traces(RecordRequestAction.MAKE_BUNDLE, reason="failed").get()
    assert failure.object_ids == [str(request_of_camille.public_id)] and failure.patient_id is None
    assert told(office_agent, "n'a pas pu être établie")
    assert not told(request_of_camille.requested_by, "mise à disposition")


def test_with_a_broker_a_failure_is_retried_with_backoff_until_the_last_attempt(request_of_camille, monkeypatch):
    monkeypatch.setattr(bundle, "render", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    scheduled = []

    class Scheduled(Exception):
        pass

    def retry(exc=None, countdown=None):
        scheduled.append(countdown)
        return Scheduled()

    monkeypatch.setattr(tasks.make_bundle, "retry", retry)
    tasks.make_bundle.push_request(retries=0, is_eager=False)
    try:
        with pytest.raises(Scheduled):
            tasks.make_bundle.run(request_of_camille.pk)
    finally:
        tasks.make_bundle.pop_request()
    assert tasks.BACKOFF_SECONDS <= scheduled[0] <= tasks.BACKOFF_SECONDS * 1.2
    assert RecordBundle.objects.get().failed_at is None
    tasks.make_bundle.push_request(retries=tasks.MAX_ATTEMPTS - 1, is_eager=False)
    try:
        tasks.make_bundle.run(request_of_camille.pk)
    finally:
        tasks.make_bundle.pop_request()
    assert len(scheduled) == 1 and RecordBundle.objects.get().failed_at is not None
    assert tasks.make_bundle.acks_late and tasks.make_bundle.name == "record_requests.tasks.make_bundle"


def test_the_sweep_releases_a_copy_only_after_the_48_hours(request_of_camille, camille, settings):
    tasks.make_bundle.delay(request_of_camille.pk)
    received = request_of_camille.received_at
    assert not tasks.release(request_of_camille, now=received + datetime.timedelta(hours=47, minutes=59))
    assert tasks.run_sweep(now=received + datetime.timedelta(hours=47, minutes=59))["released"] == 0
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.READY
    at = received + datetime.timedelta(hours=48)
    assert tasks.run_sweep(now=at)["released"] == 1
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.AVAILABLE and request_of_camille.answered_at == at
    expires = request_of_camille.bundle.expires_at
    assert expires == at + datetime.timedelta(days=settings.RECORD_BUNDLE_AVAILABLE_DAYS)
    trace = traces(RecordRequestAction.RELEASE).get()
    assert trace.object_type == ObjectType.RECORD_REQUEST and trace.patient_id == camille.public_id
    assert told(camille.account, "mise à disposition")
    assert tasks.run_sweep(now=at + datetime.timedelta(hours=1))["released"] == 0  # once


def test_a_copy_made_after_the_48_hours_is_released_at_once(camille, camille_stay, discharge_letter, dr_bernard):
    request = validated_request(camille, [camille_stay], received_at=timezone.now() - datetime.timedelta(days=3))
    tasks.make_bundle.delay(request.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.AVAILABLE and request.answered_at is not None
    assert told(camille.account, "mise à disposition")


def test_a_copy_for_a_named_doctor_goes_to_his_secure_inbox_never_to_the_dmp(
    camille, camille_stay, discharge_letter, dr_moreau
):
    documents_before = SharedDocument.objects.count()
    request = validated_request(
        camille,
        [camille_stay],
        delivery=Delivery.DOCTOR,
        named_doctor=dr_moreau,
        received_at=timezone.now() - datetime.timedelta(days=3),
    )
    tasks.make_bundle.delay(request.pk)
    request.refresh_from_db()
    assert request.status == RequestStatus.SENT and request.answered_at is not None
    message = SecureMessage.objects.get()
    assert message.recipient == dr_moreau and message.bundle == request.bundle
    assert "MARTIN Camille" in message.subject
    assert SharedDocument.objects.count() == documents_before
    trace = traces(RecordRequestAction.SEND).get()
    assert trace.object_type == ObjectType.RECORD_BUNDLE and trace.object_id == str(request.bundle.public_id)
    assert trace.object_ids == [str(message.public_id)] and trace.patient_id == camille.public_id
    assert told(camille.account, "envoyée au médecin") and told(dr_moreau, "messagerie sécurisée")
    assert not told(dr_moreau, "MARTIN")  # the doctor's notice names no patient


class RecordingMailbox:
    sent = []

    def send(self, *, recipient, subject, body, bundle=None):
        message = mailbox.LocalMailbox().send(recipient=recipient, subject=subject, body=body, bundle=bundle)
        RecordingMailbox.sent.append(message)
        return message


def test_the_mssante_seam_is_the_class_the_setting_names(camille, camille_stay, dr_moreau, settings):
    settings.MSSANTE_CLIENT = "tests.record_requests.test_tasks.RecordingMailbox"
    request = validated_request(
        camille,
        [camille_stay],
        delivery=Delivery.DOCTOR,
        named_doctor=dr_moreau,
        received_at=timezone.now() - datetime.timedelta(days=3),
    )
    tasks.make_bundle.delay(request.pk)
    assert [m.recipient for m in RecordingMailbox.sent] == [dr_moreau]


def test_an_expired_copy_is_deleted_and_traced(request_of_camille, camille, django_capture_on_commit_callbacks):
    tasks.make_bundle.delay(request_of_camille.pk)
    released_at = request_of_camille.received_at + datetime.timedelta(hours=49)
    tasks.run_sweep(now=released_at)
    made = RecordBundle.objects.get()
    assert default_storage.exists(made.file)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.run_sweep(now=made.expires_at - datetime.timedelta(seconds=1))["expired"] == 0
    assert default_storage.exists(made.file)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.run_sweep(now=made.expires_at)["expired"] == 1
    made.refresh_from_db()
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.EXPIRED and made.deleted_at == made.expires_at
    assert not default_storage.exists(made.file)
    assert traces(RecordRequestAction.EXPIRE, object_id=str(made.public_id)).count() == 1
    assert told(camille.account, "n'est plus disponible")


def test_the_embedded_mode_validates_makes_and_later_releases_in_process(
    request_of_camille, camille, travel, monkeypatch, settings, client, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""  # the embedded mode: no broker
    monkeypatch.setattr(tasks, "_last_embedded_sweep", None)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            tasks.enqueue_on_commit(request_of_camille.pk)  # what the validation does
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.READY
    tasks.sweep_if_embedded()  # a page view before the 48 hours: nothing to release
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.READY
    travel(datetime.timedelta(hours=49))
    monkeypatch.setattr(tasks, "_last_embedded_sweep", None)  # the sweep interval has passed too
    client.get("/accounts/login/")  # any page: the sweep runs at the start of the request
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.AVAILABLE
    assert told(camille.account, "mise à disposition")


def test_the_embedded_sweep_runs_at_most_once_per_interval_and_never_with_a_broker(
    request_of_camille, travel, monkeypatch, settings
):
    tasks.make_bundle.delay(request_of_camille.pk)
    travel(datetime.timedelta(hours=49))
    monkeypatch.setattr(tasks, "_last_embedded_sweep", None)
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"  # a broker: the beat sweeps, not the pages (the test suite too)
    tasks.sweep_if_embedded()
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.READY
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    tasks.sweep_if_embedded()
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.READY
    settings.CELERY_TASK_ALWAYS_EAGER = True
    import time

    monkeypatch.setattr(tasks, "_last_embedded_sweep", time.monotonic())
    tasks.sweep_if_embedded()
    request_of_camille.refresh_from_db()
    assert request_of_camille.status == RequestStatus.READY


def test_a_validated_request_whose_message_was_lost_is_sent_again(request_of_camille, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks, "enqueue", sent.append)
    type(request_of_camille).objects.filter(pk=request_of_camille.pk).update(
        validated_at=timezone.now() - datetime.timedelta(hours=2)
    )
    assert tasks.run_sweep()["resent"] == 1 and sent == [request_of_camille.pk]


def test_the_sweep_is_the_beat_task_the_settings_name(settings):
    assert settings.CELERY_BEAT_SCHEDULE["record-requests-sweep"]["task"] == tasks.sweep.name


def test_a_failed_copy_gets_a_new_round_of_attempts_a_day_later(request_of_camille, monkeypatch):
    monkeypatch.setattr(bundle, "render", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    tasks.make_bundle.delay(request_of_camille.pk)
    failed_at = RecordBundle.objects.get().failed_at
    sent = []
    monkeypatch.setattr(tasks, "enqueue", sent.append)
    assert tasks.run_sweep(now=failed_at + datetime.timedelta(hours=23))["resent"] == 0
    assert tasks.run_sweep(now=failed_at + datetime.timedelta(hours=24))["resent"] == 1
    monkeypatch.undo()
    tasks.make_bundle.delay(request_of_camille.pk)  # the new round succeeds
    made = RecordBundle.objects.get()
    assert made.made_at is not None and made.failed_at is None


def _journey(camille, dr_bernard):
    from record_requests.services import office, requests

    asked = requests.request_create(actor=camille.account)
    office.request_validate(actor=dr_bernard, request_id=asked.public_id)
    return asked


def test_asked_validated_made_released_downloaded_and_in_her_history(
    camille, camille_stay, discharge_letter, dr_bernard, monkeypatch, travel, django_capture_on_commit_callbacks
):
    from dmp.services import history
    from record_requests.services import delivery

    with django_capture_on_commit_callbacks(execute=True):
        asked = _journey(camille, dr_bernard)
    asked.refresh_from_db()
    assert asked.status == RequestStatus.READY and asked.bundle.made_at is not None
    travel(datetime.timedelta(hours=48, minutes=1))
    tasks.run_sweep()
    got, handle = delivery.bundle_download(actor=camille.account, request_id=asked.public_id)
    with handle:
        assert "Lettre de liaison" in pdf_text(handle.read())
    assert got == asked.bundle
    asked.refresh_from_db()
    assert asked.status == RequestStatus.AVAILABLE
    sentences = {e.sentence for d in history.access_history(actor=camille.account).days for e in d.entries}
    assert "La copie de votre dossier du CHU a été préparée" in sentences
    assert "Votre demande de copie du dossier du CHU a été mise à disposition" in sentences


def test_in_the_embedded_mode_the_validation_makes_the_copy_in_process(
    camille, camille_stay, discharge_letter, dr_bernard, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        asked = _journey(camille, dr_bernard)
    assert RecordBundle.objects.filter(request=asked, made_at__isnull=False).exists()


class DownMailbox:
    def send(self, **kwargs):
        raise ConnectionError("MSSanté operator unreachable")


def test_a_mailbox_down_holds_up_neither_the_other_releases_nor_itself_for_long(
    camille, camille_stay, discharge_letter, dr_moreau, settings
):
    to_doctor = validated_request(camille, [camille_stay], delivery=Delivery.DOCTOR, named_doctor=dr_moreau)
    to_download = validated_request(camille, [camille_stay])
    tasks.make_bundle.delay(to_doctor.pk)
    tasks.make_bundle.delay(to_download.pk)
    settings.MSSANTE_CLIENT = "tests.record_requests.test_tasks.DownMailbox"
    later = to_doctor.earliest_release_at + datetime.timedelta(minutes=1)
    assert tasks.run_sweep(now=later)["released"] == 1
    to_doctor.refresh_from_db()
    to_download.refresh_from_db()
    assert to_doctor.status == RequestStatus.READY and to_download.status == RequestStatus.AVAILABLE
    assert not SecureMessage.objects.exists()
    settings.MSSANTE_CLIENT = "record_requests.mailbox.LocalMailbox"
    assert tasks.run_sweep(now=later)["released"] == 1
    to_doctor.refresh_from_db()
    assert to_doctor.status == RequestStatus.SENT
