"""API of the traces (docs/api.md): DPO reads all, a patient reads what others did with her data, verification."""

from audit.models import AuditEvent, AuditVerification
from records.services import patients

URL = "/api/v1/audit/events/"


def test_dpo_lists_every_trace_with_the_contract_fields(api, dpo, dr_bernard, camille, camille_stay):
    patients.record_open(actor=dr_bernard, patient_id=camille.public_id)
    response = api.as_user(dpo).get(URL, {"actor": "dr.bernard"})
    assert response.status_code == 200
    assert response.data["count"] == 1
    item = response.data["results"][0]
    assert set(item) >= {
        "id",
        "at",
        "actor",
        "patient",
        "action",
        "object_type",
        "object_id",
        "outcome",
        "mode",
        "flagged",
    }
    assert item["actor"]["name"] == "Sophie Bernard"
    assert item["actor"]["role"] == "chu_clinician"
    assert item["actor"]["rpps"] == dr_bernard.rpps
    assert item["patient"] == str(camille.public_id)
    assert item["mode"] == "care_team"


def test_dpo_listing_is_traced_once_naming_the_ids(api, dpo, make_trace):
    shown = [make_trace() for _ in range(3)]
    api.as_user(dpo).get(URL, {"since": "2026-01-01", "until": "2026-12-31"})
    trace = AuditEvent.objects.get(actor_username="dpo.mercier", action="list")
    assert trace.mode == "dpo_review"
    assert set(trace.object_ids) >= {str(e.public_id) for e in shown}


def test_flagged_filter_returns_only_flagged_traces(api, dpo, make_trace):
    make_trace()
    loud = make_trace(mode="emergency", action="emergency_access")
    response = api.as_user(dpo).get(URL, {"flagged": "true"})
    assert [r["id"] for r in response.data["results"]] == [str(loud.public_id)]
    assert response.data["results"][0]["flag_reasons"] == ["emergency_access"]


def test_patient_reads_accesses_to_her_data_by_others_only(api, camille, dr_bernard, camille_stay, make_trace):
    patients.record_open(actor=dr_bernard, patient_id=camille.public_id)
    make_trace(actor_id=camille.account.public_id, actor_username="camille.martin", patient_id=camille.public_id)
    make_trace()  # someone else's data
    response = api.as_user(camille.account).get(URL)
    assert response.status_code == 200
    assert [r["actor"]["name"] for r in response.data["results"]] == ["Sophie Bernard"]
    assert all(r["patient"] == str(camille.public_id) for r in response.data["results"])


def test_patient_cannot_widen_the_list_to_another_patient(api, camille, other_patient, make_trace):
    make_trace(patient_id=other_patient.public_id)
    response = api.as_user(camille.account).get(URL, {"patient": str(other_patient.public_id)})
    assert response.status_code == 200
    assert response.data["count"] == 0


def test_a_professional_is_refused_the_traces(api, dr_bernard):
    response = api.as_user(dr_bernard).get(URL)
    assert response.status_code == 403
    assert response.data["code"] == "forbidden"
    assert AuditEvent.objects.filter(actor_username="dr.bernard", outcome="denied").exists()


def test_bad_filters_are_a_400_with_a_code(api, dpo):
    response = api.as_user(dpo).get(URL, {"since": "yesterday"})
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    response = api.as_user(dpo).get(URL, {"mode": "teleportation"})
    assert response.status_code == 400


def test_verify_answers_ok_and_keeps_the_result(api, dpo, make_trace):
    make_trace()
    response = api.as_user(dpo).get("/api/v1/audit/verify/")
    assert response.status_code == 200
    assert response.data["ok"] is True
    assert response.data["first_broken"] is None
    assert AuditVerification.objects.get().ok is True
    assert AuditEvent.objects.filter(actor_username="dpo.mercier", action="verify").exists()


def test_verify_is_for_the_dpo_only(api, dr_bernard):
    assert api.as_user(dr_bernard).get("/api/v1/audit/verify/").status_code == 403
