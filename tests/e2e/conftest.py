"""Browser tests: Playwright drives Debian's Chromium (downloaded browsers are not available here)."""

import os

import pytest

from tests.factories import totp_code

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def login(page, live_server):
    """Sign in through the real login page."""

    def _login(username, password):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_load_state()
        if "/accounts/2fa/verify/" in page.url:
            page.get_by_label("Code à 6 chiffres").fill(totp_code())
            page.get_by_role("button", name="Valider").click()
            page.wait_for_load_state()
        return page

    return _login
