"""In a real browser: the care team opens the record; an outsider is refused, breaks the glass, sees the banner."""

import pytest

from audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_care_team_doctor_opens_the_record_and_an_outsider_breaks_the_glass(
    login, page, live_server, dr_bernard, dr_leroy, camille, discharge_letter
):
    page = login(page, "dr.bernard", PASSWORD)
    page.get_by_role("link", name=camille.display_name).click()
    assert page.get_by_role("heading", name=camille.display_name).is_visible()
    assert page.get_by_text("Fibrillation atriale paroxystique").is_visible()
    page.get_by_role("link", name=discharge_letter.title).click()
    assert page.get_by_text(discharge_letter.body).is_visible()
    page.get_by_role("button", name="Se déconnecter").click()

    page = login(page, "dr.leroy", PASSWORD)
    page.get_by_label("Nom, date de naissance, IPP ou INS").fill("martin")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name=camille.display_name).click()
    assert page.get_by_role("heading", name="Accès refusé").is_visible()
    assert page.get_by_text("Fibrillation").count() == 0
    page.get_by_label("Motif de l'accès d'urgence").fill("Patiente admise inconsciente au déchocage")
    page.get_by_role("button", name="Ouvrir l'accès d'urgence").click()
    assert page.get_by_text("Fibrillation atriale paroxystique").is_visible()
    assert page.get_by_role("alert").filter(has_text="Mode accès d'urgence").is_visible()

    reads = AuditEvent.objects.filter(object_type="hospital_record", action="read", patient_id=camille.public_id)
    assert set(reads.values_list("actor_username", "outcome", "mode")) == {
        ("dr.bernard", "allowed", "care_team"),
        ("dr.leroy", "denied", ""),
        ("dr.leroy", "allowed", "emergency"),
    }


def test_the_record_is_usable_on_a_phone(login, live_server, page, dr_bernard, camille, discharge_letter):
    page.set_viewport_size({"width": 360, "height": 740})
    login(page, "dr.bernard", PASSWORD)
    page.goto(f"{live_server.url}/patients/{camille.public_id}/dossier/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
