"""Security headers on every page: CSP with nonces and no unsafe-inline, no framing, no sniffing, no features."""

from django.urls import reverse

from dmp.services import documents


def test_pages_send_a_strict_content_security_policy(client, db):
    response = client.get(reverse("accounts:login"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["script-src"].split()[0] == "'self'"  # plus a per-response nonce where a page needs one
    assert directives["default-src"] == "'self'"


def test_pages_refuse_framing_sniffing_and_device_features(client, db):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_the_api_sends_the_same_headers(api, camille):
    response = api.as_user(camille.account).get("/api/v1/me/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_session_and_csrf_cookies_are_http_only(client, db, dr_bernard):
    from django.conf import settings

    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_no_template_relies_on_inline_scripts_or_handlers_the_csp_would_block():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        text = template.read_text()
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{template.name}: inline event handler")
        for script in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            if "nonce" not in script:
                offenders.append(f"{template.name}: inline script without nonce")
    assert offenders == []


def test_irreversible_deletions_ask_for_confirmation(client, camille, db, settings, tmp_path):
    from django.core.files.base import ContentFile

    from tests.dmp.conftest import MINIMAL_PDF

    settings.MEDIA_ROOT = tmp_path
    document = documents.document_upload(
        actor=camille.account,
        patient_id=camille.public_id,
        uploaded=ContentFile(MINIMAL_PDF, name="a.pdf"),
        title="Vaccins",
    )
    client.force_login(camille.account)
    page = client.get(f"/dmp/documents/{document.public_id}/").content.decode()
    assert 'data-confirm="Supprimer ce document ?' in page
    assert "js/confirm.js" in page
