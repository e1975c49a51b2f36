"""One FHIR AuditEvent mapping (audit/fhir.py): the DPO's export and /fhir/AuditEvent give the same resource."""

import json
from pathlib import Path

import pytest
from django.urls import reverse
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

from audit import fhir
from audit.constants import Mode

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def exported(client, dpo) -> dict:
    client.force_login(dpo)
    response = client.get(reverse("audit:export", args=["fhir"]))
    bundle = json.loads(b"".join(response.streaming_content))
    return {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}


@pytest.mark.parametrize("mode", [Mode.CARE_TEAM, Mode.EMERGENCY, Mode.DPO_REVIEW, Mode.FEED, Mode.SELF])
def test_the_export_and_the_fhir_endpoint_map_a_trace_alike(client, api, dpo, make_trace, mode):
    trace = make_trace(
        actor_rpps="10000000008", mode=mode, ip="10.0.0.7", request_id="req-1", object_id="x1", object_type="report"
    )
    refused = make_trace(outcome="denied", mode="", reason="forbidden: non", patient_id=None)
    from_export = exported(client, dpo)
    served = api.as_user(dpo).get("/fhir/AuditEvent", {"_count": 200}).json()
    from_fhir = {e["resource"]["id"]: e["resource"] for e in served["entry"]}
    for event in (trace, refused):
        key = str(event.public_id)
        assert from_export[key] == from_fhir[key]
        FhirAuditEvent.model_validate(from_fhir[key])  # R4 structure


def test_the_rpps_is_the_national_id_of_the_french_profiles(make_trace):
    resource = fhir.audit_event(make_trace(actor_rpps="10000000008"))
    assert resource["agent"][0]["who"]["identifier"] == {
        "system": "urn:oid:1.2.250.1.71.4.2.1",
        "value": "810000000008",
    }


def test_every_access_mode_has_one_purpose_of_use(make_trace):
    assert set(fhir.PURPOSE_OF_USE) == {m for m in Mode.values if m}
    review = fhir.audit_event(make_trace(mode=Mode.DPO_REVIEW))
    assert [c["code"] for p in review["purposeOfEvent"] for c in p["coding"]] == ["HCOMPL"]
    assert "purposeOfEvent" not in fhir.audit_event(make_trace(mode=Mode.NONE))


def test_no_other_module_maps_a_trace():
    assert "def audit_event" not in (ROOT / "fhir" / "builders.py").read_text()
    assert "def fhir_audit_event" not in (ROOT / "audit" / "exports.py").read_text()
    assert "1.2.250.1.71.4.2.1" not in (ROOT / "fhir" / "builders.py").read_text()
