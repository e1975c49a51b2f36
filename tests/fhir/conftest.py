"""FHIR fixtures: the DMP cast (Camille, her GP, her fed documents) and a validator of R4 JSON (fhir.resources R4B)."""

from fhir.resources.R4B import get_fhir_model_class

from tests.dmp.conftest import (  # noqa: F401
    _media,
    camille_dmp,
    dr_garnier,
    fed_letter,
    make_document,
    operative_report,
    ph_fournier,
)

FHIR_JSON = "application/fhir+json"

# Enumerations fhir.resources does not check by itself (plain strings in its models).
ENUMS = {
    ("DocumentReference", "status"): {"current", "superseded", "entered-in-error"},
    ("DocumentReference", "docStatus"): {"preliminary", "final", "amended", "entered-in-error"},
    ("Consent", "status"): {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"},
    ("AuditEvent", "action"): {"C", "R", "U", "D", "E"},
    ("AuditEvent", "outcome"): {"0", "4", "8", "12"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
    ("Bundle", "type"): {"searchset"},
}
SECURITY_LABELS = {"MASQUE_PS", "INVISIBLE_PATIENT"}


def check_enums(resource: dict) -> None:
    kind = resource["resourceType"]
    for (rtype, field), allowed in ENUMS.items():
        if rtype == kind and field in resource:
            assert resource[field] in allowed, f"{kind}.{field} = {resource[field]!r}"
    if kind == "DocumentReference":
        for label in resource.get("securityLabel", []):
            assert {c["code"] for c in label["coding"]} <= SECURITY_LABELS
        for relation in resource.get("relatesTo", []):
            assert relation["code"] in {"replaces", "transforms", "signs", "appends"}
    if kind == "Consent":
        assert resource["provision"]["type"] in {"permit", "deny"}
    if kind == "Bundle":
        for entry in resource.get("entry", []):
            check_enums(entry["resource"])


def valid_fhir(response, status: int = 200) -> dict:
    """The response's body, checked: status, content type, R4 structure (fhir.resources R4B), enumerations."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    check_enums(body)
    return body
