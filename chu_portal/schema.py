"""OpenAPI description helpers: the token scheme, the {"detail", "code"} error body, list envelopes, docs page."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
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
    "invalid",
    "conflict",
    "file_too_large",
    "unsupported_file_type",
    "empty_file",
    "active_content",
    "rate_limited",
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
    409: "State conflict (`conflict`).",
    413: "File too large (`file_too_large`).",
    415: "Unsupported file type (`unsupported_file_type`).",
    429: "Too many attempts (`rate_limited`); the `Retry-After` header gives the seconds to wait.",
}


def errors(*statuses: int) -> dict:
    """Responses for the given error statuses, each with the {"detail", "code"} body."""
    return {s: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[s]) for s in statuses}


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


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("page_size", int, description="Items per page (1 to 200, default 50)."),
]


class PersonSerializer(serializers.Serializer):
    name = serializers.CharField()
    rpps = serializers.CharField(allow_null=True)
    profession = serializers.CharField(allow_null=True)


class SwaggerDocsView(SpectacularSwaggerSplitView):
    """Swagger UI at /api/docs/, from drf-spectacular-sidecar's local files, under the site's CSP unchanged.

    Its scripts are files from /static/ and a separate init-script URL (script-src 'self'), its one
    inline <style> carries the request's nonce (templates/api/swagger_ui.html), its icons are data:
    images (img-src already allows them): no directive needs widening for this view, so none is
    (tests/e2e/test_api_docs_browser.py checks the page draws with no CSP violation).
    """

    template_name = "api/swagger_ui.html"
