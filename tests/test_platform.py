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


def test_the_embedded_default_migrates_and_seeds_on_sqlite_with_in_process_tasks(tmp_path):
    """The README's run command: no DATABASE_URL, no REDIS_URL (SQLite, tasks in-process). The
    feed's delivery takes its portable path there; the seed delivers Camille's reports."""
    database = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER"}}
    env |= {"DATABASE_URL": f"sqlite:///{database}", "MEDIA_ROOT": str(tmp_path / "media"), "DEBUG": "true"}
    for command in (["migrate", "--no-input", "-v", "0"], ["seed_demo"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
    import sqlite3

    with sqlite3.connect(database) as db:
        statuses = dict(db.execute("SELECT status, count(*) FROM dmp_feeditem GROUP BY status").fetchall())
        fed = db.execute("SELECT count(*) FROM dmp_shareddocument WHERE source = 'chu'").fetchone()[0]
    assert statuses == {"delivered": 2, "waiting_identity": 1, "skipped": 1}
    assert fed >= 2 and len(list((tmp_path / "media").rglob("*.pdf"))) >= 2


def test_public_id_lookups_answer_none_or_404_for_garbage_and_unknown_ids(db):
    import uuid

    import pytest

    from chu_portal.errors import AccessDenied
    from chu_portal.ids import find_by_public_id, get_by_public_id_or_404
    from records.models import Patient
    from tests.factories import PatientFactory

    patient = PatientFactory()
    assert find_by_public_id(Patient.objects, str(patient.public_id)) == patient
    assert find_by_public_id(Patient.objects.all(), patient.public_id) == patient
    for garbage in ("", None, "42", "not-a-uuid", "'; DROP TABLE records_patient; --", str(uuid.uuid4())):
        assert find_by_public_id(Patient.objects, garbage) is None
        with pytest.raises(AccessDenied) as refused:
            get_by_public_id_or_404(Patient.objects, garbage, "Patient introuvable.")
        assert refused.value.decision.code == "not_found" and refused.value.decision.status == 404
