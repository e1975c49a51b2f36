"""Safe by default (issue 18): production unless DEBUG is set; no published secret outside DEBUG; a
missing or weak SECRET_KEY stops a production start; the README's run command sets DEBUG itself."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k7Qz-production-key-0123456789-abcdefghijklmnopqrstuvwxyz-XYZ"


def settings_of(env: dict, *names: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(settings.{name})" for name in names
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base | {"DJANGO_SETTINGS_MODULE": "chu_portal.settings"} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_is_the_default():
    result = settings_of({"SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "portal.chu.example"}, "DEBUG")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "dev-only-not-secret-chu-portal-embedded-mode-key-0123456789abcdef",  # published in the repository
        "django-insecure-" + "a1b2c3d4e5" * 5,
        "short-key",
        "a" * 60,
    ],
    ids=["missing", "the-published-key", "django-insecure", "short", "one-character"],
)
def test_production_refuses_to_start_with_a_missing_or_weak_key(key):
    result = settings_of({"SECRET_KEY": key, "ALLOWED_HOSTS": "x"} if key else {"ALLOWED_HOSTS": "x"}, "DEBUG")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_published_key_is_used_only_in_debug():
    result = settings_of({"DEBUG": "true"}, "SECRET_KEY_IS_DEVELOPMENT")
    assert result.stdout.split() == ["True"]
    result = settings_of({"SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "x"}, "SECRET_KEY_IS_DEVELOPMENT")
    assert result.stdout.split() == ["False"]


def test_the_readme_run_command_sets_the_development_mode_itself():
    script = (ROOT / "scripts" / "run.sh").read_text()
    lines = [line.strip() for line in script.splitlines()]
    assert "export DEBUG=true" in lines
    assert lines.index("export DEBUG=true") < next(i for i, line in enumerate(lines) if "manage.py" in line)


def test_the_demo_seed_and_its_public_password_never_run_outside_development(db, settings):
    settings.DEBUG = False
    settings.SECRET_KEY_IS_DEVELOPMENT = False  # a production key: even --force is refused
    for args in ((), ("--force",)):
        with pytest.raises(CommandError):
            call_command("seed_demo", *args, stdout=io.StringIO())
    assert not User.objects.exists()
