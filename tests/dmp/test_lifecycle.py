"""The DMP's life (issue 19, point 4): opposition while not activated and empty, closing that closes, reopening
that restores, the purge of closed DMPs, the patient's deletion request, and her whole DMP in one archive."""

from __future__ import annotations

import csv
import datetime
import io
import os
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied
from dmp.consent import emergency as dmp_emergency
from dmp.constants import RecordStatus
from dmp.models import AccessGrant, DmpEmergencyAccess, SharedDocument, SharedRecord
from dmp.services import activation, documents, history, lifecycle, profile, record_settings
from dmp.tasks import purge_closed_records

from .conftest import grant

pytestmark = pytest.mark.django_db


def _last(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


# --- Opposition ---------------------------------------------------------------------------------


def test_opposition_is_allowed_while_the_dmp_is_not_activated_and_empty(camille, camille_dmp):
    record = record_settings.record_settings_update(actor=camille.account, status=RecordStatus.OPPOSED)
    assert record.status == RecordStatus.OPPOSED
    assert _last("dmp_oppose").outcome == "allowed"


def test_opposition_is_refused_once_the_dmp_holds_a_document_and_closing_is_offered(camille, fed_letter):
    with pytest.raises(AccessDenied) as refused:
        record_settings.record_settings_update(actor=camille.account, status=RecordStatus.OPPOSED)
    assert refused.value.status == 409 and refused.value.code == "opposition_too_late"
    assert "fermer" in refused.value.message
    assert SharedRecord.objects.get(patient=camille).status == RecordStatus.ACTIVE
    trace = _last("dmp_oppose")
    assert (trace.outcome, trace.reason) == ("denied", "opposition_too_late")


def test_opposition_is_refused_once_the_patient_activated_her_dmp_with_the_code(camille, camille_dmp, dr_bernard):
    camille.account.is_active = False
    camille.account.save(update_fields=["is_active"])
    code, _account = activation.activation_code_issue(actor=dr_bernard, patient_id=camille.public_id)
    activation.account_activate(code=code, birth_date=camille.birth_date, password="Une-phrase-de-passe-2026")
    camille_dmp.refresh_from_db()
    assert camille_dmp.activated_at is not None
    with pytest.raises(AccessDenied) as refused:
        record_settings.record_settings_update(actor=camille.account, status=RecordStatus.OPPOSED)
    assert refused.value.code == "opposition_too_late"


def test_the_api_answers_opposition_too_late_with_its_code(api, camille, fed_letter):
    response = api.as_user(camille.account).patch(
        reverse("api:dmp-settings", kwargs={"patient_id": camille.public_id}), {"status": "opposed"}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "opposition_too_late"
    settings_ = api.get(reverse("api:dmp-settings", kwargs={"patient_id": camille.public_id})).json()
    assert settings_["may_oppose"] is False and settings_["status"] == "active"


def test_lifting_the_opposition_activates_the_dmp_and_opposition_is_then_refused(camille, camille_dmp):
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.OPPOSED)
    record = record_settings.record_settings_update(actor=camille.account, status=RecordStatus.ACTIVE)
    assert record.activated_at is not None and _last("dmp_lift_opposition").outcome == "allowed"
    with pytest.raises(AccessDenied):
        record_settings.record_settings_update(actor=camille.account, status=RecordStatus.OPPOSED)


# --- Closing and reopening ----------------------------------------------------------------------------


def test_a_closed_dmp_is_unreadable_to_the_patient_too_with_a_clear_code(camille, fed_letter, api):
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    with pytest.raises(AccessDenied) as refused:
        documents.document_open(actor=camille.account, document_id=fed_letter.public_id)
    assert (refused.value.status, refused.value.code) == (403, "dmp_closed")
    with pytest.raises(AccessDenied):
        profile.profile_list(actor=camille.account)
    with pytest.raises(AccessDenied) as refused:
        profile.profile_add(actor=camille.account, kind="allergy", label="Pénicilline")
    assert refused.value.code == "dmp_closed"
    client = api.as_user(camille.account)
    for url in (
        reverse("api:dmp-documents", kwargs={"patient_id": camille.public_id}),
        reverse("api:dmp-document", kwargs={"document_id": fed_letter.public_id}),
        reverse("api:dmp-document-content", kwargs={"document_id": fed_letter.public_id}),
        reverse("api:dmp-export", kwargs={"patient_id": camille.public_id}),
    ):
        response = client.get(url)
        assert (response.status_code, response.json()["code"]) == (403, "dmp_closed"), url


def test_her_closed_dmp_page_offers_to_reopen_it_and_shows_no_document(client, camille, fed_letter):
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    client.force_login(camille.account)
    response = client.get(reverse("dmp:home"))
    body = response.content.decode()
    assert response.status_code == 200 and fed_letter.title not in body and str(fed_letter.public_id) not in body
    assert 'id="confirm-reopen"' in body and 'name="status" value="active"' in body
    assert 'id="confirm-deletion"' in body


def test_closing_ends_grants_and_emergency_windows_and_reopening_restores_the_rest(
    camille, camille_dmp, fed_letter, dr_garnier, dr_moreau, dr_leroy
):
    live = grant(camille_dmp, dr_garnier)
    dmp_emergency.emergency_access_open(
        actor=dr_leroy, patient_id=camille.public_id, mode="emergency", reason="Patiente inconsciente aux urgences."
    )
    documents.document_mask(actor=camille.account, document_id=fed_letter.public_id)
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    assert AccessGrant.objects.get(pk=live.pk).revoked_at is not None
    assert not DmpEmergencyAccess.objects.filter(record=camille_dmp, expires__gt=timezone.now()).exists()
    close_trace = _last("dmp_close")
    assert str(live.public_id) in close_trace.object_ids
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.ACTIVE)
    assert _last("dmp_reopen").outcome == "allowed"
    # Whole again: her documents and masks, her médecin traitant; the revoked grant stays revoked.
    page = documents.documents_list(actor=camille.account, patient_id=camille.public_id)
    assert [d.public_id for d in page.documents] == [fed_letter.public_id]
    assert SharedDocument.objects.get(pk=fed_letter.pk).masked
    assert documents.documents_list(actor=dr_moreau, patient_id=camille.public_id).total == 1
    with pytest.raises(AccessDenied):
        documents.documents_list(actor=dr_garnier, patient_id=camille.public_id)


def test_every_change_of_status_is_in_her_history(camille, camille_dmp):
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    lifecycle.deletion_request(actor=camille.account)
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.ACTIVE)
    page = history.access_history(actor=camille.account)
    sentences = [e.sentence for day in page.days for e in day.entries]
    assert "a fermé votre DMP : personne ne le consulte plus" in sentences
    assert "a rouvert votre DMP avec tout son contenu" in sentences
    assert "a demandé la suppression de votre DMP fermé" in sentences


def test_closing_and_reopening_go_through_the_confirmation_step_on_the_settings_page(client, camille, camille_dmp):
    client.force_login(camille.account)
    body = client.get(reverse("dmp:settings")).content.decode()
    assert 'id="confirm-close"' in body and 'id="confirm-oppose"' in body
    client.post(reverse("dmp:settings_status"), {"status": "closed"})
    body = client.get(reverse("dmp:settings")).content.decode()
    assert 'id="confirm-reopen"' in body and 'id="confirm-close"' not in body


# --- Deletion request and purge --------------------------------------------------------------------


def test_deletion_needs_a_closed_dmp(camille, camille_dmp):
    with pytest.raises(AccessDenied) as refused:
        lifecycle.deletion_request(actor=camille.account)
    assert refused.value.status == 409


def test_a_requested_deletion_is_done_by_the_purge_after_the_delay_and_traced(
    camille, fed_letter, settings, django_capture_on_commit_callbacks
):
    path = fed_letter.file.path
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    lifecycle.deletion_request(actor=camille.account)
    assert lifecycle.purge_closed_records() == 0  # not before the delay
    later = timezone.now() + datetime.timedelta(days=settings.DMP_DELETION_DELAY_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.purge_closed_records(now=later) == 1
    record = SharedRecord.objects.get(patient=camille)
    assert record.purged_at is not None
    document = SharedDocument.objects.get(pk=fed_letter.pk)
    assert document.title != fed_letter.title and not document.file and document.deleted_at is not None
    assert not os.path.exists(path)  # the file goes after commit
    trace = _last("dmp_purge")
    assert trace.reason == "deletion_requested" and str(fed_letter.public_id) in trace.object_ids
    assert lifecycle.purge_closed_records(now=later) == 0  # once
    # Reopened, it is empty; closed again, it is purged again after its own delay.
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.ACTIVE)
    assert documents.documents_list(actor=camille.account, patient_id=camille.public_id).total == 0
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    lifecycle.deletion_request(actor=camille.account)
    assert lifecycle.purge_closed_records(now=later + datetime.timedelta(days=settings.DMP_DELETION_DELAY_DAYS)) == 1


def test_a_closed_dmp_is_purged_after_its_retention_by_the_beat_task(camille, fed_letter, settings):
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    years = settings.DMP_CLOSED_RETENTION_YEARS
    SharedRecord.objects.filter(patient=camille).update(
        closed_at=timezone.now() - datetime.timedelta(days=365 * years - 1)
    )
    assert purge_closed_records() == 0
    SharedRecord.objects.filter(patient=camille).update(
        closed_at=timezone.now() - datetime.timedelta(days=365 * years + 1)
    )
    assert purge_closed_records() == 1
    assert _last("dmp_purge").reason == "retention"
    assert "dmp-purge-closed" in settings.CELERY_BEAT_SCHEDULE


def test_an_active_dmp_is_never_purged(camille, fed_letter):
    SharedRecord.objects.filter(patient=camille).update(
        deletion_requested_at=timezone.now() - datetime.timedelta(days=3650)
    )
    assert lifecycle.purge_closed_records() == 0


# --- The whole DMP in one archive --------------------------------------------------------------------


def test_she_downloads_her_whole_dmp_as_one_traced_archive(camille, fed_letter, make_document, camille_dmp):
    (hidden,) = make_document(camille_dmp, title="Pas encore visible", visible_to_patient=False)
    _record, buffer = lifecycle.record_export(actor=camille.account)
    with zipfile.ZipFile(buffer) as archive:
        names = archive.namelist()
        index = archive.read("index.html").decode()
        rows = list(csv.reader(io.StringIO(archive.read("index.csv").decode()), delimiter=";"))
        pdfs = [n for n in names if n.startswith("documents/")]
        assert len(pdfs) == 1 and archive.read(pdfs[0]).startswith(b"%PDF")
    assert fed_letter.title in index and hidden.title not in index
    assert rows[1][1] == fed_letter.title and len(rows) == 2
    trace = _last("dmp_export")
    assert trace.object_ids == [str(fed_letter.public_id)]


def test_the_archive_from_the_page_and_the_api(client, api, camille, fed_letter, other_patient):
    client.force_login(camille.account)
    response = client.get(reverse("dmp:export"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    response = api.as_user(camille.account).get(reverse("api:dmp-export", kwargs={"patient_id": camille.public_id}))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    # Another patient asking for hers: 404, as for anything of another patient.
    response = api.as_user(other_patient.account).get(
        reverse("api:dmp-export", kwargs={"patient_id": camille.public_id})
    )
    assert response.status_code == 404


def test_the_deletion_request_api(api, camille, camille_dmp):
    url = reverse("api:dmp-deletion-request", kwargs={"patient_id": camille.public_id})
    client = api.as_user(camille.account)
    assert client.post(url).status_code == 409
    record_settings.record_settings_update(actor=camille.account, status=RecordStatus.CLOSED)
    body = client.post(url).json()
    assert body["status"] == "closed" and body["deletion_requested_at"] and body["deletion_due"]
