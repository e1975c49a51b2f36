"""API plumbing shared by every app: pagination, and errors as {"detail", "code"}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import RATE_LIMITED_MESSAGE, InvalidInput, ServiceError


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


# Beyond this a page number is no list anyone reads, and its SQL offset would overflow.
MAX_PAGE = 1_000_000


def page_params(
    request, default_size: int = 50, max_size: int = 200, *, size_param: str = "page_size", strict: bool = True
) -> tuple[int, int]:
    """The one reader of page numbers, for the API, /fhir/ (`size_param="_count"`) and the pages.

    `page` is a whole number from 1 to MAX_PAGE, the size one from 1; a size above `max_size` is capped. Strict (the API
    and FHIR): anything else is `InvalidInput` (400, `invalid`, naming the parameter); lenient (the
    pages, `strict=False`): page 1 and the default size instead.
    """
    params = getattr(request, "query_params", None)
    if params is None:
        params = request.GET
    values = []
    for name, default in (("page", 1), (size_param, default_size)):
        raw = params.get(name)
        try:
            value = default if raw in (None, "") else int(raw)
        except ValueError:
            value = 0
        if value < 1 or (name == "page" and value > MAX_PAGE):
            if strict:
                message = _("Paramètre de pagination invalide (%(names)s).") % {"names": f"page, {size_param}"}
                raise InvalidInput(message, fields={name: _("Un nombre entier à partir de 1.")})
            value = default
        values.append(value)
    page, size = values
    return page, min(size, max_size)


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
