"""Browser tests: Playwright drives Debian's Chromium (downloaded browsers are not available here)."""

import os

import pytest
from django.core.management import call_command

from tests.factories import totp_code

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from the test are safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

DEMO_PASSWORD = "demo-chu-2026"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # French first: the portal follows the browser's language (LocaleMiddleware).
    "--lang=fr-FR",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    """The demo cast (README) (its professionals share the test TOTP key)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", "--force", verbosity=0)


@pytest.fixture
def login(live_server):
    """Sign in through the real pages: password, then the TOTP code when asked."""

    def sign_in(page, username, password=DEMO_PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        if "/accounts/2fa/verify/" in page.url:
            # A second sign-in of the same account within one 30-second step would reuse its code, which the
            # second factor refuses as a replay (as it should): the test stands for a sign-in at a later step.
            from django_otp.plugins.otp_totp.models import TOTPDevice

            TOTPDevice.objects.filter(user__username=username).update(last_t=-1)
            page.fill("#id_code", totp_code())
            page.locator("main form button[type=submit]").click()
            page.wait_for_load_state()
        return page

    return sign_in


# Recorded in the page itself (an init script runs through the DevTools protocol, which the CSP does not govern).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


class ConsoleWatch:
    """Collects console errors, uncaught exceptions and CSP violations of every page opened in a context."""

    def __init__(self, context):
        self.errors = []
        context.add_init_script(CSP_WATCH)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.errors.append(f"uncaught: {error.error}"))

    def _console(self, message):
        if message.type != "error":
            return
        page_url = message.page.url if message.page else ""
        # A refusal page (403, 404) is a page: its own status is not an error of the page.
        if message.text.startswith("Failed to load resource") and message.location.get("url") == page_url:
            return
        self.errors.append(f"console: {message.text} @ {message.location.get('url') or page_url}")

    def check(self, page):
        """Errors so far, plus the CSP violations the current page saw."""
        violations = page.evaluate("window.__cspViolations || []")
        return self.errors + [f"csp: {v} @ {page.url}" for v in violations]


@pytest.fixture
def watched(browser):
    """A new browser context (the real CSP, no bypass) with its console watch: `context, watch = watched(...)`."""
    contexts = []

    def open_context(**kwargs):
        context = browser.new_context(locale="fr-FR", **kwargs)
        contexts.append(context)
        return context, ConsoleWatch(context)

    yield open_context
    for context in contexts:
        context.close()
