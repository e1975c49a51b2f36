"""Camille in a real browser: upload, mask; her GP and an outsider see what the rules allow."""

import re

import pytest
from playwright.sync_api import expect

from tests.dmp.conftest import MINIMAL_PDF

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_camille_uploads_a_pdf_and_sees_it_in_her_list(demo, live_server, page, login, tmp_path):
    login(page, "camille.martin")
    expect(page.get_by_role("heading", name="Mon dossier médical partagé (DMP)")).to_be_visible()
    page.get_by_role("link", name="Ajouter un document").first.click()
    pdf = tmp_path / "ordonnance.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    page.set_input_files("input[type=file]", str(pdf))
    page.fill("#id_title", "Ordonnance du kiné")
    page.select_option("#id_type_code", "57833-6")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_url(re.compile(r"/dmp/$"))
    expect(page.locator("[data-group=mine]")).to_contain_text("Ordonnance du kiné")


def test_a_masked_document_tells_who_sees_it_and_reaches_the_gp_not_the_outsider(demo, live_server, browser, login):
    camille = login(browser.new_context(locale="fr-FR").new_page(), "camille.martin")
    camille.get_by_role("link", name="Lettre de liaison — Cardiologie").click()
    camille.get_by_role("button", name="Masquer ce document aux professionnels").click()
    expect(camille.locator(".message-success")).to_contain_text("votre médecin traitant et son auteur")

    moreau = login(browser.new_context(locale="fr-FR").new_page(), "dr.moreau")
    moreau.goto(f"{live_server.url}/dmp/pro/nouveaux-documents/")
    expect(moreau.locator("#gp-documents")).to_contain_text("Lettre de liaison — Cardiologie")
    expect(moreau.locator("#gp-documents")).to_contain_text("Masqué aux professionnels")

    garnier = login(browser.new_context(locale="fr-FR").new_page(), "dr.garnier")
    garnier.goto(f"{live_server.url}/dmp/pro/nouveaux-documents/")
    expect(garnier.get_by_text("Aucun nouveau document.")).to_be_visible()
    expect(garnier.locator("body")).not_to_contain_text("Lettre de liaison")


def test_camille_closes_her_dmp_sees_it_closed_and_reopens_it_whole(demo, live_server, page, login):
    """Issue 19: closing goes through the confirmation step; closed, her DMP page shows no document and offers to
    reopen it; reopened, her documents are back."""
    login(page, "camille.martin")
    page.goto(f"{live_server.url}/dmp/parametres/")
    expect(page.locator("#opposition-too-late")).to_be_visible()  # activated, with documents: she closes instead
    page.locator("#confirm-close summary").click()
    page.get_by_role("button", name="Confirmer la fermeture").click()
    expect(page.locator(".message-success")).to_contain_text("personne ne le consulte plus, vous non plus")
    page.goto(f"{live_server.url}/dmp/")
    expect(page.get_by_role("heading", name="Mon dossier médical partagé (DMP) est fermé")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Lettre de liaison")
    page.locator("#confirm-reopen summary").click()
    page.get_by_role("button", name="Confirmer la réouverture").click()
    page.goto(f"{live_server.url}/dmp/")
    expect(page.locator("body")).to_contain_text("Lettre de liaison — Cardiologie")
