"""Refusals handled once: page views raise, chu_portal.refusals answers (and the API keeps its JSON errors)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.urls import path, resolve
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput, NotFound, ServiceError
from chu_portal.refusals import errors_as_message, errors_into, refusal_response
from chu_portal.urls import urlpatterns as portal_urlpatterns

PATIENT_ID = "5f0c6a8e-8d43-4a57-9c1d-2d3c4b5a6978"


def _error(kind: str) -> ServiceError:
    return {
        "unauthenticated": AccessDenied(Decision.deny("not_authenticated", "Connexion requise.", status=401)),
        "forbidden": AccessDenied(Decision.deny("forbidden", "Refus de test.")),
        "glass": AccessDenied(Decision.deny("forbidden", "Hors équipe de soins.", can_break_glass=True)),
        "hidden": AccessDenied(Decision.deny("not_found", "Patient caché.", status=404)),
        "missing": ServiceError("Trace introuvable.", code="not_found", status=404),
        "no_match": NotFound("Aucun patient ne correspond."),
        "conflict": Conflict("Déjà fait."),
        "invalid": InvalidInput("Donnée invalide.", fields={"gp": "RPPS inconnu."}),
    }[kind]


def raising(request, kind, patient_id=None):
    raise _error(kind)


def raising_404(request):
    raise Http404("Patient caché.")


def as_message(request, kind):
    with errors_as_message(request) as caught:
        raise _error(kind)
    return HttpResponse(f"message:{caught.error.code}")


class _Form(forms.Form):
    gp_rpps = forms.CharField(required=False)


def into_form(request, kind):
    form = _Form({"gp_rpps": "1"})
    form.is_valid()
    with errors_into(form, fields={"gp": "gp_rpps"}, refusals=request.GET.get("refusals") == "1") as caught:
        raise _error(kind)
    return HttpResponse(json.dumps({"code": caught.error.code, "errors": form.errors}), content_type="application/json")


class RaisingApiView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request, kind):
        raise _error(kind)


urlpatterns = [
    path("test-refus/<str:kind>/", raising),
    path("test-404/", raising_404),
    path("test-message/<str:kind>/", as_message),
    path("test-form/<str:kind>/", into_form),
    path("api/v1/test-refus/<str:kind>/", RaisingApiView.as_view()),
    path("api/v1/test-page-refus/<str:kind>/", raising),
    path("fhir/test-page-refus/<str:kind>/", raising),
    *portal_urlpatterns,
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

XHR = {"X-Requested-With": "XMLHttpRequest"}


@pytest.mark.parametrize(
    ("kind", "status"), [("unauthenticated", 401), ("forbidden", 403), ("conflict", 409), ("invalid", 400)]
)
def test_a_page_view_that_raises_gets_the_refusal_page_with_the_status(client, kind, status):
    response = client.get(f"/test-refus/{kind}/")
    assert response.status_code == status
    assert [t.name for t in response.templates][0] == "refused.html"
    page = response.content.decode()
    assert _error(kind).message in page and f'data-code="{_error(kind).code}"' in page
    # Only a refusal was traced (by the service that refused): a conflict or bad input says nothing of it.
    assert ("journal des accès" in page) == (kind in ("unauthenticated", "forbidden"))


@pytest.mark.parametrize("kind", ["hidden", "missing"])
def test_a_404_is_exactly_django_s_404(client, kind):
    response = client.get(f"/test-refus/{kind}/")
    reference = client.get("/test-404/")
    assert response.status_code == reference.status_code == 404
    assert [t.name for t in response.templates] == [t.name for t in reference.templates]
    assert [t.name for t in response.templates][0] == "404.html"
    assert "Patient caché." not in response.content.decode()


def test_the_middleware_never_traces(client):
    before = AuditEvent.objects.count()
    assert client.get("/test-refus/forbidden/").status_code == 403
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("kind", "status"), [("forbidden", 403), ("hidden", 404), ("conflict", 409), ("invalid", 400), ("no_match", 404)]
)
def test_a_script_gets_json(client, kind, status):
    response = client.get(f"/test-refus/{kind}/", headers=XHR)
    assert response.status_code == status
    assert response.json() == {"detail": _error(kind).message, "code": _error(kind).code}


def _refusal_on(url: str, kind: str) -> str:
    """The refusal page a view at `url` would get for this error (the template follows the URL's app)."""
    request = RequestFactory().get(url)
    request.user = AnonymousUser()
    request.resolver_match = resolve(url)
    response = refusal_response(request, _error(kind))
    assert response.status_code == _error(kind).status
    return response.content.decode()


def test_the_records_page_offers_the_emergency_access_for_the_patient_of_the_url():
    page = _refusal_on(f"/patients/{PATIENT_ID}/dossier/", "glass")
    assert f"/patients/{PATIENT_ID}/acces-urgence/" in page and 'name="reason"' in page
    assert "Hors équipe de soins." in page and "journal des accès" in page
    assert 'name="reason"' not in _refusal_on(f"/patients/{PATIENT_ID}/dossier/", "forbidden")


def test_the_dmp_page_offers_to_request_access_to_the_patient_of_the_url():
    page = _refusal_on(f"/dmp/patients/{PATIENT_ID}/", "forbidden")
    assert f"/dmp/patients/{PATIENT_ID}/acces/" in page and "Refus de test." in page
    assert "/acces/" not in _refusal_on("/dmp/", "forbidden")


@pytest.mark.parametrize("kind", ["forbidden", "conflict", "hidden"])
def test_the_api_keeps_its_own_json_errors(client, kind):
    response = client.get(f"/api/v1/test-refus/{kind}/")
    assert response.status_code == _error(kind).status
    assert response.json() == {"detail": _error(kind).message, "code": _error(kind).code}


@pytest.mark.parametrize("prefix", ["api/v1", "fhir"])
def test_the_middleware_leaves_api_and_fhir_paths_alone(client, prefix):
    with pytest.raises(AccessDenied):
        client.get(f"/{prefix}/test-page-refus/forbidden/")


@pytest.mark.parametrize("kind", ["conflict", "invalid", "no_match"])
def test_errors_as_message_shows_other_errors_as_a_message(client, kind):
    response = client.get(f"/test-message/{kind}/")
    assert response.content.decode() == f"message:{_error(kind).code}"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [_error(kind).message]


@pytest.mark.parametrize(("kind", "status"), [("forbidden", 403), ("hidden", 404), ("missing", 404)])
def test_errors_as_message_lets_refusals_and_404s_through(client, kind, status):
    response = client.get(f"/test-message/{kind}/")
    assert response.status_code == status
    assert not list(get_messages(response.wsgi_request))


def test_errors_into_puts_the_error_on_the_field_it_names(client):
    assert client.get("/test-form/invalid/").json() == {"code": "invalid", "errors": {"gp_rpps": ["Donnée invalide."]}}
    assert client.get("/test-form/conflict/").json() == {"code": "conflict", "errors": {"__all__": ["Déjà fait."]}}
    assert client.get("/test-form/forbidden/").status_code == 403


def test_errors_into_may_show_a_refusal_but_never_a_404(client):
    assert client.get("/test-form/forbidden/?refusals=1").json()["errors"] == {"__all__": ["Refus de test."]}
    assert client.get("/test-form/hidden/?refusals=1").status_code == 404


def test_a_clinician_refused_the_dpo_console_gets_the_refusal_page_with_its_reason(client, dr_bernard):
    client.force_login(dr_bernard)
    response = client.get("/controle/")
    assert response.status_code == 403
    assert [t.name for t in response.templates][0] == "refused.html"
    assert "réservée au délégué à la protection des données" in response.content.decode()


def test_reviewing_a_trace_that_is_not_there_is_a_404(client, dpo):
    client.force_login(dpo)
    response = client.post(f"/controle/traces/{PATIENT_ID}/", {"comment": "vu"})
    assert response.status_code == 404
    assert not list(get_messages(response.wsgi_request))


# --- Static checks: page views leave refusals to the middleware --------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _page_modules() -> list[Path]:
    """Every module under */views* (views.py, views/ packages) of the project."""
    apps = [d for d in ROOT.iterdir() if (d / "__init__.py").exists() and d.name != "tests"]
    modules = [
        path
        for app in apps
        for path in app.rglob("*.py")
        if any(part.startswith("views") for part in path.relative_to(app).parts)
    ]
    assert {"records/views.py", "audit/views.py", "dmp/views/documents.py"} <= {
        str(p.relative_to(ROOT)) for p in modules
    }
    return modules


def _names(node) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, ast.Tuple):
        return set().union(*(_names(e) for e in node.elts))
    if isinstance(node, ast.Attribute):
        return {node.attr}
    return {node.id} if isinstance(node, ast.Name) else set()


def test_no_page_view_catches_access_denied():
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _page_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ExceptHandler) and "AccessDenied" in _names(node.type)
    ]
    assert offenders == []


def test_no_page_module_imports_a_private_name():
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} {alias.name}"
        for path in _page_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert offenders == []
