"""The record requests' API: codes, the representative's `patient`, the schema of each answer, bounded queries."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from record_requests.constants import RecordRequestAction, RequestStatus
from record_requests.models import RecordBundle, RecordRequest, SecureMessage
from record_requests.services import office, requests

from ..factories import StayFactory

URL = "/api/v1/record-requests/"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(office, "enqueue_bundle", lambda pk: None)


def test_the_patient_asks_and_follows_her_request(api, camille, camille_stay):
    api.as_user(camille.account)
    created = api.post(URL, {"delivery": "download"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "received" and body["all_stays"] and body["stays"][0]["id"] == str(camille_stay.public_id)
    assert body["due_on"] == (timezone.localdate() + datetime.timedelta(days=8)).isoformat()
    assert body["overdue"] is False and body["progress"] is None and body["bundle_url"] is None
    listed = api.get(URL).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert api.get(f"{URL}{body['id']}/").json()["id"] == body["id"]


def test_codes(api, camille, camille_stay, other_patient, dr_leroy, dr_bernard, inf_roux):
    api.as_user(camille.account)
    bad = api.post(URL, {"delivery": "doctor", "named_doctor_rpps": inf_roux.rpps}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "named_doctor_rpps" in bad.json()["fields"]
    assert api.post(URL, {"stays": ["nope"]}, format="json").json()["fields"] == {"stays": "Séjour inconnu."}
    mine = api.post(URL, {}, format="json").json()
    assert api.get(f"{URL}{mine['id']}/bundle/").json()["code"] == "not_ready"
    api.as_user(other_patient.account)
    assert api.get(f"{URL}{mine['id']}/").status_code == 404
    assert api.get(f"{URL}{mine['id']}/bundle/").status_code == 404
    assert api.get(URL, {"patient": camille.public_id}).status_code == 404
    assert api.get(URL, {"patient": "x"}).status_code == 400
    assert api.get(f"{URL}queue/").json()["code"] == "forbidden"
    api.as_user(dr_leroy)
    assert api.post(f"{URL}{mine['id']}/validate/", {}, format="json").status_code == 404
    assert api.get(URL).json()["code"] == "forbidden"
    api.as_user(dr_bernard)
    refused = api.post(f"{URL}{mine['id']}/refuse/", {"reason": "because"}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()["fields"]
    ok = api.post(f"{URL}{mine['id']}/validate/", {"include_handover_notes": True}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "validated" and ok.json()["include_handover_notes"]
    again = api.post(f"{URL}{mine['id']}/validate/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    api.credentials()
    assert api.get(URL).status_code == 401


def test_the_parent_acts_for_her_son_with_patient(api, camille, lucas, lucas_stays, mother):
    api.as_user(camille.account)
    created = api.post(URL, {"patient_id": str(lucas.public_id)}, format="json")
    assert created.status_code == 201 and created.json()["requester_kind"] == "representative"
    assert [s["id"] for s in created.json()["stays"]] == [str(lucas_stays[0].public_id)]
    assert api.get(URL, {"patient": lucas.public_id}).json()["count"] == 1
    assert api.get(URL).json()["count"] == 0
    api.as_user(lucas.account)
    assert api.post(URL, {}, format="json").json()["code"] == "forbidden"


def test_the_office_queue_heirs_and_refusal(api, camille, camille_stay, clerk, dr_moreau):
    api.as_user(clerk)
    heir = api.post(
        f"{URL}heirs/",
        {
            "patient_id": str(camille.public_id),
            "heir_name": "Paul Martin",
            "heir_relation": "fils",
            "heir_reason": "defend_memory",
            "death_date": (timezone.localdate() - datetime.timedelta(days=20)).isoformat(),
            "received_on": timezone.localdate().isoformat(),
            "named_doctor_rpps": dr_moreau.rpps,
        },
        format="json",
    )
    assert heir.status_code == 201, heir.content
    assert heir.json()["requester_kind"] == "heir" and heir.json()["delivery"] == "doctor"
    queue = api.get(f"{URL}queue/").json()
    assert queue["count"] == 1 and queue["counts"]["received"] == 1 and queue["results"][0]["overdue"] is False
    refused = api.post(
        f"{URL}{heir.json()['id']}/refuse/",
        {"reason": "heir_reason_not_allowed", "note": "Motif absent."},
        format="json",
    )
    assert refused.status_code == 200 and refused.json()["refusal_reason"] == "heir_reason_not_allowed"
    api.as_user(camille.account)
    assert api.post(f"{URL}heirs/", {}, format="json").status_code in (400, 403)


def _released(request) -> RecordBundle:
    name = default_storage.save("record_requests/api.pdf", ContentFile(b"%PDF-1.4 synthetic"))
    past = timezone.now() - datetime.timedelta(hours=50)
    RecordRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.SENT if request.named_doctor_id else RequestStatus.AVAILABLE,
        received_at=past,
        earliest_release_at=past + datetime.timedelta(hours=48),
    )
    return RecordBundle.objects.create(
        request=request,
        progress=100,
        file=name,
        sha256="0" * 64,
        made_at=past,
        expires_at=timezone.now() + datetime.timedelta(days=60),
    )


def test_downloads_are_traced_pdfs(api, camille, camille_stay, dr_moreau, dr_bernard):
    asked = requests.request_create(actor=camille.account)
    _released(asked)
    api.as_user(camille.account)
    body = api.get(f"{URL}{asked.public_id}/").json()
    assert body["status"] == "available" and body["bundle_url"].endswith(f"{asked.public_id}/bundle/")
    response = api.get(f"{URL}{asked.public_id}/bundle/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action=RecordRequestAction.DOWNLOAD, outcome="allowed").count() == 1
    sent = requests.request_create(actor=camille.account, delivery="doctor", named_doctor_rpps=dr_moreau.rpps)
    message = SecureMessage.objects.create(recipient=dr_moreau, subject="Copie de dossier", bundle=_released(sent))
    api.as_user(dr_moreau)
    inbox = api.get("/api/v1/secure-messages/").json()
    assert inbox["count"] == 1 and inbox["results"][0]["bundle_url"].endswith(f"{message.public_id}/bundle/")
    got = api.get(f"/api/v1/secure-messages/{message.public_id}/bundle/")
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    api.as_user(dr_bernard)
    assert api.get(f"/api/v1/secure-messages/{message.public_id}/bundle/").status_code == 404
    assert api.get("/api/v1/secure-messages/").json()["count"] == 0
    api.as_user(camille.account)
    assert api.get("/api/v1/secure-messages/").json()["code"] == "forbidden"


def _queries(api, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


def test_lists_take_a_bounded_number_of_queries(api, camille, cardiology, clerk, dr_moreau):
    def grow(n):
        for _ in range(n):
            StayFactory(patient=camille, unit=cardiology)
            created = requests.request_create(actor=camille.account)
            SecureMessage.objects.create(recipient=dr_moreau, subject="Copie", bundle=_released(created))

    grow(1)
    counts = {}
    for who, url in ((camille.account, URL), (clerk, f"{URL}queue/"), (dr_moreau, "/api/v1/secure-messages/")):
        api.as_user(who)
        counts[url] = _queries(api, url)
    grow(4)
    for who, url in ((camille.account, URL), (clerk, f"{URL}queue/"), (dr_moreau, "/api/v1/secure-messages/")):
        api.as_user(who)
        assert _queries(api, url) == counts[url], url


def test_the_schema_describes_the_new_paths(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/record-requests/",
        "/api/v1/record-requests/queue/",
        "/api/v1/record-requests/heirs/",
        "/api/v1/record-requests/{record_request_id}/",
        "/api/v1/record-requests/{record_request_id}/validate/",
        "/api/v1/record-requests/{record_request_id}/refuse/",
        "/api/v1/record-requests/{record_request_id}/bundle/",
        "/api/v1/secure-messages/",
        "/api/v1/secure-messages/{message_id}/bundle/",
    ):
        assert path in paths, path
    bundle = paths["/api/v1/record-requests/{record_request_id}/bundle/"]["get"]["responses"]
    assert "application/pdf" in bundle["200"]["content"] and {"404", "409", "410"} <= set(bundle)
    assert "counts" in schema["components"]["schemas"]["QueuePage"]["properties"]
    created = paths["/api/v1/record-requests/"]["post"]["responses"]["201"]
    assert "record_requests_validate_create" in str(created.get("links", {})) or created.get("links")
