"""axe-core (WCAG 2.1 AA rules) on the main pages of every role, at desktop and phone widths."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}

# role -> (username or None for public pages, paths to check)
PAGES = {
    "public": (None, ["/accounts/login/", "/deux-dossiers/", "/accessibilite/", "/activer-mon-espace/"]),
    "patient": (
        "camille.martin",
        [
            "/dmp/",
            "/dmp/deposer/",
            "/dmp/parametres/",
            "/dmp/historique-des-acces/",
            "/dmp/profil-medical/",
            "/dmp/medecin-traitant/?q=garnier",
            "/accounts/securite/",
        ],
    ),
    "clinician": (
        "dr.bernard",
        ["/patients/", "/patients/recherche/?q=martin", "/avis/", "/lettres-de-liaison-manquantes/"],
    ),
    "gp": ("dr.moreau", ["/dmp/pro/", "/dmp/pro/nouveaux-documents/", "/dmp/pro/designations/", "/dmp/notifications/"]),
    "dpo": ("dpo.mercier", ["/controle/"]),
}


def serious(results):
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("role", list(PAGES))
@pytest.mark.parametrize("width", [1280, 360])
def test_main_pages_have_no_serious_accessibility_violation(role, width, demo, watched, login, live_server):
    # axe is evaluated through the DevTools protocol: the portal's real CSP stays on.
    context, watch = watched(viewport={"width": width, "height": 900})
    page = context.new_page()
    username, paths = PAGES[role]
    if username:
        login(page, username)
    failures = {}
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        found = serious(AXE.run(page, options=WCAG_AA))
        if found:
            failures[path] = found
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (
            f"{path} scrolls sideways at {width}px"
        )
        assert watch.check(page) == [], path
    assert failures == {}


def test_the_record_page_and_a_document_page_are_accessible(demo, watched, login, live_server):
    from dmp.models import SharedDocument
    from records.models import Patient

    camille = Patient.objects.get(account__username="camille.martin")
    document = SharedDocument.objects.filter(record__patient=camille).first()
    context, watch = watched()
    page = context.new_page()
    login(page, "dr.bernard")
    failures = {}
    for path in (f"/patients/{camille.public_id}/dossier/", f"/dmp/patients/{camille.public_id}/"):
        page.goto(f"{live_server.url}{path}")
        if found := serious(AXE.run(page, options=WCAG_AA)):
            failures[path] = found
        assert watch.check(page) == [], path
    context, watch = watched()
    page2 = context.new_page()
    login(page2, "camille.martin")
    page2.goto(f"{live_server.url}/dmp/documents/{document.public_id}/")
    if found := serious(AXE.run(page2, options=WCAG_AA)):
        failures["document"] = found
    assert watch.check(page2) == []
    assert failures == {}
