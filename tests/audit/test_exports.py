"""Exports of a filtered range: CSV streamed row by row, and FHIR AuditEvent (BALP-shaped) JSON; both traced."""

import csv
import html
import io
import json

from django.http import StreamingHttpResponse
from django.urls import reverse

from audit.models import AuditEvent

from .conftest import local


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_csv_export_streams_the_filtered_month(client, dpo, make_trace):
    march = [make_trace(at=local(2026, 3, d, 10)) for d in (2, 10, 31)]
    make_trace(at=local(2026, 4, 1, 10))
    emergency = make_trace(at=local(2026, 3, 12, 10), mode="emergency", action="emergency_access")
    client.force_login(dpo)
    response = client.get(reverse("audit:export", args=["csv"]), {"since": "2026-03-01", "until": "2026-03-31"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [r["id"] for r in rows] == [str(e.public_id) for e in sorted(march + [emergency], key=lambda e: e.at)]
    flagged = [r for r in rows if r["flagged"] == "true"]
    assert [(r["id"], r["flag_reasons"]) for r in flagged] == [(str(emergency.public_id), "emergency_access")]


def test_csv_export_is_traced_with_its_filters(client, dpo, make_trace):
    make_trace()
    client.force_login(dpo)
    body(client.get(reverse("audit:export", args=["csv"]), {"since": "2026-03-01", "mode": "care_team"}))
    trace = AuditEvent.objects.get(action="export", actor_username="dpo.mercier")
    assert trace.mode == "dpo_review"
    assert trace.reason.startswith("csv: ")
    assert "mode=care_team" in trace.reason


def test_csv_export_defuses_spreadsheet_formulas(client, dpo, make_trace):
    make_trace(actor_name='=HYPERLINK("http://x")')
    client.force_login(dpo)
    rows = list(csv.DictReader(io.StringIO(body(client.get(reverse("audit:export", args=["csv"]))))))
    assert rows[0]["actor_name"].startswith("'=")


def test_fhir_export_is_a_bundle_of_balp_audit_events(client, dpo, make_trace):
    read = make_trace(actor_rpps="10000000008", ip="10.0.0.7", request_id="req-1")
    refused = make_trace(outcome="denied", mode="", reason="forbidden", patient_id=None, object_type="audit_event")
    client.force_login(dpo)
    response = client.get(reverse("audit:export", args=["fhir"]))
    assert response["Content-Type"] == "application/fhir+json"
    bundle = json.loads(body(response))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    events = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    r = events[str(read.public_id)]
    assert r["resourceType"] == "AuditEvent"
    assert r["meta"]["profile"] == ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"]
    assert r["action"] == "R" and r["outcome"] == "0"
    assert r["agent"][0]["who"]["identifier"] == {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000000008"}
    assert r["agent"][0]["network"] == {"address": "10.0.0.7", "type": "2"}
    assert {"reference": f"Patient/{read.patient_id}"}.items() <= r["entity"][0]["what"].items()
    assert r["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    assert any(e["type"]["code"] == "XrequestId" for e in r["entity"])
    d = events[str(refused.public_id)]
    assert d["outcome"] == "4" and d["outcomeDesc"] == "forbidden"


def test_a_clinician_cannot_export(client, dr_bernard, make_trace):
    make_trace()
    client.force_login(dr_bernard)
    assert client.get(reverse("audit:export", args=["csv"])).status_code == 403


def test_an_unknown_export_format_is_refused_with_a_message(client, dpo):
    client.force_login(dpo)
    response = client.get(reverse("audit:export", args=["xls"]), follow=True)
    assert "Format d'export inconnu." in html.unescape(response.content.decode())
