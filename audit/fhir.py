"""The one FHIR R4 mapping of a trace: AuditEvent shaped after IHE BALP, for the DPO's export and /fhir/AuditEvent.

`audit_event(trace)` takes an `AuditEvent` or a `values()` row of one (the export streams rows);
both callers get the same resource for the same trace. Professionals are identified as the French
FHIR profiles (FR Core, ANS) write them: the national id of a health professional, "8" followed by
the RPPS number, in the system urn:oid:1.2.250.1.71.4.2.1. Each access mode has one purpose of use
(v3 ActReason), in `PURPOSE_OF_USE`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.conf import settings

from .constants import Action, Mode, ObjectType, Outcome

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
# National id of health professionals (IDNPS): "8" + RPPS number (FR Core Practitioner.identifier).
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
RPPS_PREFIX = "8"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"

# One purpose of use per access mode (docs/decisions.md, "FHIR"): code and display of v3 ActReason.
_TREATMENT = ("TREAT", "treatment")
PURPOSE_OF_USE: dict[str, tuple[str, str]] = {
    Mode.SELF: ("PATRQT", "patient requested"),
    Mode.CARE_TEAM: _TREATMENT,
    Mode.OPINION_REQUEST: _TREATMENT,
    Mode.GP: _TREATMENT,
    Mode.AUTHOR: _TREATMENT,
    Mode.CONSENT: _TREATMENT,
    Mode.IN_PERSON_CONSENT: _TREATMENT,
    Mode.TEAM_CONSENT: _TREATMENT,
    Mode.EMERGENCY: ("ETREAT", "Emergency Treatment"),
    Mode.SAMU: ("ETREAT", "Emergency Treatment"),
    Mode.FEED: ("HOPERAT", "healthcare operations"),
    # The DPO reviews the trail for compliance with the GDPR and the CSP, not to run the hospital.
    Mode.DPO_REVIEW: ("HCOMPL", "health compliance"),
    Mode.ADMIN: ("HSYSADMIN", "health system administration"),
    # Someone acting for the patient (issue 21): a parent, guardian or trusted representative.
    Mode.REPRESENTATIVE: ("FAMRQT", "family requested"),
    Mode.TRUSTED_REPRESENTATIVE: ("FAMRQT", "family requested"),
    # The office and the validating or named doctor answering a request for a copy of the record (issue 22):
    # an operation in response to the patient's (or her representative's, or an heir's) request.
    Mode.RECORD_REQUEST: ("PATRQT", "patient requested"),
}

# trace action -> (FHIR AuditEvent.action, restful-interaction, BALP profile for a patient's data)
_INTERACTIONS: dict[str, tuple[str, str | None, str]] = {
    Action.READ: ("R", "read", "IHE.BasicAudit.PatientRead"),
    "download": ("R", "read", "IHE.BasicAudit.PatientRead"),
    "lookup": ("E", "search-type", "IHE.BasicAudit.PatientQuery"),
    Action.LIST: ("E", "search-type", "IHE.BasicAudit.PatientQuery"),
    Action.SEARCH: ("E", "search-type", "IHE.BasicAudit.PatientQuery"),
    Action.CREATE: ("C", "create", "IHE.BasicAudit.PatientCreate"),
    Action.UPDATE: ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    Action.SIGN: ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    Action.AMEND: ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    "mask": ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    "unmask": ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    "make_visible": ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    "release": ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    "delete": ("D", "delete", "IHE.BasicAudit.PatientDelete"),
}
# Object types the portal serves as FHIR resources: the entity is a reference, not an identifier.
_RESOURCE_TYPES = {ObjectType.DMP_DOCUMENT: "DocumentReference", ObjectType.DMP_DOCUMENT_CONTENT: "DocumentReference"}


def system(name: str) -> str:
    """A naming or code system of the portal itself (IPP, stays, trace actions, access modes, error codes)."""
    return f"{settings.FHIR_SYSTEM_BASE.rstrip('/')}/{name}"


def instant(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def rpps_identifier(rpps: str) -> dict:
    """A health professional's identifier as FR Core writes it: "8" + RPPS in the IDNPS system."""
    return {"system": RPPS_SYSTEM, "value": RPPS_PREFIX + rpps}


def purpose_of_use(mode: str) -> list[dict]:
    if mode not in PURPOSE_OF_USE:
        return []
    code, display = PURPOSE_OF_USE[mode]
    purpose = {
        "coding": [{"system": ACT_REASON, "code": code, "display": display}],
        "text": "Emergency Override" + (" (SAMU)" if mode == Mode.SAMU else "") if code == "ETREAT" else display,
    }
    return [purpose]


def _fields(trace) -> Mapping:
    """The trace's fields by name, from a values() row (id as `public_id`) or an AuditEvent."""
    if isinstance(trace, Mapping):
        return trace
    return {
        name: getattr(trace, name)
        for name in (
            "public_id",
            "at",
            "actor_id",
            "actor_username",
            "actor_name",
            "actor_role",
            "actor_rpps",
            "patient_id",
            "action",
            "object_type",
            "object_id",
            "outcome",
            "mode",
            "reason",
            "ip",
            "request_id",
        )
    }


def _agent(t: Mapping) -> dict:
    who: dict = {"display": t["actor_name"] or t["actor_username"] or "CHU Portal"}
    if t["actor_rpps"]:
        who["identifier"] = rpps_identifier(t["actor_rpps"])
    elif t["actor_id"]:
        who["identifier"] = {"system": system("sid/user"), "value": str(t["actor_id"])}
    agent: dict = {
        "type": {"coding": [{"system": SECURITY_ROLE, "code": "humanuser" if t["actor_id"] else "datacollector"}]},
        "who": who,
        "requestor": True,
    }
    if t["actor_role"]:
        agent["role"] = [{"coding": [{"system": system("CodeSystem/role"), "code": t["actor_role"]}]}]
    if t["mode"]:
        agent["policy"] = [system(f"CodeSystem/access-mode#{t['mode']}")]
    if t["ip"]:
        agent["network"] = {"address": t["ip"], "type": "2"}
    return agent


def _entities(t: Mapping) -> list[dict]:
    entities = []
    if t["patient_id"]:
        entities.append(
            {
                "what": {"reference": f"Patient/{t['patient_id']}"},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    if t["object_id"] and t["object_id"] != str(t["patient_id"] or ""):
        resource_type = _RESOURCE_TYPES.get(t["object_type"])
        what = (
            {"reference": f"{resource_type}/{t['object_id']}"}
            if resource_type
            else {"identifier": {"system": system(f"sid/{t['object_type'] or 'object'}"), "value": t["object_id"]}}
        )
        entity = {"what": what, "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"}}
        if t["object_type"]:
            entity["description"] = t["object_type"]
        entities.append(entity)
    if t["request_id"]:
        entities.append(
            {
                "what": {"identifier": {"value": t["request_id"]}},
                "type": {
                    "system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                    "code": "XrequestId",
                },
            }
        )
    return entities


def audit_event(trace) -> dict:
    """One trace as a FHIR R4 AuditEvent (BALP-shaped)."""
    t = _fields(trace)
    fhir_action, interaction, profile = _INTERACTIONS.get(t["action"], ("E", None, "IHE.BasicAudit"))
    if not t["patient_id"]:
        profile = "IHE.BasicAudit"
    subtype = [{"system": "http://hl7.org/fhir/restful-interaction", "code": interaction}] if interaction else []
    subtype.append({"system": system("CodeSystem/trace-action"), "code": t["action"]})
    if t["mode"] in (Mode.EMERGENCY, Mode.SAMU):
        subtype.append({"system": DCM, "code": "110127", "display": "Emergency Override Started"})
    resource: dict = {
        "resourceType": "AuditEvent",
        "id": str(t["public_id"]),
        "meta": {"profile": [BALP + profile]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "subtype": subtype,
        "action": fhir_action,
        "recorded": instant(t["at"]),
        "outcome": "0" if t["outcome"] == Outcome.ALLOWED else "4",
        "agent": [_agent(t)],
        "source": {
            "observer": {"display": "CHU Portal"},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
    }
    if t["outcome"] != Outcome.ALLOWED:
        resource["outcomeDesc"] = t["reason"] or "denied"
    purpose = purpose_of_use(t["mode"])
    if purpose:
        resource["purposeOfEvent"] = purpose
    entities = _entities(t)
    if entities:
        resource["entity"] = entities
    return resource
