"""In a real browser, Jules's demo journey: his care team retrieves his INS through the INSi seam, checks his ID
document, and his waiting discharge letter is released to the feed; the record page stays accessible at each step."""

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def serious(page):
    results = AXE.run(page, options=WCAG_AA)
    return [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_jules_identity_is_retrieved_then_qualified_and_his_letter_goes(demo, watched, login, live_server):
    from dmp.constants import FeedStatus
    from dmp.models import FeedItem
    from records.constants import InsStatus
    from records.models import Patient

    jules = Patient.objects.get(account__username="jules.petit")
    assert jules.ins_status == InsStatus.PROVISIONAL
    context, watch = watched(viewport={"width": 360, "height": 740})
    page = context.new_page()
    login(page, "dr.leroy")
    page.goto(f"{live_server.url}/patients/{jules.public_id}/dossier/")
    status = page.locator("#identity-status")
    assert "Provisoire" in status.inner_text()
    assert "Récupérer l'INS auprès du téléservice INSi" in status.inner_text()
    assert serious(page) == []

    page.locator("#retrieve-ins summary").click()
    page.get_by_role("button", name="Interroger le téléservice INSi").click()
    page.wait_for_load_state()
    assert page.get_by_text("INS récupérée auprès du téléservice INSi.").is_visible()
    assert "Récupérée" in page.locator("#identity-status").inner_text()
    assert FeedItem.objects.get(patient=jules).status == FeedStatus.WAITING_IDENTITY
    assert serious(page) == []

    page.locator("#id_document_checked").check()
    page.get_by_role("button", name="Qualifier l'identité").click()
    page.wait_for_load_state()
    assert page.get_by_text("Identité qualifiée").first.is_visible()
    assert Patient.objects.get(pk=jules.pk).ins_status == InsStatus.QUALIFIED
    assert page.evaluate("document.documentElement.scrollWidth") <= 361
    assert watch.check(page) == []
    # Released from waiting: pending (the delivery message is on its way) or already delivered.
    assert FeedItem.objects.get(patient=jules).status in (FeedStatus.PENDING, FeedStatus.DELIVERED)
