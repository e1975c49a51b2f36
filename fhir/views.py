"""FHIR R4 endpoints (read only, application/fhir+json): thin views over fhir/services.py, errors as OperationOutcome."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import fhir as audit_fhir
from chu_portal.api import exception_handler as api_exception_handler
from chu_portal.api import page_params
from chu_portal.errors import InvalidInput

from . import builders, services

FHIR_JSON = "application/fhir+json"
DEFAULT_COUNT = 50
MAX_COUNT = 200


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"
    charset = "utf-8"


class AlwaysFhirJSON(BaseContentNegotiation):
    """FHIR clients send Accept: application/fhir+json, application/json or */*: they all get FHIR JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def fhir_exception_handler(exc, context):
    """The API's error (status and code), reshaped as an OperationOutcome."""
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    body = response.data or {}
    response.data = builders.operation_outcome(
        response.status_code, body.get("code", "invalid"), str(body.get("detail", ""))
    )
    return response


@extend_schema(exclude=True)
class FhirView(APIView):
    renderer_classes = [FhirJSONRenderer]
    content_negotiation_class = AlwaysFhirJSON

    def get_exception_handler(self):
        return fhir_exception_handler

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.MethodNotAllowed(request.method, detail=_("Serveur FHIR en lecture seule."))


def _page(request) -> tuple[int, int]:
    return page_params(request, DEFAULT_COUNT, MAX_COUNT, size_param="_count")


def _patient_param(request, *, required: bool = True) -> str | None:
    value = (request.query_params.get("patient") or request.query_params.get("subject") or "").strip()
    value = value.removeprefix("Patient/")
    if not value and required:
        raise InvalidInput(_("Le paramètre « patient » est obligatoire."), fields={"patient": _("Obligatoire.")})
    return value or None


SUPPORTED = {
    "Patient": {"interaction": ["read"], "searchParam": []},
    "DocumentReference": {
        "interaction": ["read", "search-type"],
        "searchParam": [
            ("patient", "reference", "The patient (Patient/{id} or {id}); required."),
            ("status", "token", "current (only current documents) or current,superseded (default)."),
        ],
    },
    "Consent": {
        "interaction": ["search-type"],
        "searchParam": [("patient", "reference", "The patient; required. Only the patient reads their consents.")],
    },
    "AuditEvent": {
        "interaction": ["search-type"],
        "searchParam": [
            ("patient", "reference", "The patient; a patient reads traces about their own data, the DPO any."),
        ],
    },
}


class MetadataView(FhirView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        rest_resources = []
        for name, spec in SUPPORTED.items():
            entry = {
                "type": name,
                "profile": f"http://hl7.org/fhir/StructureDefinition/{name}",
                "interaction": [{"code": code} for code in spec["interaction"]],
            }
            params = [{"name": n, "type": t, "documentation": d} for n, t, d in spec["searchParam"]]
            if params:
                params += [
                    {"name": "_count", "type": "number", "documentation": f"Page size (1 to {MAX_COUNT})."},
                    {"name": "page", "type": "number", "documentation": "Page number, from 1."},
                ]
                entry["searchParam"] = params
            rest_resources.append(entry)
        statement = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": timezone.now().date().isoformat(),
            "publisher": "CHU Portal",
            "kind": "instance",
            "software": {"name": "CHU Portal"},
            "implementation": {
                "description": "CHU Portal FHIR R4 read layer",
                "url": request.build_absolute_uri("/fhir"),
            },
            "fhirVersion": builders.FHIR_VERSION,
            "format": [FHIR_JSON, "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Read only. Authorization: Token <token> (POST /api/v1/auth/token/). "
                    "Same access rules and traces as /api/v1/.",
                    "security": {
                        "description": "Token authentication; every read is traced.",
                    },
                    "resource": rest_resources,
                }
            ],
        }
        return Response(statement)


class PatientReadView(FhirView):
    def get(self, request, patient_id):
        return Response(builders.patient(services.patient_read(actor=request.user, patient_id=patient_id)))


class DocumentReferenceSearchView(FhirView):
    def get(self, request):
        page, count = _page(request)
        statuses = {s.strip() for s in request.query_params.get("status", "").split(",") if s.strip()}
        if statuses not in (set(), {"current"}, {"current", "superseded"}):
            raise InvalidInput(
                _("Filtre de statut pris en charge : current, ou current,superseded."),
                fields={"status": _("valeur non prise en charge")},
            )
        result, stays = services.document_search(
            actor=request.user,
            patient_id=_patient_param(request),
            current_only=statuses == {"current"},
            page=page,
            page_size=count,
        )
        items = [builders.document_reference(request, d, stays) for d in result.documents]
        return Response(builders.bundle(request, items, result.total, page, count))


class DocumentReferenceReadView(FhirView):
    def get(self, request, document_id):
        document, stays = services.document_read(actor=request.user, document_id=document_id)
        return Response(builders.document_reference(request, document, stays))


class ConsentSearchView(FhirView):
    def get(self, request):
        page, count = _page(request)
        result = services.consent_search(
            actor=request.user, patient_id=_patient_param(request), page=page, page_size=count
        )
        now = timezone.now()
        items = [builders.consent_for_grant(g, result.record, now) for g in result.grants]
        extra = builders.oppositions(result.record)
        if page == 1:
            items = extra + items
        return Response(builders.bundle(request, items, result.total + len(extra), page, count))


class AuditEventSearchView(FhirView):
    def get(self, request):
        page, count = _page(request)
        events, total = services.trace_search(
            actor=request.user, patient_id=_patient_param(request, required=False), page=page, page_size=count
        )
        return Response(builders.bundle(request, [audit_fhir.audit_event(e) for e in events], total, page, count))


class NotFoundView(FhirView):
    permission_classes = [AllowAny]

    def get(self, request, rest=""):
        raise exceptions.NotFound(_("Ressource ou interaction FHIR non prise en charge."))
