"""API plumbing shared by every app: pagination, and errors as {"detail", "code"}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import RATE_LIMITED_MESSAGE, ServiceError


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "invalid",
    exceptions.UnsupportedMediaType: "unsupported_file_type",
    exceptions.Throttled: "rate_limited",
}


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.fields:
            body["fields"] = {k: str(v) for k, v in exc.fields.items()}
        retry_after = getattr(exc, "retry_after", None)
        return Response(body, status=exc.status, headers={"Retry-After": str(retry_after)} if retry_after else None)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for klass, c in _DRF_CODES.items() if isinstance(exc, klass)), "invalid")
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Données invalides.", "code": code, "fields": exc.detail}
    elif isinstance(exc, exceptions.Throttled):
        # DRF's throttle (accounts/throttling.py); DRF's handler set Retry-After.
        response.data = {"detail": str(RATE_LIMITED_MESSAGE), "code": code}
    else:
        response.data = {"detail": str(getattr(exc, "detail", exc)), "code": code}
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.data["code"] = "not_authenticated"
    return response


def paginated(request, items: list, total: int, page: int, page_size: int) -> Response:
    """The list envelope of docs/api.md for a page computed by a service."""

    def link(number: int) -> str:
        url = request.build_absolute_uri()
        from rest_framework.utils.urls import replace_query_param

        return replace_query_param(url, "page", number)

    has_next = page * page_size < total
    return Response(
        {
            "count": total,
            "next": link(page + 1) if has_next else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": items,
        }
    )


def page_params(request, default_size: int = 50, max_size: int = 200) -> tuple[int, int]:
    try:
        page = max(int(request.query_params.get("page", 1)), 1)
        size = min(max(int(request.query_params.get("page_size", default_size)), 1), max_size)
    except ValueError as exc:
        raise ServiceError("Paramètre de pagination invalide.", code="invalid") from exc
    return page, size


def not_found(request, *args, **kwargs):
    """Any other path under /api/: the API's 404 body rather than the HTML page."""
    from django.http import JsonResponse

    return JsonResponse({"detail": "Ressource introuvable.", "code": "not_found"}, status=404)


def server_error(request, *args, **kwargs):
    """500 for the whole site: JSON with a code under /api/ and /fhir/, the French page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import server_error as page_server_error

    if request.path.startswith(("/api/", "/fhir/")):
        return JsonResponse(
            {"detail": "Erreur interne : aucune donnée n'a été affichée. Réessayez plus tard.", "code": "server_error"},
            status=500,
        )
    return page_server_error(request, *args, **kwargs)
