"""Issue 21 in the browser: Camille opens her son Lucas's DMP from her own space (a banner says whose record is open),
never sees the document he keeps secret from his parents, in French and English, on a phone (360 px), with axe-core
finding nothing serious; Lucas sees both; the desk's page lists his representatives."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
ORDINARY = "Certificat médical de non contre-indication au sport"
SECRET = "Consultation confidentielle"


def serious(page):
    results = AXE.run(page, options=WCAG_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_camille_acts_for_lucas_and_never_sees_his_secret(demo, watched, login, live_server):
    from records.models import Patient

    lucas = Patient.objects.get(account__username="lucas.martin")
    context, watch = watched(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, "camille.martin")
    failures = {}
    for language in ("fr", "en"):
        if language == "en":
            page.select_option("#language", "en")
            page.locator("form.lang-form button[type=submit]").click()
            page.wait_for_load_state()
            page.goto(f"{live_server.url}/dmp/dossier-ouvert/")
            page.locator("form", has=page.locator("input[name=patient][value='']")).locator("button").click()
            page.wait_for_load_state()
        page.goto(f"{live_server.url}/dmp/")
        banner = page.locator("#acting-banner")
        assert banner.is_visible()
        assert lucas.display_name not in banner.inner_text()
        assert ORDINARY not in page.content()
        banner.get_by_role("link").click()
        page.wait_for_load_state()
        page.locator("form", has=page.locator(f"input[name=patient][value='{lucas.public_id}']")).locator(
            "button"
        ).click()
        page.wait_for_load_state()
        assert lucas.display_name in page.locator("#acting-banner").inner_text()
        for path in ("/dmp/", "/dmp/notifications/", "/dmp/historique-des-acces/", "/dmp/autorisations/"):
            page.goto(f"{live_server.url}{path}")
            body = page.content()
            assert SECRET not in body, (language, path)
            if path == "/dmp/":
                assert ORDINARY in body
            if found := serious(page):
                failures[f"{language} {path}"] = found
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 361:
                failures[f"{language} {path} width"] = width
            if errors := watch.check(page):
                failures[f"{language} {path} console"] = errors
                watch.errors.clear()
    assert failures == {}

    son, _watch = watched(viewport={"width": 360, "height": 740})
    own = son.new_page()
    login(own, "lucas.martin")
    own.goto(f"{live_server.url}/dmp/")
    assert SECRET in own.content() and ORDINARY in own.content()


def test_the_desk_lists_lucass_representatives(demo, watched, login, live_server):
    from records.models import Patient

    lucas = Patient.objects.get(account__username="lucas.martin")
    context, watch = watched(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, "inf.roux")
    page.goto(f"{live_server.url}/patients/{lucas.public_id}/representants/")
    assert "Camille" in page.content() and "mère" in page.content()
    assert serious(page) == []
    assert watch.check(page) == []
