"""OpenAPI description helpers: the token scheme, the {"detail", "code"} error body, list envelopes, docs page."""

from __future__ import annotations

import datetime

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import serializers

ERROR_CODES = [
    "not_authenticated",
    "otp_required",
    "otp_invalid",
    "forbidden",
    "not_found",
    "blocked",
    "emergency_opposed",
    "dmp_closed",
    "dmp_opposed",
    "opposition_too_late",
    "invalid",
    "conflict",
    "file_too_large",
    "unsupported_file_type",
    "empty_file",
    "active_content",
    "rate_limited",
    "not_ready",
    "reflection_period",
    "gone",
]


class TokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>`: hashed, expiring API tokens (accounts.authentication)."""

    target_class = "accounts.authentication.HashedTokenAuthentication"
    name = "TokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`, the token from POST /api/v1/auth/token/ (expires, revoked by logout).",
        }


class ErrorSerializer(serializers.Serializer):
    """Every API error (docs/api.md, "Vocabulary"): a French message and a stable code; `fields` names bad input."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text="One of: " + ", ".join(ERROR_CODES))
    fields = serializers.DictField(child=serializers.JSONField(), required=False)


_ERROR_TEXT = {
    400: "Bad input (`invalid`, or a file check code).",
    401: "Not authenticated, token expired or revoked, second factor missing (`not_authenticated`, `otp_required`, `otp_invalid`).",
    403: "Known but refused (`forbidden`, `blocked`, `dmp_closed`, `dmp_opposed`, `emergency_opposed`).",
    404: "Unknown, or not to be revealed (`not_found`).",
    409: "State conflict (`conflict`; `opposition_too_late`: the DMP is activated or holds documents, close it instead; "
    "`not_ready`, `reflection_period`: a copy of the hospital record not made or not released yet).",
    410: "No longer available (`gone`: a copy of the hospital record past its availability).",
    413: "File too large (`file_too_large`).",
    415: "Unsupported file type (`unsupported_file_type`).",
    429: "Too many attempts (`rate_limited`); the `Retry-After` header gives the seconds to wait.",
}


# The codes each status carries (docs/api.md, "Vocabulary"): the schema's error body of a status lists them.
ERROR_CODES_BY_STATUS = {
    400: ["invalid", "empty_file", "otp_invalid"],
    401: ["not_authenticated", "otp_required", "otp_invalid"],
    403: ["forbidden", "blocked", "emergency_opposed", "dmp_closed", "dmp_opposed"],
    404: ["not_found"],
    409: ["conflict", "not_ready", "reflection_period"],
    410: ["gone"],
    413: ["file_too_large"],
    415: ["unsupported_file_type", "active_content"],
    429: ["rate_limited"],
}
_error_bodies: dict[int, type[serializers.Serializer]] = {}


def error_body(status: int) -> type[serializers.Serializer]:
    """The {"detail", "code", "fields"?} body of one status, its `code` limited to that status's codes."""
    if status not in _error_bodies:
        codes = ERROR_CODES_BY_STATUS[status]
        code = with_schema(serializers.CharField(help_text=_ERROR_TEXT[status]), {"type": "string", "enum": codes})
        _error_bodies[status] = type(
            f"Error{status}Serializer",
            (ErrorSerializer,),
            {"code": code, "__module__": __name__, "__doc__": f"An error answered with status {status}."},
        )
    return _error_bodies[status]


def errors(*statuses: int) -> dict:
    """Responses for the given error statuses, each with the {"detail", "code"} body and its codes."""
    return {s: OpenApiResponse(error_body(s), description=_ERROR_TEXT[s]) for s in statuses}


def responses(ok: dict, *statuses: int) -> dict:
    return {**ok, **errors(*statuses)}


def retry_after_headers(result, generator, request, public):
    """drf-spectacular post-processing hook: every 429 answer declares its `Retry-After` header."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            answer = operation.get("responses", {}).get("429") if isinstance(operation, dict) else None
            if answer is not None:
                answer.setdefault("headers", {})["Retry-After"] = {
                    "description": "Seconds to wait before asking again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
    return result


_pages: dict[str, type[serializers.Serializer]] = {}


def page_of(child: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The list envelope of docs/api.md, {"count", "next", "previous", "results"}, around `child`."""
    name = child.__name__.removesuffix("Serializer")
    if name not in _pages:
        _pages[name] = type(
            f"Paginated{name}ListSerializer",
            (serializers.Serializer,),
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": child(many=True),
                "__module__": __name__,
            },
        )
    return _pages[name]


# As chu_portal.api.page_params reads them: whole numbers from 1, a page up to MAX_PAGE (else 400 `invalid`); a
# size above 200 is capped.
PAGE_PARAMETERS = [
    OpenApiParameter(
        "page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, description="Page number, from 1."
    ),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1}, description="Items per page (default 50, capped at 200)."
    ),
]


class Instant(serializers.DateTimeField):
    """A date-time in UTC, ISO 8601 with `Z` (docs/api.md: "UTC ISO-8601 times"), whatever TIME_ZONE is."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(**kwargs)


def checked_by_service(field: serializers.Field, schema: dict) -> serializers.Field:
    """A request field that the service checks itself, after its access decision (so that a refusal is
    traced first and the message is the service's): the schema states the check (`schema`, the
    field's whole JSON schema), the serializer does not repeat it."""
    return with_schema(field, schema)


def with_schema(field: serializers.Field, schema: dict) -> serializers.Field:
    """`field`, described by `schema` in the OpenAPI document. The annotation goes on a subclass: a
    serializer deep-copies its declared fields (a new instance of the class), which drops anything
    set on the instance."""
    annotated = type(field.__class__.__name__, (field.__class__,), {"__module__": field.__class__.__module__})
    extend_schema_field(schema)(annotated)
    field.__class__ = annotated
    return field


class PersonSerializer(serializers.Serializer):
    """A user as the API names people: display name, RPPS and profession (null for a patient or a system)."""

    name = serializers.CharField(source="display_name")
    rpps = serializers.CharField(source="professional.rpps", allow_null=True)
    profession = serializers.CharField(source="professional.profession", allow_null=True)


class SwaggerDocsView(SpectacularSwaggerSplitView):
    """Swagger UI at /api/docs/, from drf-spectacular-sidecar's local files, under the site's CSP unchanged.

    Its scripts are files from /static/ and a separate init-script URL (script-src 'self'), its one
    inline <style> carries the request's nonce (templates/api/swagger_ui.html), its icons are data:
    images (img-src already allows them): no directive needs widening for this view, so none is
    (tests/e2e/test_api_docs_browser.py checks the page draws with no CSP violation).
    """

    template_name = "api/swagger_ui.html"


# --- OpenAPI links: from the operations that return an id to the operations that take it -------------

# A response object's `id`, by the component that describes it, is the path parameter named here.
ID_PARAMETER = {
    "Patient": "patient_id",
    "Report": "report_id",
    "ReportSummary": "report_id",
    "Stay": "stay_id",
    "Opinion": "opinion_id",
    "StayOpinion": "opinion_id",
    "Document": "document_id",
    "ConsentRequestOut": "request_id",
    "GrantOut": "grant_id",
    "DesignationOut": "designation_id",
    "NotificationOut": "notification_id",
    "ObjectionOut": "objection_id",
    "Representation": "representation_id",
    "MyRepresentation": "representation_id",
    "RecordRequest": "record_request_id",
    "SecureMessage": "message_id",
}
# A response field naming another resource's id, and the path parameter that takes it.
# (A resource's `patient` is not followed: the patient's id comes from the search, the lookup and /me/.)
FIELD_PARAMETER = {
    "patient_id": "patient_id",
    "stay": "stay_id",
    "grant": "grant_id",
    "answer": "report_id",
    "document": "document_id",
    "rpps": "rpps",
}


def _component(schema: dict, node: dict) -> tuple[str | None, dict]:
    while isinstance(node, dict) and ("$ref" in node or len(node.get("allOf", [])) == 1):
        if "allOf" in node:
            node = node["allOf"][0]
            continue
        name = node["$ref"].rsplit("/", 1)[-1]
        return name, schema["components"]["schemas"][name]
    return None, node


def _pointers(schema: dict, node: dict, prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(JSON pointer, path parameter) for every id a response carries, lists through their first item."""
    name, node = _component(schema, node)
    found = []
    properties = node.get("properties", {})
    if name and name in ID_PARAMETER and "id" in properties:
        found.append((f"{prefix}/id", ID_PARAMETER[name]))
    for field, sub in properties.items():
        if field in FIELD_PARAMETER and _component(schema, sub)[1].get("type") == "string":
            found.append((f"{prefix}/{field}", FIELD_PARAMETER[field]))
        elif depth < 2:
            _sub_name, resolved = _component(schema, sub)
            if resolved.get("type") == "array":
                found += _pointers(schema, resolved["items"], f"{prefix}/{field}/0", depth + 1)
            elif resolved.get("properties"):
                found += _pointers(schema, sub, f"{prefix}/{field}", depth + 1)
    return found


def declare_body_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: an operation that reads a body may answer 400 (a body its parser
    cannot read) and 415 (a content type it does not parse) before its view runs; the schema says so."""
    for item in result["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            for status in (400, 415):
                if str(status) not in operation["responses"]:
                    operation["responses"][str(status)] = {
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/Error{status}"}}},
                        "description": _ERROR_TEXT[status],
                    }
    return result


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: OpenAPI links from each operation whose success response
    carries an id (created or listed) to every operation that takes that id in its path, so that a
    stateful client (schemathesis) chains "create" to "use". A target's other path parameters come
    from the source request's path when it has them."""
    operations = [
        (path, method, operation)
        for path, item in result["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]

    def parameters(path: str) -> list[str]:
        return [segment[1:-1] for segment in path.split("/") if segment.startswith("{")]

    for source_path, _method, operation in operations:
        for status, response in operation.get("responses", {}).items():
            content = response.get("content", {}).get("application/json")
            if not status.startswith("2") or not content:
                continue
            pointers = _pointers(result, content["schema"])
            links = {}
            for target_path, _target_method, target in operations:
                wanted = parameters(target_path)
                if not wanted:
                    continue
                values = {}
                for parameter in wanted:
                    pointer = next((p for p, name in pointers if name == parameter), None)
                    if pointer is not None:
                        values[parameter] = f"$response.body#{pointer}"
                    elif parameter in parameters(source_path):
                        values[parameter] = f"$request.path.{parameter}"
                if len(values) == len(wanted) and any(v.startswith("$response") for v in values.values()):
                    links[target["operationId"]] = {"operationId": target["operationId"], "parameters": values}
            if links:
                response["links"] = links
    return result
