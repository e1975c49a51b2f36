"""FHIR R4 read layer: valid R4 JSON, the same access rules and traces as /api/v1/, OperationOutcome errors."""

import datetime

import pytest
from django.utils import timezone

from audit.constants import Mode, Outcome
from audit.models import AuditEvent
from dmp.consent import grants
from dmp.services import documents, record_settings
from records.constants import INS_OID_TEST
from records.services import emergency as emergency_service
from records.services import patients, reports

from ..dmp.conftest import MINIMAL_PDF, grant
from .conftest import valid_fhir

pytestmark = pytest.mark.django_db


def docs(client, patient, **params):
    return client.get("/fhir/DocumentReference", {"patient": str(patient.public_id), **params})


def resources_of(bundle):
    return [e["resource"] for e in bundle.get("entry", [])]


def test_metadata_lists_exactly_what_is_supported(api):
    body = valid_fhir(api.get("/fhir/metadata"))
    assert body["fhirVersion"] == "4.0.1"
    supported = {r["type"]: {i["code"] for i in r["interaction"]} for r in body["rest"][0]["resource"]}
    assert supported == {
        "Patient": {"read"},
        "DocumentReference": {"read", "search-type"},
        "Consent": {"search-type"},
        "AuditEvent": {"search-type"},
    }


def test_the_gp_reads_the_patient_with_ins_under_the_test_oid_ipp_and_gp(api, camille, camille_dmp, dr_moreau):
    body = valid_fhir(api.as_user(dr_moreau).get(f"/fhir/Patient/{camille.public_id}"))
    ins = next(i for i in body["identifier"] if i["use"] == "official")
    assert ins["system"] == f"urn:oid:{INS_OID_TEST}" == "urn:oid:1.2.250.1.213.1.4.10"
    assert ins["value"] == camille.nir
    assert any(i["value"] == camille.ipp for i in body["identifier"] if i["use"] == "usual")
    assert body["generalPractitioner"][0]["identifier"]["value"] == "8" + dr_moreau.rpps
    assert (body["gender"], body["birthDate"]) == ("female", "1984-03-12")
    trace = AuditEvent.objects.get(actor_id=dr_moreau.public_id, object_type="patient_identity")
    assert (trace.mode, trace.outcome, trace.patient_id) == (Mode.GP, Outcome.ALLOWED, camille.public_id)


def test_a_patient_reads_herself_but_another_patient_is_404(api, camille, camille_dmp, other_patient):
    client = api.as_user(camille.account)
    assert valid_fhir(client.get(f"/fhir/Patient/{camille.public_id}"))["id"] == str(camille.public_id)
    outcome = valid_fhir(client.get(f"/fhir/Patient/{other_patient.public_id}"), 404)
    assert outcome["issue"][0]["code"] == "not-found"


def test_a_professional_without_access_gets_403_operation_outcome_and_the_refusal_is_traced(
    api, camille, camille_dmp, dr_garnier
):
    outcome = valid_fhir(api.as_user(dr_garnier).get(f"/fhir/Patient/{camille.public_id}"), 403)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "forbidden"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "forbidden"
    assert AuditEvent.objects.filter(actor_id=dr_garnier.public_id, outcome=Outcome.DENIED).count() == 1


def test_without_a_token_fhir_answers_401_operation_outcome(api, camille):
    outcome = valid_fhir(api.get(f"/fhir/Patient/{camille.public_id}"), 401)
    assert outcome["issue"][0]["code"] == "login"


def test_chu_staff_read_the_identity_as_on_the_api(api, camille, camille_dmp, dr_leroy):
    body = valid_fhir(api.as_user(dr_leroy).get(f"/fhir/Patient/{camille.public_id}"))
    assert body["id"] == str(camille.public_id)


def test_the_gp_searches_documents_as_a_searchset_with_the_contract_fields(api, camille, dr_moreau, fed_letter):
    bundle = valid_fhir(docs(api.as_user(dr_moreau), camille))
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    doc = resources_of(bundle)[0]
    assert doc["masterIdentifier"]["value"] == f"urn:uuid:{fed_letter.public_id}"
    assert doc["status"] == "current"
    assert doc["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "11490-0",
        "display": fed_letter.get_type_code_display(),
    }
    assert doc["category"][0]["coding"][0]["code"] == "10"
    assert doc["subject"]["reference"] == f"Patient/{camille.public_id}"
    assert doc["author"][0]["identifier"]["value"] == "8" + fed_letter.author.rpps
    attachment = doc["content"][0]["attachment"]
    assert attachment["url"].endswith(f"/api/v1/dmp/documents/{fed_letter.public_id}/content/")
    assert (attachment["contentType"], attachment["size"]) == ("application/pdf", fed_letter.size)
    assert attachment["extension"][0]["valueString"] == fed_letter.sha256
    stay_id = doc["context"]["encounter"][0]["identifier"]["value"]
    assert stay_id == str(camille.stays.get().public_id)
    assert "securityLabel" not in doc
    listed = AuditEvent.objects.get(actor_id=dr_moreau.public_id, object_type="dmp_document", action="list")
    assert listed.object_ids == [str(fed_letter.public_id)]


def test_the_attachment_url_is_the_traced_content_endpoint(api, camille, dr_moreau, fed_letter):
    client = api.as_user(dr_moreau)
    url = resources_of(valid_fhir(docs(client, camille)))[0]["content"][0]["attachment"]["url"]
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == MINIMAL_PDF
    assert AuditEvent.objects.filter(
        actor_id=dr_moreau.public_id, object_type="dmp_document_content", object_id=str(fed_letter.public_id)
    ).exists()


def test_masked_documents_carry_masque_ps_for_the_gp_and_are_absent_for_a_consented_professional(
    api, camille, camille_dmp, dr_moreau, dr_garnier, fed_letter, operative_report
):
    documents.document_mask(actor=camille.account, document_id=operative_report.public_id)
    gp_docs = {d["id"]: d for d in resources_of(valid_fhir(docs(api.as_user(dr_moreau), camille)))}
    labels = [c["code"] for label in gp_docs[str(operative_report.public_id)]["securityLabel"] for c in label["coding"]]
    assert labels == ["MASQUE_PS"]
    grant(camille_dmp, dr_garnier)
    bundle = valid_fhir(docs(api.as_user(dr_garnier), camille))
    assert [d["id"] for d in resources_of(bundle)] == [str(fed_letter.public_id)]
    assert bundle["total"] == 1
    valid_fhir(api.as_user(dr_garnier).get(f"/fhir/DocumentReference/{operative_report.public_id}"), 404)


def test_invisible_to_patient_is_labelled_for_the_gp_and_hidden_from_the_patient(
    api, camille, dr_moreau, fed_letter, make_document, camille_dmp
):
    (hidden,) = make_document(camille_dmp, visible_to_patient=False, author=dr_moreau)
    gp_docs = {d["id"]: d for d in resources_of(valid_fhir(docs(api.as_user(dr_moreau), camille)))}
    assert gp_docs[str(hidden.public_id)]["securityLabel"][0]["coding"][0]["code"] == "INVISIBLE_PATIENT"
    mine = resources_of(valid_fhir(docs(api.as_user(camille.account), camille)))
    assert [d["id"] for d in mine] == [str(fed_letter.public_id)]
    valid_fhir(api.as_user(camille.account).get(f"/fhir/DocumentReference/{hidden.public_id}"), 404)


def test_an_amended_report_replaces_the_previous_document_which_is_superseded(
    api, camille, dr_bernard, dr_moreau, discharge_letter, fed_letter
):
    amended = reports.report_amend(
        actor=dr_bernard, report_id=discharge_letter.public_id, title=None, body="Texte corrigé."
    )
    amended = reports.report_sign(actor=dr_bernard, report_id=amended.public_id)
    new = documents.chu_document_file(report=amended, content=MINIMAL_PDF)
    bundle = valid_fhir(docs(api.as_user(dr_moreau), camille))
    by_id = {d["id"]: d for d in resources_of(bundle)}
    assert by_id[str(fed_letter.public_id)]["status"] == "superseded"
    assert by_id[str(new.public_id)]["status"] == "current"
    assert by_id[str(new.public_id)]["relatesTo"] == [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{fed_letter.public_id}"}}
    ]
    current = resources_of(valid_fhir(docs(api.as_user(dr_moreau), camille, status="current")))
    assert [d["id"] for d in current] == [str(new.public_id)]


def test_a_professional_without_consent_gets_403_then_reads_after_consent(
    api, camille, camille_dmp, dr_garnier, fed_letter
):
    outcome = valid_fhir(docs(api.as_user(dr_garnier), camille), 403)
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "forbidden"
    grant(camille_dmp, dr_garnier)
    assert valid_fhir(docs(api.as_user(dr_garnier), camille))["total"] == 1
    read = valid_fhir(api.as_user(dr_garnier).get(f"/fhir/DocumentReference/{fed_letter.public_id}"))
    assert read["id"] == str(fed_letter.public_id)
    assert AuditEvent.objects.filter(
        actor_id=dr_garnier.public_id, action="read", object_id=str(fed_letter.public_id), mode=Mode.IN_PERSON_CONSENT
    ).exists()


def test_search_pages_with_next_and_previous_links(api, camille, camille_dmp, dr_moreau, make_document):
    make_document(camille_dmp, n=3)
    client = api.as_user(dr_moreau)
    first = valid_fhir(docs(client, camille, _count=2))
    assert first["total"] == 3 and len(first["entry"]) == 2
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = valid_fhir(client.get(next_url))
    assert len(second["entry"]) == 1
    assert {link["relation"] for link in second["link"]} == {"self", "previous"}


def test_search_without_patient_or_with_bad_paging_is_400(api, dr_moreau):
    client = api.as_user(dr_moreau)
    assert valid_fhir(client.get("/fhir/DocumentReference"), 400)["issue"][0]["code"] == "invalid"
    valid_fhir(client.get("/fhir/DocumentReference", {"patient": "x", "_count": "lots"}), 400)


def test_unknown_documents_and_writes_are_operation_outcomes(api, dr_moreau):
    client = api.as_user(dr_moreau)
    valid_fhir(client.get("/fhir/DocumentReference/00000000-0000-0000-0000-000000000000"), 404)
    valid_fhir(client.get("/fhir/Observation"), 404)
    assert valid_fhir(client.post("/fhir/DocumentReference", {}), 405)["issue"][0]["code"] == "not-supported"


def test_consents_are_grants_with_permit_provisions_and_the_emergency_opposition_a_deny(
    api, camille, camille_dmp, dr_garnier, ph_fournier
):
    live = grant(camille_dmp, dr_garnier, days=30)
    revoked = grant(camille_dmp, ph_fournier)
    grants.grant_revoke(actor=camille.account, grant_id=revoked.public_id)
    record_settings.record_settings_update(actor=camille.account, emergency_access_allowed=False)
    bundle = valid_fhir(api.as_user(camille.account).get("/fhir/Consent", {"patient": str(camille.public_id)}))
    consents = {c["id"]: c for c in resources_of(bundle)}
    active = consents[str(live.public_id)]
    assert active["status"] == "active"
    assert active["provision"]["type"] == "permit"
    assert active["provision"]["actor"][0]["reference"]["identifier"]["value"] == "8" + dr_garnier.rpps
    period = active["provision"]["period"]
    end = datetime.datetime.fromisoformat(period["end"])
    assert abs(end - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(minutes=1)
    assert consents[str(revoked.public_id)]["status"] == "inactive"
    (opposition,) = [c for c in consents.values() if c["provision"]["type"] == "deny"]
    assert opposition["status"] == "active"
    assert opposition["provision"]["purpose"][0]["code"] == "ETREAT"
    assert AuditEvent.objects.filter(
        actor_id=camille.account.public_id, object_type="dmp_grant", action="list"
    ).exists()


def test_consents_are_the_patients_own_business(api, camille, camille_dmp, dr_moreau, other_patient):
    valid_fhir(api.as_user(dr_moreau).get("/fhir/Consent", {"patient": str(camille.public_id)}), 403)
    valid_fhir(api.as_user(other_patient.account).get("/fhir/Consent", {"patient": str(camille.public_id)}), 404)


def test_the_patient_reads_traces_by_others_shaped_after_balp_with_emergency_override(
    api, camille, camille_dmp, camille_stay, dr_leroy, dr_moreau, fed_letter
):
    emergency_service.emergency_access_grant(actor=dr_leroy, patient_id=camille.public_id, reason="Arrêt cardiaque")
    patients.record_open(actor=dr_leroy, patient_id=camille.public_id)
    documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    client = api.as_user(camille.account)
    client.get(f"/fhir/Patient/{camille.public_id}")  # her own read: not in her list
    bundle = valid_fhir(client.get("/fhir/AuditEvent", {"patient": str(camille.public_id)}))
    events = resources_of(bundle)
    assert events and all(e["agent"][0]["who"].get("display") != camille.account.display_name for e in events)
    emergency = [e for e in events if e.get("purposeOfEvent", [{}])[0].get("text", "").startswith("Emergency Override")]
    assert emergency and emergency[0]["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"
    assert emergency[0]["agent"][0]["who"]["identifier"]["value"] == "8" + dr_leroy.rpps
    gp_read = next(e for e in events if e["agent"][0]["who"].get("identifier", {}).get("value") == "8" + dr_moreau.rpps)
    assert gp_read["action"] == "R" and gp_read["outcome"] == "0"
    assert {"reference": f"DocumentReference/{fed_letter.public_id}"} in [x["what"] for x in gp_read["entity"]]


def test_traces_of_another_patient_are_404_and_the_dpo_reads_all(api, camille, other_patient, dpo, dr_moreau):
    valid_fhir(api.as_user(other_patient.account).get("/fhir/AuditEvent", {"patient": str(camille.public_id)}), 404)
    valid_fhir(api.as_user(dr_moreau).get("/fhir/AuditEvent", {"patient": str(camille.public_id)}), 403)
    bundle = valid_fhir(api.as_user(dpo).get("/fhir/AuditEvent"))
    assert bundle["total"] >= 2  # the two refusals above, at least
    assert any(e["outcome"] == "4" for e in resources_of(bundle))
