"""The platform around the portal: health endpoint, production settings, request ids."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent


def test_health_reports_database_and_redis(client, db):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_health_is_503_when_redis_is_down(client, db):
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


def test_production_mode_passes_the_deploy_check():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    } | {
        "DEBUG": "false",
        "SECRET_KEY": "p" * 20 + "roduction-secret-key-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": "portal.chu.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_mode_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"DEBUG": "false", "ALLOWED_HOSTS": "x"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_every_response_carries_a_request_id(client, db):
    assert len(client.get("/accounts/login/")["X-Request-ID"]) == 32
    assert client.get("/accounts/login/", headers={"X-Request-ID": "abc-123"})["X-Request-ID"] == "abc-123"
