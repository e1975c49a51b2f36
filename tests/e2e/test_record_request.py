"""Issue 22 in the browser: Camille asks for a copy of her hospital record, the office's doctor validates it from
its preview, the copy is made (the task in-process), the reflection period is said, then (48 hours later) the sweep
releases it and she downloads it; the records office's dashboard counts and marks an overdue request in words.
Every page at 360 px: axe-core finds nothing serious, nothing scrolls sideways, no console error nor CSP violation
(the real Content-Security-Policy)."""

import datetime
import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
PHONE = {"width": 360, "height": 740}
# E2E_SHOTS=/tmp/rr-shots keeps a screenshot of every page checked (for a look, not for the assertions).
SHOTS = os.environ.get("E2E_SHOTS")


class Checked:
    """Every page checked the same way; the failures gathered so that one run says all."""

    def __init__(self, watch):
        self.watch = watch
        self.failures = {}

    def __call__(self, page, name):
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/e2e-{name}.png", full_page=True)
        found = [
            f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes'][:2]]}"
            for v in AXE.run(page, options=WCAG_AA).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if found:
            self.failures[f"{name} axe"] = found
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"] + 1:
            self.failures[f"{name} width"] = width
        if errors := self.watch.check(page):
            self.failures[f"{name} console"] = list(errors)
            self.watch.errors.clear()


def _made(record_request):
    from record_requests.models import RecordBundle

    return RecordBundle.objects.filter(request=record_request, made_at__isnull=False).exists()


def test_camille_asks_the_office_validates_and_she_downloads_her_copy(demo, watched, login, live_server):
    from record_requests import tasks
    from record_requests.constants import RequestStatus
    from record_requests.models import RecordRequest
    from records.models import Stay

    cardio = Stay.objects.get(patient__account__username="camille.martin", unit__code="CARDIO")
    context, watch = watched(viewport=PHONE)
    check = Checked(watch)
    page = context.new_page()
    login(page, "camille.martin")

    # She finds the page from her menu, reads what she will get, when, and what the law says.
    page.goto(f"{live_server.url}/dmp/")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Copie du dossier du CHU").click()
    page.wait_for_load_state()
    check(page, "patient-list")
    page.get_by_role("link", name="Demander une copie de mon dossier du CHU").click()
    page.wait_for_load_state()
    body = page.locator("main").inner_text()
    for said in ("L.1111-7", "48 heures", "8 jours", "2 mois", "Ce n'est pas votre DMP"):
        assert said in body, said
    check(page, "patient-ask")

    # One stay only, to download in the portal.
    page.get_by_label("Certains séjours seulement").check()
    page.locator(f"input[name=stays][value='{cardio.public_id}']").check()
    page.get_by_label("Téléchargement dans le portail").check()
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_load_state()
    asked = RecordRequest.objects.filter(patient=cardio.patient, stays=cardio, all_stays=False).get()
    assert f"/mon-dossier-chu/copie/{asked.public_id}/" in page.url
    assert page.locator("#rr-due").inner_text() == asked.due_on.strftime("%d/%m/%Y")
    assert "au plus tard le" in page.locator(".messages").inner_text()
    check(page, "patient-asked")

    # The office's doctor finds it in the queue, checks what the copy holds and validates it.
    office, office_watch = watched(viewport=PHONE)
    office_check = Checked(office_watch)
    doctor = office.new_page()
    login(doctor, "dr.faure")
    doctor.goto(f"{live_server.url}/archives/")
    office_check(doctor, "office-queue")
    doctor.locator(f"a[href='/archives/demandes/{asked.public_id}/']").click()
    doctor.wait_for_load_state()
    office_check(doctor, "office-detail")
    doctor.locator("#rr-validate-link").click()
    doctor.wait_for_load_state()
    preview = doctor.locator("#rr-preview").inner_text()
    assert "Cardiologie" in preview and "Lettre de liaison" in preview and "Urgences" not in preview
    office_check(doctor, "office-validate")
    doctor.get_by_label("Inclure les transmissions de l'équipe soignante").check()
    doctor.locator("#rr-validate").click()
    doctor.wait_for_load_state()
    assert "Demande validée" in doctor.locator(".messages").inner_text()
    asked.refresh_from_db()
    assert asked.validated_by.username == "dr.faure" and asked.include_handover_notes

    # While the task renders it, her page shows the progress and updates it in place (a script file under the real
    # CSP, no reload); she may stop the updates.
    if not _made(asked):
        from record_requests.models import RecordBundle

        RecordBundle.objects.update_or_create(request=asked, defaults={"progress": 40})
        page.goto(f"{live_server.url}/mon-dossier-chu/copie/{asked.public_id}/")
        assert page.locator("#rr-progress").get_attribute("value") == "40"
        check(page, "patient-preparing")
        RecordBundle.objects.filter(request=asked).update(progress=80)
        expect(page.locator("#rr-percent")).to_contain_text("80 %", timeout=15000)
        assert page.locator("#rr-progress").evaluate("bar => bar.value") == 80
        page.locator("#rr-stop").click()
        assert page.locator("#rr-stop").is_hidden()
        check(page, "patient-preparing-updated")

    # The copy is made by its task (in-process here; run as the worker would if the broker took it).
    if not _made(asked):
        tasks.make_bundle.apply(args=[asked.pk])
    asked.refresh_from_db()
    assert asked.status == RequestStatus.READY

    # Within the 48 hours, she is told when it will be hers.
    page.goto(f"{live_server.url}/mon-dossier-chu/copie/{asked.public_id}/")
    assert "délai de réflexion" in page.locator("#rr-reflection").inner_text()
    assert page.locator("#rr-download").count() == 0
    check(page, "patient-reflection")

    # 49 hours later (the request's clock moved back), the sweep releases it; she downloads it.
    earlier = datetime.timedelta(hours=49)
    RecordRequest.objects.filter(pk=asked.pk).update(
        received_at=asked.received_at - earlier, earliest_release_at=asked.earliest_release_at - earlier
    )
    tasks.run_sweep()
    page.goto(f"{live_server.url}/mon-dossier-chu/copie/{asked.public_id}/")
    assert page.locator("#rr-expires").is_visible()
    check(page, "patient-available")
    with page.expect_download() as downloading:
        page.locator("#rr-download").click()
    path = downloading.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    assert downloading.value.suggested_filename.endswith(".pdf")

    # In English too.
    page.select_option("#language", "en")
    page.locator("form.lang-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "Download the copy (PDF)" in page.locator("main").inner_text()
    check(page, "patient-available-en")
    assert check.failures == {} and office_check.failures == {}


def test_the_office_dashboard_counts_and_marks_an_overdue_request(demo, watched, login, live_server):
    from django.utils import timezone

    from record_requests.constants import Delivery
    from record_requests.services import requests as rr_requests
    from records.models import Patient

    camille = Patient.objects.get(account__username="camille.martin")
    late = rr_requests.request_create(
        actor=camille.account, delivery=Delivery.DOWNLOAD, now=timezone.now() - datetime.timedelta(days=12)
    )
    context, watch = watched(viewport=PHONE)
    check = Checked(watch)
    page = context.new_page()
    login(page, "archives.girard")
    page.goto(f"{live_server.url}/archives/")
    assert page.locator("#count-overdue").inner_text() == "1"
    row = page.locator("tr.rr-overdue")
    assert row.count() == 1
    assert "En retard" in row.inner_text() and late.due_on.strftime("%d/%m/%Y") in row.inner_text()
    check(page, "office-dashboard")
    page.get_by_role("link", name="en retard").click()
    page.wait_for_load_state()
    assert page.locator("#rr-queue tbody tr").count() == 1
    row.get_by_role("link").click()
    page.wait_for_load_state()
    assert "En retard" in page.locator("#rr-overdue").inner_text()
    check(page, "office-overdue-detail")
    assert check.failures == {}
