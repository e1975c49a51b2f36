"""The Swagger page works offline under the site's strict CSP: it draws the operations, no CSP violation."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_the_api_offline_without_csp_violations(page, live_server):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else problems.append(f"outside {r.url}"))
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/auth/token/" in p for p in paths)
    assert any("/api/v1/dmp/{patient_id}/documents/" in p for p in paths)
    assert page.locator("button.authorize").count() == 1
    assert problems == []
