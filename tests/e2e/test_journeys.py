"""Every member of the demo cast walks their main journey on a phone (360 px), in French then in English;
axe-core finds nothing serious on any page, no page scrolls sideways, and no page logs a console error or a CSP
violation (the real Content-Security-Policy: axe is evaluated through the DevTools protocol, which the CSP allows)."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}

# username -> the pages of their main journey ({camille}, {document} are filled in from the demo data)
JOURNEYS = {
    "camille.martin": [
        "/dmp/",
        "/dmp/documents/{document}/",
        "/dmp/historique-des-acces/",
        "/dmp/autorisations/",
        "/dmp/parametres/",
        "/mon-dossier-chu/copie/",
        "/mon-dossier-chu/copie/demander/",
    ],
    "jules.petit": ["/dmp/", "/dmp/profil-medical/", "/deux-dossiers/"],
    "lea.dubois": ["/dmp/", "/dmp/parametres/"],
    "lucas.martin": ["/dmp/", "/dmp/historique-des-acces/", "/dmp/notifications/"],
    "dr.bernard": [
        "/patients/",
        "/patients/{camille}/dossier/",
        "/avis/",
        "/lettres-de-liaison-manquantes/",
        "/dmp/pro/comptes-rendus-retenus/",
    ],
    "inf.roux": ["/patients/", "/patients/{camille}/dossier/"],
    "dr.leroy": ["/patients/recherche/?q=martin", "/patients/{camille}/dossier/", "/avis/"],
    "dr.moreau": ["/dmp/pro/", "/dmp/pro/nouveaux-documents/", "/dmp/patients/{camille}/"],
    "dr.garnier": ["/dmp/pro/", "/dmp/patients/{camille}/", "/dmp/patients/{camille}/acces/", "/dmp/pro/demandes/"],
    "ph.fournier": ["/dmp/pro/", "/dmp/pro/demandes/"],
    "archives.girard": ["/archives/", "/archives/?status=overdue", "/archives/ayants-droit/nouvelle/"],
    "dr.faure": ["/archives/", "/pro/messagerie/"],
    "dpo.mercier": ["/controle/"],
    "admin": ["/", "/flux-dmp/"],
}


def serious(results):
    return [
        f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes'][:2]]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("username", list(JOURNEYS))
def test_each_cast_member_walks_their_journey_in_french_and_english(username, demo, watched, login, live_server):
    from dmp.models import SharedDocument
    from records.models import Patient

    camille = Patient.objects.get(account__username="camille.martin")
    document = SharedDocument.objects.filter(record__patient=camille, masked=False).first()
    paths = [p.format(camille=camille.public_id, document=document.public_id) for p in JOURNEYS[username]]
    context, watch = watched(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, username)
    failures = {}
    for language in ("fr", "en"):
        if language == "en":
            # The footer's language switch, as a person would use it.
            page.select_option("#language", "en")
            page.locator("form.lang-form button[type=submit]").click()
            page.wait_for_load_state()
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            assert page.evaluate("document.documentElement.lang") == language, (language, path)
            if found := serious(AXE.run(page, options=WCAG_AA)):
                failures[f"{language} {path}"] = found
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 361:
                failures[f"{language} {path} width"] = width
            if errors := watch.check(page):
                failures[f"{language} {path} console"] = errors
                watch.errors.clear()
    assert failures == {}
