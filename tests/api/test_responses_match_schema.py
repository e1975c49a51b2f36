"""Every JSON endpoint, reached with the demo cast, answers exactly what its OpenAPI schema says.

The demo is seeded, then one scenario walks the API as its people would (a clinician writes and
signs, asks an opinion, transfers; a patient answers a consent request, blocks, designates; the DPO
reads the trail). Each successful JSON response is compared with the schema of its operation and
status: the same keys (none undeclared, every required one present) and the same types, nested
objects and list items included. The last check fails when an operation of the schema with a JSON
success response was not reached, so a new endpoint cannot escape the comparison.
"""

from __future__ import annotations

import datetime
import io
import re
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from dmp.models import Notification, SharedDocument
from records.constants import InsStatus
from records.models import Patient, Stay
from tests.dmp.conftest import MINIMAL_PDF

pytestmark = pytest.mark.django_db


# --- Comparing a value with a schema -----------------------------------------------------------


class Schema:
    def __init__(self, document: dict):
        self.document = document

    def resolve(self, node: dict) -> dict:
        while "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**self.document["components"]["schemas"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def check(self, value, node: dict, where: str) -> None:
        node = self.resolve(node)
        if value is None:
            assert node.get("nullable"), f"{where}: null where the schema does not allow it"
            return
        if "allOf" in node:
            for part in node["allOf"]:
                self.check(value, part, where)
            return
        if "oneOf" in node or "anyOf" in node:
            errors = []
            for option in node.get("oneOf", node.get("anyOf")):
                try:
                    self.check(value, option, where)
                    return
                except AssertionError as exc:
                    errors.append(str(exc))
            raise AssertionError(f"{where}: matches no option: {errors}")
        if "enum" in node:
            assert value in node["enum"], f"{where}: {value!r} not in {node['enum']}"
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            assert isinstance(value, dict), f"{where}: an object expected, got {value!r}"
            properties = node.get("properties", {})
            if properties or node.get("additionalProperties") is None:
                undeclared = set(value) - set(properties)
                assert not undeclared, f"{where}: keys not in the schema: {sorted(undeclared)}"
            missing = set(node.get("required", [])) - set(value)
            assert not missing, f"{where}: required keys missing: {sorted(missing)}"
            for key, item in value.items():
                if key in properties:
                    self.check(item, properties[key], f"{where}.{key}")
                elif isinstance(node.get("additionalProperties"), dict):
                    self.check(item, node["additionalProperties"], f"{where}.{key}")
        elif kind == "array":
            assert isinstance(value, list), f"{where}: a list expected, got {value!r}"
            for index, item in enumerate(value):
                self.check(item, node["items"], f"{where}[{index}]")
        elif kind == "string":
            assert isinstance(value, str), f"{where}: a string expected, got {value!r}"
            fmt = node.get("format")
            if fmt == "uuid":
                uuid.UUID(value)
            elif fmt == "date-time":
                assert value.endswith("Z"), f"{where}: not a UTC time: {value}"
                datetime.datetime.fromisoformat(value)
            elif fmt == "date":
                datetime.date.fromisoformat(value)
            elif fmt == "uri":
                assert value.startswith("http"), f"{where}: not a URL: {value}"
            if "pattern" in node:
                assert re.search(node["pattern"], value), f"{where}: {value!r} !~ {node['pattern']}"
            if "maxLength" in node:
                assert len(value) <= node["maxLength"], where
        elif kind == "integer":
            assert isinstance(value, int) and not isinstance(value, bool), f"{where}: an integer expected"
        elif kind == "number":
            assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: a number expected"
        elif kind == "boolean":
            assert isinstance(value, bool), f"{where}: a boolean expected, got {value!r}"


def json_successes(document: dict) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation with a 2xx application/json response."""
    found = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2") and "application/json" in response.get("content", {}):
                    found.add((method.upper(), path))
    return found


class Walk:
    """The scenario's client: calls as a user, checks each JSON success against the schema."""

    def __init__(self, document: dict):
        self.schema = Schema(document)
        self.document = document
        self.reached: set[tuple[str, str]] = set()

    def call(self, user, method: str, template: str, expect: int, data=None, fmt="json", **kwargs):
        client = APIClient()
        if user is not None:
            _token, raw = ApiToken.issue(user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        path = "/api/v1" + template.format(**kwargs)
        query = {}
        if method == "GET":
            query, data = data or {}, None
        response = getattr(client, method.lower())(path, data=query or data, format=None if method == "GET" else fmt)
        assert response.status_code == expect, (method, path, response.status_code, response.content[:400])
        if response.status_code != 204:
            operation = self.document["paths"]["/api/v1" + template][method.lower()]
            content = operation["responses"][str(expect)]["content"]["application/json"]
            body = response.json()
            self.schema.check(body, content["schema"], f"{method} {template} {expect}")
            self.reached.add((method, "/api/v1" + template))
            return body
        return None


@pytest.fixture
def walk(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    document = APIClient().get("/api/schema/", {"format": "json"}).json()
    return Walk(document)


def user(username: str) -> User:
    return User.objects.get(username=username)


def test_every_json_endpoint_answers_what_its_schema_says(walk):
    camille = Patient.objects.get(account__username="camille.martin")
    jules = Patient.objects.get(account__username="jules.petit")
    bernard, leroy, garnier = user("dr.bernard"), user("dr.leroy"), user("dr.garnier")
    fournier, moreau, dpo = user("ph.fournier"), user("dr.moreau"), user("dpo.mercier")
    me = camille.account
    stay = Stay.objects.filter(patient=camille).order_by("admitted_at").first()
    p = {"patient_id": camille.public_id}

    # Accounts.
    walk.call(None, "POST", "/auth/token/", 200, {"username": "camille.martin", "password": settings.DEMO_PASSWORD})
    walk.call(me, "GET", "/me/", 200)
    walk.call(bernard, "GET", "/me/", 200)

    # Representatives (issue 21): the desk records a guardian, Camille names and revokes a trusted one.
    lucas = Patient.objects.get(account__username="lucas.martin")
    walk.call(bernard, "GET", "/patients/{patient_id}/representatives/", 200, patient_id=lucas.public_id)
    walk.call(
        user("inf.roux"), "POST", "/patients/{patient_id}/representatives/", 201,
        {"representative": "lea.dubois", "kind": "guardian", "relation": "tutrice", "identity_checked": True},
        patient_id=jules.public_id,
    )  # fmt: skip
    trusted = walk.call(me, "POST", "/me/trusted-representatives/", 201, {"representative": "jules.petit"})
    walk.call(me, "DELETE", "/representations/{representation_id}/", 204, representation_id=trusted["id"])
    # The minor's secret on a stay (issue 22, CSP L.1111-5): a doctor of his care team keeps it at his request.
    lucas_stay = Stay.objects.create(
        patient=lucas, unit=bernard.professional.units.first(), kind=stay.kind, admitted_at=timezone.now()
    )
    walk.call(bernard, "POST", "/stays/{stay_id}/minor-secret/", 200, {"secret": True}, stay_id=lucas_stay.public_id)

    # The hospital record: search, identity, reports, care across units, then the whole record.
    walk.call(bernard, "GET", "/patients/", 200, {"q": "MARTIN"})
    walk.call(bernard, "GET", "/patients/{patient_id}/", 200, **p)
    walk.call(leroy, "POST", "/patients/{patient_id}/emergency-access/", 201, {"reason": "Patiente inconsciente"}, **p)
    if jules.ins_status != InsStatus.QUALIFIED:
        walk.call(leroy, "POST", "/patients/{patient_id}/retrieve-ins/", 200, patient_id=jules.public_id)
        walk.call(
            leroy, "POST", "/patients/{patient_id}/qualify-identity/", 200, {"document_checked": True},
            patient_id=jules.public_id,
        )  # fmt: skip
    report = walk.call(
        bernard, "POST", "/reports/", 201,
        {"stay": str(stay.public_id), "type_code": "11488-4", "title": "Consultation", "body": "Examen normal."},
    )  # fmt: skip
    r = {"report_id": report["id"]}
    walk.call(bernard, "GET", "/reports/{report_id}/", 200, **r)
    walk.call(bernard, "PATCH", "/reports/{report_id}/", 200, {"body": "Examen normal, ECG normal."}, **r)
    walk.call(bernard, "POST", "/reports/{report_id}/sign/", 200, **r)
    walk.call(bernard, "POST", "/reports/{report_id}/amend/", 201, {"body": "Examen normal ; ECG sinusal."}, **r)
    opinion = walk.call(
        bernard, "POST", "/opinion-requests/", 201,
        {"stay": str(stay.public_id), "question": "Avis sur la reprise du sport ?", "consulted_unit": "ORTHO"},
    )  # fmt: skip
    walk.call(bernard, "GET", "/opinion-requests/", 200, {"box": "sent"})
    walk.call(leroy, "POST", "/opinion-requests/{opinion_id}/answer/", 200, {"body": "Reprise à 3 mois."},
              opinion_id=opinion["id"])  # fmt: skip
    second = walk.call(
        bernard, "POST", "/opinion-requests/", 201,
        {"stay": str(stay.public_id), "question": "Autre avis ?", "consulted_doctor": "dr.leroy"},
    )  # fmt: skip
    walk.call(bernard, "POST", "/opinion-requests/{opinion_id}/close/", 200, opinion_id=second["id"])
    walk.call(bernard, "POST", "/stays/{stay_id}/handover-notes/", 201, {"body": "Surveillance INR."},
              stay_id=stay.public_id)  # fmt: skip
    walk.call(bernard, "GET", "/stays/missing-letter/", 200)
    Stay.objects.filter(pk=stay.pk).update(discharged_at=None)  # readmitted: a stay in progress moves
    walk.call(bernard, "POST", "/stays/{stay_id}/transfer/", 201, {"unit": "ORTHO"}, stay_id=stay.public_id)
    record = walk.call(bernard, "GET", "/patients/{patient_id}/record/", 200, **p)
    shown = next(s for s in record["stays"] if s["id"] == str(stay.public_id))
    assert shown["movements"] and shown["handover_notes"] and shown["opinion_requests"]  # all of it was compared

    # The DMP: lookup, consent, documents, settings, blocks, profile, designations, notifications.
    walk.call(garnier, "GET", "/dmp/lookup/", 200, {"ins": camille.nir, "birth_date": camille.birth_date.isoformat()})
    asked = walk.call(garnier, "POST", "/dmp/{patient_id}/consent-requests/", 201, {"purpose": "Suivi cardiologique"},
                      **p)  # fmt: skip
    walk.call(me, "GET", "/consent-requests/", 200)
    walk.call(me, "POST", "/consent-requests/{request_id}/approve/", 200, request_id=asked["id"])
    other = walk.call(fournier, "POST", "/dmp/{patient_id}/consent-requests/", 201, {"purpose": "Dispensation"}, **p)
    walk.call(me, "POST", "/consent-requests/{request_id}/deny/", 200, request_id=other["id"])
    grants = walk.call(me, "GET", "/dmp/{patient_id}/grants/", 200, **p)
    walk.call(me, "DELETE", "/grants/{grant_id}/", 204, grant_id=grants["results"][0]["id"])
    walk.call(garnier, "POST", "/dmp/{patient_id}/consent-requests/in-person/", 201,
              {"purpose": "Consultation", "patient_present": True}, **p)  # fmt: skip
    walk.call(garnier, "GET", "/dmp/{patient_id}/documents/", 200, **p)
    uploaded = walk.call(
        me, "POST", "/dmp/{patient_id}/documents/", 201,
        {"file": io.BytesIO(MINIMAL_PDF), "title": "Ordonnance", "type_code": "57833-6"}, fmt="multipart", **p,
    )  # fmt: skip
    d = {"document_id": uploaded["id"]}
    walk.call(me, "GET", "/dmp/documents/{document_id}/", 200, **d)
    chu_document = SharedDocument.objects.filter(record__patient=camille, source="chu", masked=False).first()
    walk.call(me, "POST", "/dmp/documents/{document_id}/mask/", 200, document_id=chu_document.public_id)
    walk.call(me, "POST", "/dmp/documents/{document_id}/unmask/", 200, document_id=chu_document.public_id)
    hidden = SharedDocument.objects.filter(record__patient=camille, source="chu").first()
    SharedDocument.objects.filter(pk=hidden.pk).update(visible_to_patient=False)
    walk.call(bernard, "POST", "/dmp/documents/{document_id}/make-visible/", 200, document_id=hidden.public_id)
    # Withdrawal and objection (issue 19): she objects, the author's unit declines; the author withdraws.
    objected = SharedDocument.objects.filter(record__patient=camille, source="chu", author=bernard, status="current")
    objected = objected.exclude(visible_to_patient=False).first()
    objection = walk.call(me, "POST", "/dmp/documents/{document_id}/objection/", 201, {"reason": "Motif légitime."},
                          document_id=objected.public_id)  # fmt: skip
    walk.call(me, "GET", "/dmp/{patient_id}/objections/", 200, **p)
    walk.call(bernard, "GET", "/objections/", 200)
    walk.call(bernard, "POST", "/objections/{objection_id}/answer/", 200, {"uphold": False, "answer": "Nécessaire."},
              objection_id=objection["id"])  # fmt: skip
    walk.call(bernard, "POST", "/dmp/documents/{document_id}/withdraw/", 200,
              {"reason": "wrong_document", "note": "Mauvais fichier."}, document_id=objected.public_id)  # fmt: skip
    walk.call(me, "DELETE", "/dmp/documents/{document_id}/", 204, **d)
    walk.call(me, "GET", "/dmp/{patient_id}/settings/", 200, **p)
    walk.call(me, "PATCH", "/dmp/{patient_id}/settings/", 200, {"notify_by_email": False}, **p)
    walk.call(me, "POST", "/dmp/{patient_id}/blocked-professionals/", 201, {"rpps": fournier.rpps}, **p)
    walk.call(me, "GET", "/dmp/{patient_id}/blocked-professionals/", 200, **p)
    walk.call(me, "DELETE", "/dmp/{patient_id}/blocked-professionals/{rpps}/", 204, rpps=fournier.rpps, **p)
    walk.call(me, "POST", "/dmp/{patient_id}/profile/", 201, {"kind": "allergy", "label": "Pénicilline"}, **p)
    walk.call(me, "GET", "/dmp/{patient_id}/profile/", 200, **p)
    proposed = walk.call(me, "POST", "/dmp/{patient_id}/designations/", 201, {"rpps": garnier.rpps, "kind": "gp_level"},
                         **p)  # fmt: skip
    walk.call(me, "GET", "/dmp/{patient_id}/designations/", 200, **p)
    walk.call(garnier, "GET", "/designations/", 200)
    walk.call(garnier, "POST", "/designations/{designation_id}/accept/", 200, designation_id=proposed["id"])
    walk.call(me, "DELETE", "/designations/{designation_id}/", 204, designation_id=proposed["id"])
    again = walk.call(me, "POST", "/dmp/{patient_id}/designations/", 201, {"rpps": garnier.rpps, "kind": "gp_level"},
                      **p)  # fmt: skip
    walk.call(garnier, "POST", "/designations/{designation_id}/decline/", 200, designation_id=again["id"])
    walk.call(garnier, "POST", "/dmp/{patient_id}/designations/in-person/", 201,
              {"kind": "gp_level", "patient_present": True}, **p)  # fmt: skip
    walk.call(leroy, "POST", "/dmp/{patient_id}/emergency-access/", 201, {"reason": "Patiente inconsciente"}, **p)
    walk.call(me, "GET", "/notifications/", 200)
    note = Notification.objects.filter(recipient=me, read_at=None).first()
    walk.call(me, "POST", "/notifications/{notification_id}/read/", 200, notification_id=note.public_id)
    assert moreau  # her GP, designated by the demo
    # The DMP's life (issue 19): Jules closes his DMP and asks for its deletion.
    j = {"patient_id": jules.public_id}
    walk.call(jules.account, "PATCH", "/dmp/{patient_id}/settings/", 200, {"status": "closed"}, **j)
    walk.call(jules.account, "POST", "/dmp/{patient_id}/deletion-request/", 200, **j)

    # Record requests (issue 22): she asks, her unit's doctor validates, the office refuses another and records an
    # heir's paper file; her GP reads his secure inbox.
    from accounts.models import Profession, Role, Unit
    from tests.factories import professional

    office_unit = Unit.objects.get(code=settings.RECORDS_OFFICE_UNIT_CODE)
    clerk = professional(
        role=Role.CHU_COLLABORATOR, profession=Profession.SECRETAIRE_MEDICALE, units=[office_unit], username="arch.walk"
    )
    asked = walk.call(me, "POST", "/record-requests/", 201, {"delivery": "download"})
    rr = {"record_request_id": asked["id"]}
    walk.call(me, "GET", "/record-requests/", 200)
    walk.call(me, "GET", "/record-requests/{record_request_id}/", 200, **rr)
    walk.call(bernard, "GET", "/record-requests/queue/", 200)
    walk.call(bernard, "POST", "/record-requests/{record_request_id}/validate/", 200, {"include_handover_notes": False},
              **rr)  # fmt: skip
    sent = walk.call(me, "POST", "/record-requests/", 201, {"delivery": "doctor", "named_doctor_rpps": moreau.rpps})
    walk.call(clerk, "POST", "/record-requests/{record_request_id}/refuse/", 200,
              {"reason": "identity_not_established", "note": "Pièce d'identité illisible."},
              record_request_id=sent["id"])  # fmt: skip
    walk.call(
        clerk, "POST", "/record-requests/heirs/", 201,
        {"patient_id": str(camille.public_id), "heir_name": "Paul Martin", "heir_relation": "fils",
         "heir_reason": "cause_of_death", "death_date": "2026-01-02", "received_on": "2026-01-20",
         "named_doctor_rpps": moreau.rpps},
    )  # fmt: skip
    walk.call(moreau, "GET", "/secure-messages/", 200)

    # The trail.
    walk.call(me, "GET", "/audit/events/", 200)
    walk.call(dpo, "GET", "/audit/events/", 200, {"flagged": "true"})
    walk.call(dpo, "GET", "/audit/verify/", 200)

    missed = json_successes(walk.document) - walk.reached
    assert not missed, f"operations never compared with their schema: {sorted(missed)}"


def test_no_api_module_writes_a_response_dict_beside_its_serializers():
    """Responses come from the serializers the schema describes: no `*_json` builder left in an API module."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}: {name}"
        for path in root.glob("*/api.py")
        for name in re.findall(r"^def (\w+_json)\(", path.read_text(), flags=re.M)
    ]
    assert not offenders
    assert not (root / "dmp" / "openapi.py").exists()  # the DMP's views carry their own schema
