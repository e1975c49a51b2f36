"""The consent round trip in two browsers: dr.garnier asks, Camille approves, he reads; she revokes, he is refused."""

import importlib
import re

import pytest
from django.apps import apps
from playwright.sync_api import expect

from records.models import Patient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def access_matrix(transactional_db):
    """The default access matrix is seeded by a migration, and an earlier transactional test's flush empties it."""
    seed = importlib.import_module("dmp.migrations.0002_access_matrix_default").seed
    seed(apps, None)


def test_garnier_asks_camille_approves_then_revokes(access_matrix, demo, live_server, browser, login):
    camille_patient = Patient.objects.get(account__username="camille.martin")
    dmp_url = f"{live_server.url}/dmp/patients/{camille_patient.public_id}/"

    # Dr Garnier finds Camille by INS and birth date: no authorisation yet, so the next step (issue 20: not a
    # refusal page), asking her.
    garnier = login(browser.new_context(locale="fr-FR").new_page(), "dr.garnier")
    garnier.goto(f"{live_server.url}/dmp/pro/")
    garnier.fill("#id_ins", camille_patient.nir)
    garnier.fill("#id_birth_date", "1984-03-12")
    garnier.get_by_role("button", name="Ouvrir le DMP").click()
    expect(garnier.locator(".messages")).to_contain_text("demandez l'autorisation du patient")
    expect(garnier.get_by_role("heading", name="Accès refusé")).to_have_count(0)
    garnier.fill("#id_request-purpose", "Suivi de votre fibrillation atriale")
    garnier.fill("#id_request-duration_days", "90")
    garnier.get_by_role("button", name="Envoyer la demande").click()
    expect(garnier.locator("[data-status=pending]")).to_be_visible()

    # Camille sees who asks, why and for how long, and approves.
    camille = login(browser.new_context(locale="fr-FR").new_page(), "camille.martin")
    camille.get_by_role("link", name=re.compile("^Autorisations")).click()
    pending = camille.locator("#pending-requests")
    expect(pending).to_contain_text("Dr Paul Garnier")
    expect(pending).to_contain_text("Suivi de votre fibrillation atriale")
    expect(pending).to_contain_text("90 jours")
    # One confirmation step (issue 20): the first button only opens the panel.
    camille.locator("#pending-requests summary", has_text="Autoriser").click()
    expect(camille.locator("#grants")).to_have_count(0)
    camille.get_by_role("button", name="Confirmer l'autorisation").click()
    expect(camille.locator("#grants")).to_contain_text("Dr Paul Garnier")

    # Dr Garnier now reads her documents, except the one she masked.
    garnier.goto(dmp_url)
    expect(garnier.get_by_role("link", name="Lettre de liaison — Cardiologie")).to_be_visible()
    expect(garnier.locator("main")).not_to_contain_text("Échocardiographie transthoracique")

    # Camille revokes; Dr Garnier is refused at once.
    camille.locator("#grants summary", has_text="Révoquer").click()
    camille.get_by_role("button", name="Confirmer la révocation").click()
    expect(camille.locator(".message-success")).to_contain_text("Autorisation révoquée")
    garnier.goto(dmp_url)
    expect(garnier.get_by_role("heading", name="Accès refusé")).to_be_visible()
    expect(garnier.locator("main")).not_to_contain_text("Lettre de liaison")

    # Each step shows in her access history.
    camille.goto(f"{live_server.url}/dmp/historique-des-acces/")
    expect(camille.locator("main")).to_contain_text("a demandé l'accès à votre DMP")
    expect(camille.locator("main")).to_contain_text("accès refusé")
