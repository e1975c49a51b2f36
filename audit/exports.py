"""Exports of traces, streamed row by row: CSV, and FHIR R4 AuditEvent shaped after IHE BALP.

Each format is a generator over the rows of `selectors.events_for_export` (a server-side
cursor), so memory stays flat whatever the number of traces.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterable, Iterator

from django.utils import timezone

from . import flags

CSV_COLUMNS = (
    "id",
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
    "flagged",
    "flag_reasons",
    "reviewed",
    "ip",
    "request_id",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    text = str(value)
    # A spreadsheet must not run a name or reason as a formula (CSV injection).
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for row in rows:
        yield writer.writerow(
            [
                _cell(row["public_id"]),
                _cell(row["at"]),
                _cell(row["actor_id"]),
                _cell(row["actor_username"]),
                _cell(row["actor_name"]),
                _cell(row["actor_role"]),
                _cell(row["actor_rpps"]),
                _cell(row["patient_id"]),
                row["action"],
                _cell(row["object_type"]),
                _cell(row["object_id"]),
                row["outcome"],
                row["mode"],
                _cell(row["reason"]),
                "true" if flags.reasons(row) else "false",
                " ".join(flags.reasons(row)),
                "true" if row["review__id"] else "false",
                _cell(row["ip"]),
                _cell(row["request_id"]),
            ]
        )


# --- FHIR R4 AuditEvent (IHE Basic Audit Log Patterns) -------------------------------------------

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"  # national id of health professionals ("8" + RPPS)
MODE_SYSTEM = "urn:chu-portal:access-mode"
USER_SYSTEM = "urn:chu-portal:user"
PATIENT_SYSTEM = "urn:chu-portal:patient"

# action -> (FHIR AuditEvent.action, restful-interaction subtype, BALP profile)
_ACTIONS = {
    "read": ("R", "read", "IHE.BasicAudit.PatientRead"),
    "list": ("E", "search-type", "IHE.BasicAudit.PatientQuery"),
    "search": ("E", "search-type", "IHE.BasicAudit.PatientQuery"),
    "create": ("C", "create", "IHE.BasicAudit.PatientCreate"),
    "update": ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    "sign": ("U", "update", "IHE.BasicAudit.PatientUpdate"),
    "amend": ("U", "update", "IHE.BasicAudit.PatientUpdate"),
}
_PURPOSE = {
    "emergency": "ETREAT",
    "samu": "ETREAT",
    "care_team": "TREAT",
    "opinion_request": "TREAT",
    "gp": "TREAT",
    "author": "TREAT",
    "consent": "TREAT",
    "in_person_consent": "TREAT",
    "team_consent": "TREAT",
    "self": "PATRQT",
    "feed": "HOPERAT",
    "dpo_review": "HCOMPL",
    "admin": "HSYSADMIN",
}


def _id(value) -> str | None:
    return str(value) if value else None


def fhir_audit_event(row: dict) -> dict:
    """One trace (a values() row or an annotated model's dict) as a FHIR R4 AuditEvent, BALP-shaped."""
    fhir_action, interaction, profile = _ACTIONS.get(row["action"], ("E", None, "IHE.BasicAudit"))
    if row["patient_id"] is None:
        profile = "IHE.BasicAudit"
    subtype = [{"system": "http://hl7.org/fhir/restful-interaction", "code": interaction}] if interaction else []
    subtype.append({"system": "urn:chu-portal:audit-action", "code": row["action"]})
    who: dict = {"display": row["actor_name"] or row["actor_username"] or "—"}
    if row["actor_rpps"]:
        who["identifier"] = {"system": RPPS_SYSTEM, "value": "8" + row["actor_rpps"]}
    elif row["actor_id"]:
        who["identifier"] = {"system": USER_SYSTEM, "value": str(row["actor_id"])}
    agent: dict = {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP",
                    "display": "information recipient",
                }
            ]
        },
        "who": who,
        "requestor": True,
        "role": [{"coding": [{"system": "urn:chu-portal:role", "code": row["actor_role"] or "system"}]}],
    }
    if row["ip"]:
        agent["network"] = {"address": row["ip"], "type": "2"}
    purpose = [{"system": MODE_SYSTEM, "code": row["mode"]}] if row["mode"] else []
    if row["mode"] in _PURPOSE:
        purpose.insert(
            0, {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": _PURPOSE[row["mode"]]}
        )
    entities = []
    if row["patient_id"]:
        entities.append(
            {
                "what": {
                    "reference": f"Patient/{row['patient_id']}",
                    "identifier": {"system": PATIENT_SYSTEM, "value": str(row["patient_id"])},
                },
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"},
            }
        )
    if row["object_type"] or row["object_id"]:
        entities.append(
            {
                "what": {
                    "identifier": {
                        "system": f"urn:chu-portal:{row['object_type'] or 'object'}",
                        "value": row["object_id"] or "—",
                    }
                },
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4"},
                "description": row["object_type"],
            }
        )
    if row["request_id"]:
        entities.append(
            {
                "what": {"identifier": {"value": row["request_id"]}},
                "type": {
                    "system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                    "code": "XrequestId",
                },
            }
        )
    event = {
        "resourceType": "AuditEvent",
        "id": str(row["public_id"]),
        "meta": {"profile": [BALP + profile]},
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "Restful Operation",
        },
        "subtype": subtype,
        "action": fhir_action,
        "recorded": row["at"].astimezone(datetime.UTC).isoformat(),
        "outcome": "0" if row["outcome"] == "allowed" else "4",
        "agent": [agent],
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
        "entity": entities,
    }
    if row["outcome"] != "allowed":
        event["outcomeDesc"] = row["reason"].split(":", 1)[0]
    if purpose:
        event["purposeOfEvent"] = [{"coding": purpose}]
    return event


def fhir_bundle(rows: Iterable[dict]) -> Iterator[str]:
    """A Bundle (type collection) of AuditEvents, written entry by entry."""
    head = {"resourceType": "Bundle", "type": "collection", "timestamp": timezone.now().isoformat()}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ',"entry":['
    first = True
    for row in rows:
        resource = fhir_audit_event(row)
        entry = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
        yield ("" if first else ",") + json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        first = False
    yield "]}"


FORMATS = {"csv": csv_rows, "fhir": fhir_bundle}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "fhir": "application/fhir+json"}
