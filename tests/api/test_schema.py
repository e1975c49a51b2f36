"""OpenAPI 3: generated without warnings, served at /api/schema/, Swagger UI from local files under the strict CSP."""

import re

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_generates_with_no_warning(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")


def test_every_api_path_is_described_with_error_bodies(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    from chu_portal.urls import api_v1

    described = set(schema["paths"])
    for route in api_v1:
        path = "/api/v1/" + re.sub(r"<str:(\w+)>", r"{\1}", str(route.pattern))
        assert path in described, path
    assert not any(p.startswith("/fhir/") for p in described)
    record = schema["paths"]["/api/v1/patients/{patient_id}/record/"]["get"]
    assert {"200", "401", "403", "404"} <= set(record["responses"])
    error = schema["components"]["schemas"]["Error404"]  # one error body per status, with its codes (issue 17)
    assert set(error["required"]) == {"detail", "code"}
    assert schema["components"]["schemas"]["Error404CodeEnum"]["enum"] == ["not_found"]  # its codes
    assert schema["components"]["securitySchemes"]["TokenAuth"]["name"] == "Authorization"


def test_the_docs_page_uses_local_files_and_the_requests_nonce(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    scripts = re.findall(r"<script([^>]*)>", html)
    assert len(scripts) == 3
    for attributes in scripts:
        src = re.search(r'src="([^"]+)"', attributes).group(1)
        assert src.startswith("/"), src  # same origin: allowed by script-src 'self'
        assert f'nonce="{nonce}"' in attributes
    assert f'<style nonce="{nonce}">' in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = client.get(re.findall(r'src="([^"]+)"', html)[-1])
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
