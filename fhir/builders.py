"""The portal's objects as FHIR R4 JSON (plain dicts): Patient, DocumentReference, Consent, Bundle (AuditEvent: audit/fhir.py).

Code systems: LOINC for document types, the French DMP's class and confidentiality codes
(assumed OIDs, as dmp/constants.py says), HL7 terminology for the rest; the portal's own codes
under settings.FHIR_SYSTEM_BASE.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from audit.fhir import instant, rpps_identifier, system
from dmp.constants import DocumentSource, DocumentStatus
from dmp.services import designations
from records.constants import InsStatus

LOINC = "http://loinc.org"
DMP_CLASS_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.1"  # XDS classCode of the DMP (assumed)
DMP_CONFIDENTIALITY_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.13"  # MASQUE_PS, INVISIBLE_PATIENT (assumed)
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
FHIR_VERSION = "4.0.1"

GENDER = {"F": "female", "M": "male", "I": "unknown"}
DOCUMENT_STATUS = {
    DocumentStatus.CURRENT: "current",
    DocumentStatus.SUPERSEDED: "superseded",
    DocumentStatus.ARCHIVED: "superseded",
    # Never served: a withdrawn document has left every read channel (dmp/access.py); named for completeness.
    DocumentStatus.WITHDRAWN: "entered-in-error",
}


def _practitioner(user) -> dict | None:
    """A logical reference to a professional (by RPPS): the portal serves no Practitioner resource."""
    if user is None:
        return None
    reference = {"type": "Practitioner", "display": user.display_name}
    if user.rpps:
        reference["identifier"] = rpps_identifier(user.rpps)
    return reference


def _patient_reference(patient) -> dict:
    return {"reference": f"Patient/{patient.public_id}", "display": patient.display_name}


def patient(view) -> dict:
    p = view.patient
    identifiers = []
    if p.nir and p.ins_status == InsStatus.QUALIFIED:
        # The INS is shared only once the identity is qualified (French identity-vigilance rules).
        identifiers.append(
            {
                "use": "official",
                "type": {
                    "coding": [{"system": V2_0203, "code": "NI", "display": "National unique individual identifier"}],
                    "text": "INS-NIR",
                },
                "system": f"urn:oid:{p.ins_oid}",
                "value": p.nir,
            }
        )
    identifiers.append(
        {
            "use": "usual",
            "type": {
                "coding": [{"system": V2_0203, "code": "PI", "display": "Patient internal identifier"}],
                "text": "IPP",
            },
            "system": system("sid/ipp"),
            "value": p.ipp,
        }
    )
    names = [{"use": "official", "family": p.birth_name, "given": p.first_names.split()}]
    if p.used_name:
        names.append({"use": "usual", "family": p.used_name, "given": p.first_names.split()[:1]})
    resource = {
        "resourceType": "Patient",
        "id": str(p.public_id),
        "identifier": identifiers,
        "active": True,
        "name": names,
        "gender": GENDER.get(p.sex, "unknown"),
        "birthDate": p.birth_date.isoformat(),
    }
    gp = designations.gp_of(view.record) if view.record is not None else None
    if gp is not None:
        resource["generalPractitioner"] = [_practitioner(gp)]
    return resource


def document_reference(request, document, stays: dict) -> dict:
    record_patient = document.record.patient
    labels = []
    if document.masked:
        labels.append(
            {"system": DMP_CONFIDENTIALITY_SYSTEM, "code": "MASQUE_PS", "display": "Masqué aux professionnels de santé"}
        )
    if not document.visible_to_patient:
        labels.append(
            {"system": DMP_CONFIDENTIALITY_SYSTEM, "code": "INVISIBLE_PATIENT", "display": "Non visible par le patient"}
        )
    if document.source == DocumentSource.PATIENT:
        author = {"reference": f"Patient/{record_patient.public_id}", "display": record_patient.display_name}
    else:
        author = _practitioner(document.author)
    content_url = request.build_absolute_uri(
        reverse("api:dmp-document-content", kwargs={"document_id": document.public_id})
    )
    resource = {
        "resourceType": "DocumentReference",
        "id": str(document.public_id),
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document.public_id}"},
        "status": DOCUMENT_STATUS.get(document.status, "current"),
        "docStatus": "final",
        "type": {
            "coding": [{"system": LOINC, "code": document.type_code, "display": str(document.get_type_code_display())}]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": DMP_CLASS_SYSTEM,
                        "code": document.class_code,
                        "display": str(document.get_class_code_display()),
                    }
                ]
            }
        ],
        "subject": _patient_reference(record_patient),
        "date": instant(document.created_at),
        "description": document.title,
        "content": [
            {
                "attachment": {
                    "contentType": document.mime_type,
                    "url": content_url,
                    "size": document.size,
                    "title": document.title,
                    # R4's attachment.hash is SHA-1; the portal keeps SHA-256 (docs/decisions.md), given as an extension.
                    "extension": [
                        {"url": system("StructureDefinition/attachment-sha256"), "valueString": document.sha256}
                    ],
                }
            }
        ],
    }
    if labels:
        resource["securityLabel"] = [{"coding": [label]} for label in labels]
    if author:
        resource["author"] = [author]
    if document.replaces_id:
        resource["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{document.replaces.public_id}"}}
        ]
    context = {}
    stay_id = stays.get(document.source_report_id) if document.source_report_id else None
    if stay_id:
        context["encounter"] = [
            {"type": "Encounter", "identifier": {"system": system("sid/stay"), "value": str(stay_id)}}
        ]
    if document.event_date:
        context["period"] = {"start": document.event_date.isoformat()}
    if context:
        resource["context"] = context
    return resource


def _grant_status(grant, now) -> str:
    return "active" if grant.is_live(now) else "inactive"


def _consent_base(record, status: str) -> dict:
    return {
        "resourceType": "Consent",
        "status": status,
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": _patient_reference(record.patient),
        "performer": [_patient_reference(record.patient)],
    }


def consent_for_grant(grant, record, now=None) -> dict:
    now = now or timezone.now()
    end = min(grant.expires, grant.revoked_at) if grant.revoked_at else grant.expires
    return {
        **_consent_base(record, _grant_status(grant, now)),
        "id": str(grant.public_id),
        "dateTime": instant(grant.created_at),
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN"}]},
        "extension": [{"url": system("StructureDefinition/grant-source"), "valueCode": grant.source}],
        "provision": {
            "type": "permit",
            "period": {"start": instant(grant.starts), "end": instant(end)},
            "actor": [
                {
                    "role": {
                        "coding": [
                            {"system": PARTICIPATION_TYPE, "code": "PRCP", "display": "primary information recipient"}
                        ]
                    },
                    "reference": _practitioner(grant.professional),
                }
            ],
            "action": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
            ],
        },
    }


def oppositions(record) -> list[dict]:
    """The patient's opposition to emergency (and SAMU) access to the DMP, as deny provisions."""
    out = []
    for kind, allowed, text in (
        ("emergency", record.emergency_access_allowed, "Opposition à l'accès d'urgence (bris de glace) au DMP"),
        ("samu", record.samu_access_allowed, "Opposition à l'accès du médecin régulateur du SAMU au DMP"),
    ):
        if allowed:
            continue
        provision = {
            "type": "deny",
            "purpose": [{"system": ACT_REASON, "code": "ETREAT", "display": "Emergency Treatment"}],
            "code": [{"coding": [{"system": system("CodeSystem/access-mode"), "code": kind}], "text": text}],
        }
        if record.status_changed_at:
            provision["period"] = {"start": instant(record.status_changed_at)}
        out.append(
            {
                **_consent_base(record, "active"),
                "id": f"{kind}-opposition-{record.public_id}",
                "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTOUT"}]},
                "provision": provision,
            }
        )
    return out


def bundle(request, resources: list[dict], total: int, page: int, page_size: int) -> dict:
    """A searchset Bundle with self / next / previous links (page numbers and _count)."""
    from rest_framework.utils.urls import replace_query_param

    url = request.build_absolute_uri()

    def link(relation: str, number: int) -> dict:
        return {
            "relation": relation,
            "url": replace_query_param(replace_query_param(url, "page", number), "_count", page_size),
        }

    links = [{"relation": "self", "url": url}]
    if page * page_size < total:
        links.append(link("next", page + 1))
    if page > 1:
        links.append(link("previous", page - 1))
    base = request.build_absolute_uri("/fhir/")
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {"fullUrl": f"{base}{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }


def operation_outcome(status: int, code: str, message: str) -> dict:
    issue_code = {
        400: "invalid",
        401: "login",
        403: "forbidden",
        404: "not-found",
        405: "not-supported",
        406: "not-supported",
        409: "conflict",
        429: "throttled",
    }.get(status, "exception")
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": issue_code,
                "details": {"coding": [{"system": system("CodeSystem/error-code"), "code": code}], "text": message},
                "diagnostics": message,
            }
        ],
    }
