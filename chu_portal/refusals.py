"""Refusals on pages, handled once: a middleware turns service errors into the refusal page; helpers for the rest."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib import messages
from django.core.handlers.exception import response_for_exception
from django.http import Http404, JsonResponse
from django.shortcuts import render

from .errors import AccessDenied, NotFound, RateLimited, ServiceError

# The API and FHIR views answer their own errors (chu_portal/api.py, fhir/views.py): never a page.
API_PREFIXES = ("/api/", "/fhir/")

# The refusal page of each URL namespace (the records' one offers emergency access when the
# decision allows it); other pages get the generic refused.html.
PAGES: dict[str, str] = {"records": "records/refused.html", "dmp": "dmp/refused.html"}
DEFAULT_PAGE = "refused.html"


def wants_json(request) -> bool:
    """A script's request (the DMP upload page sends X-Requested-With): it reads {"detail", "code"}."""
    return request.headers.get("x-requested-with") == "XMLHttpRequest"


def refusal_response(request, exc: ServiceError):
    """What a page answers to a service error it let through: JSON for a script, else the 404 or refusal page.

    Never traces: the service that refused has traced it already.
    """
    retry_after = getattr(exc, "retry_after", None)
    if wants_json(request):
        response = JsonResponse({"detail": exc.message, "code": exc.code}, status=exc.status)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response
    if exc.status == 404:
        # Exactly what Django answers to Http404 raised by a view (404.html, nothing revealed).
        return response_for_exception(request, Http404(exc.message))
    match = request.resolver_match
    template = PAGES.get(match.app_name if match else "", DEFAULT_PAGE)
    decision = getattr(exc, "decision", None)
    context = {
        "message": exc.message,
        "code": exc.code,
        "patient_id": match.kwargs.get("patient_id") if match else None,
        "can_break_glass": bool(decision and decision.can_break_glass),
        "traced": isinstance(exc, AccessDenied),
    }
    response = render(request, template, context, status=exc.status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


class RefusalMiddleware:
    """A page view raises AccessDenied or another ServiceError; this answers it (API paths excepted)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ServiceError) or request.path_info.startswith(API_PREFIXES):
            return None
        return refusal_response(request, exception)


# --- Errors a page shows itself ---------------------------------------------------------------


@dataclass
class Caught:
    """What a helper's block caught: `error` is the ServiceError it turned into a message, None if none."""

    error: ServiceError | None = None


def _for_the_refusal_page(exc: ServiceError, *, refusals: bool) -> bool:
    """Whether `exc` goes on to the refusal page rather than into a message.

    A refusal always does, unless `refusals` asks to show it in the page (then only a 404 one
    does). So does any other 404 (what is not there is the 404 page), except NotFound: a lookup
    that matched nothing is an answer to show.
    """
    if exc.status == 404:
        return not isinstance(exc, NotFound)
    if isinstance(exc, RateLimited):
        return True  # 429 with Retry-After, never a form error answered 200
    return isinstance(exc, AccessDenied) and not refusals


@contextmanager
def errors_as_message(request, *, refusals: bool = False) -> Iterator[Caught]:
    """Turn a ServiceError raised in the block into an error message; refusals go on to the refusal page.

    with errors_as_message(request) as caught:
        services.report_sign(...)
        messages.success(request, ...)
    if caught.error: ...
    """
    caught = Caught()
    try:
        yield caught
    except ServiceError as exc:
        if _for_the_refusal_page(exc, refusals=refusals):
            raise
        messages.error(request, exc.message)
        caught.error = exc


@contextmanager
def errors_into(
    form,
    field: str | None = None,
    *,
    fields: Mapping[str, str] | None = None,
    refusals: bool = False,
    catch: bool = True,
) -> Iterator[Caught]:
    """Turn a ServiceError raised in the block into an error of `form`; refusals go on to the refusal page.

    The error goes on `field` (None: the whole form), or on fields[name] for the first `name` the
    error names in its own `fields`. `refusals=True` shows a refusal (not a 404) as a form error
    too; `catch=False` catches nothing (e.g. a script's request, answered in JSON by the middleware).
    """
    caught = Caught()
    try:
        yield caught
    except ServiceError as exc:
        if not catch or _for_the_refusal_page(exc, refusals=refusals):
            raise
        named = [fields[name] for name in exc.fields if name in fields] if fields else []
        form.add_error(named[0] if named else field, exc.message)
        caught.error = exc
