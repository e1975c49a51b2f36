"""In a real browser (issue 19): an imaging report signed "after the announcement consultation" is absent from the
patient's DMP; the author releases it from the record page; she then reads it and is told, once."""

import pytest

from dmp.feed import delivery
from dmp.models import Notification, SharedDocument
from dmp.services import records
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_report_signed_after_the_announcement_is_released_from_the_record_page(
    login, page, live_server, settings, tmp_path, dr_bernard, camille, draft_report
):
    settings.MEDIA_ROOT = tmp_path / "media"
    records.shared_record_for(camille)
    title = draft_report.title

    page = login(page, "dr.bernard", PASSWORD)
    page.goto(f"{live_server.url}/comptes-rendus/{draft_report.public_id}/")
    page.locator("#sign summary").click()
    later = page.get_by_label("Après la consultation d'annonce", exact=False)
    assert later.is_checked()  # an imaging report: the announcement first, by default
    page.get_by_role("button", name="Confirmer la signature").click()
    assert page.get_by_text("consultation d'annonce", exact=False).first.is_visible()
    delivery.feed_deliver_pending()  # the feed's worker
    document = SharedDocument.objects.get(source_report_id=draft_report.public_id)
    assert document.held
    page.get_by_role("button", name="Se déconnecter").click()

    page = login(page, "camille.martin", PASSWORD)
    page.goto(f"{live_server.url}/dmp/")
    assert page.get_by_text(title).count() == 0
    page.get_by_role("button", name="Se déconnecter").click()

    page = login(page, "dr.bernard", PASSWORD)
    page.goto(f"{live_server.url}/patients/{camille.public_id}/dossier/")
    assert page.locator('[data-feed-state="held"]').is_visible()
    page.get_by_label(f"Rendre visible du patient : {title}").click()
    page.get_by_role("button", name="Confirmer : rendre visible du patient").click()
    assert page.locator('[data-feed-state="released"]').is_visible()
    page.get_by_role("button", name="Se déconnecter").click()

    page = login(page, "camille.martin", PASSWORD)
    page.goto(f"{live_server.url}/dmp/")
    assert page.get_by_role("link", name=title).is_visible()
    assert Notification.objects.filter(recipient=camille.account, document=document).count() == 1
