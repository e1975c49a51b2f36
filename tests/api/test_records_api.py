"""The hospital-record API: same services, same rules, same traces as the pages."""

from audit.models import AuditEvent
from records.constants import ReportType
from records.models import EmergencyAccess, Report


def test_search_by_name_is_for_chu_staff(api, dr_leroy, camille):
    body = api.as_user(dr_leroy).get("/api/v1/patients/", {"q": "martin"}).json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    assert body["results"][0]["id"] == str(camille.public_id)
    assert body["results"][0]["ins_status"] == "qualified"


def test_search_is_paginated(api, dr_leroy, db):
    from tests.factories import PatientFactory

    for _ in range(5):
        PatientFactory(birth_name="DURAND")
    body = api.as_user(dr_leroy).get("/api/v1/patients/", {"q": "durand", "page_size": 2, "page": 2}).json()
    assert body["count"] == 5 and len(body["results"]) == 2
    assert "page=3" in body["next"] and "page=1" in body["previous"]


def test_external_professionals_cannot_search(api, dr_moreau, camille):
    response = api.as_user(dr_moreau).get("/api/v1/patients/", {"q": "martin"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_the_record_has_the_shape_of_the_contract(api, dr_bernard, camille, discharge_letter):
    body = api.as_user(dr_bernard).get(f"/api/v1/patients/{camille.public_id}/record/").json()
    assert body["patient"]["id"] == str(camille.public_id)
    stay = body["stays"][0]
    assert set(stay) >= {"id", "kind", "unit", "admitted_at", "discharged_at", "diagnoses", "procedures", "reports"}
    assert stay["diagnoses"][0]["code"] == "I48.0"
    report = stay["reports"][0]
    assert set(report) >= {"id", "type_code", "title", "version", "status", "author", "signed_at"}
    assert (report["id"], report["status"]) == (str(discharge_letter.public_id), "signed")
    assert AuditEvent.objects.filter(
        actor_username="dr.bernard", object_type="hospital_record", outcome="allowed"
    ).exists()


def test_an_outsider_gets_403_forbidden_and_a_patient_404(api, dr_leroy, other_patient, camille, camille_stay):
    response = api.as_user(dr_leroy).get(f"/api/v1/patients/{camille.public_id}/record/")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    response = api.as_user(other_patient.account).get(f"/api/v1/patients/{camille.public_id}/record/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_unknown_or_malformed_id_is_404(api, dr_bernard, db):
    assert api.as_user(dr_bernard).get("/api/v1/patients/not-a-uuid/record/").status_code == 404
    assert api.get("/api/v1/patients/00000000-0000-0000-0000-000000000000/record/").status_code == 404


def test_emergency_access_through_the_api(api, dr_leroy, camille, camille_stay):
    api.as_user(dr_leroy)
    response = api.post(
        f"/api/v1/patients/{camille.public_id}/emergency-access/", {"reason": "Arrêt cardiaque au bloc"}, format="json"
    )
    assert response.status_code == 201 and "expires" in response.json()
    assert api.get(f"/api/v1/patients/{camille.public_id}/record/").json()["access_mode"] == "emergency"


def test_emergency_access_without_a_reason_is_400(api, dr_leroy, camille, camille_stay):
    response = api.as_user(dr_leroy).post(f"/api/v1/patients/{camille.public_id}/emergency-access/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not EmergencyAccess.objects.exists()


def test_write_sign_and_amend_a_report(api, dr_bernard, camille_stay):
    api.as_user(dr_bernard)
    created = api.post(
        "/api/v1/reports/",
        {
            "stay": str(camille_stay.public_id),
            "type_code": ReportType.OPERATIVE_REPORT,
            "title": "Ablation",
            "body": "Texte",
        },
        format="json",
    )
    assert created.status_code == 201
    report = created.json()
    assert (report["status"], report["version"], report["replaces"]) == ("draft", 1, None)
    signed = api.post(f"/api/v1/reports/{report['id']}/sign/").json()
    assert signed["status"] == "signed" and signed["signed_at"]
    again = api.post(f"/api/v1/reports/{report['id']}/sign/")
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    edit = api.patch(f"/api/v1/reports/{report['id']}/", {"body": "changed"}, format="json")
    assert edit.status_code == 409
    amended = api.post(f"/api/v1/reports/{report['id']}/amend/", {"body": "Texte corrigé"}, format="json")
    assert amended.status_code == 201
    assert (amended.json()["version"], amended.json()["replaces"]) == (2, report["id"])
    assert Report.objects.get(public_id=report["id"]).body == "Texte"


def test_an_unknown_report_type_is_refused_with_nothing_written(api, dr_bernard, camille_stay):
    response = api.as_user(dr_bernard).post(
        "/api/v1/reports/",
        {"stay": str(camille_stay.public_id), "type_code": "0000-0", "title": "T", "body": "B"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert not Report.objects.exists()


def test_a_report_for_an_unknown_stay_is_400(api, dr_bernard, db):
    response = api.as_user(dr_bernard).post(
        "/api/v1/reports/",
        {"stay": "nope", "type_code": ReportType.OPERATIVE_REPORT, "title": "T", "body": "B"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_qualify_identity_through_the_api(api, inf_roux, db):
    from records.constants import InsStatus
    from tests.factories import PatientFactory

    jules = PatientFactory(ins_status=InsStatus.RETRIEVED, identity_document_checked=False, identity_qualified_at=None)
    response = api.as_user(inf_roux).post(
        f"/api/v1/patients/{jules.public_id}/qualify-identity/", {"document_checked": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["ins_status"] == "qualified"
