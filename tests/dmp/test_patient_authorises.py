"""The patient authorises a professional herself; a professional's lookup leads to the next step (issue 20)."""

from django.urls import reverse

from audit.models import AuditEvent
from dmp import access
from dmp.constants import GrantSource
from dmp.models import AccessGrant, Notification


def test_the_patient_finds_a_professional_by_name_or_profession_and_authorises_him(
    client, camille, camille_dmp, dr_garnier, ph_fournier
):
    client.force_login(camille.account)
    by_name = client.get(reverse("dmp:authorise"), {"q": "garnier"}).content.decode()
    assert "Paul Garnier" in by_name and "Confirmer l'autorisation" in by_name
    by_profession = client.get(reverse("dmp:authorise"), {"q": "pharmacien"}).content.decode()
    assert "Julie Fournier" in by_profession and "Paul Garnier" not in by_profession
    response = client.post(reverse("dmp:authorise"), {"rpps": dr_garnier.rpps, "duration_days": "30"})
    assert response.status_code == 302 and response["Location"] == reverse("dmp:consents")
    grant = AccessGrant.objects.get(professional=dr_garnier)
    assert grant.source == GrantSource.CONSENT and (grant.expires - grant.starts).days == 30
    assert access.record_decision(dr_garnier, camille_dmp).allowed
    assert Notification.objects.filter(recipient=dr_garnier).exists()
    assert AuditEvent.objects.filter(actor_username="camille.martin", action="grant").exists()
    # twice: said, not a second grant
    client.post(reverse("dmp:authorise"), {"rpps": dr_garnier.rpps, "duration_days": "30"})
    assert AccessGrant.objects.filter(professional=dr_garnier).count() == 1


def test_a_professional_cannot_use_the_patients_authorise_page(client, dr_garnier, camille, camille_dmp, ph_fournier):
    client.force_login(dr_garnier)
    client.post(reverse("dmp:authorise"), {"rpps": ph_fournier.rpps, "duration_days": "30"})
    assert not AccessGrant.objects.exists()


def test_a_lookup_without_access_leads_to_asking_not_to_a_refusal(client, camille, camille_dmp, dr_garnier):
    client.force_login(dr_garnier)
    params = {"ins": camille.nir, "birth_date": camille.birth_date.isoformat()}
    response = client.get(reverse("dmp:pro_find"), params)
    assert response.status_code == 302
    assert response["Location"] == reverse("dmp:access_request", args=[camille.public_id])
    page = client.get(response["Location"])
    assert page.status_code == 200 and "demandez l&#x27;autorisation du patient" in page.content.decode()


def test_the_professional_page_says_the_access_mode_in_words(client, camille, camille_dmp, dr_moreau):
    client.force_login(dr_moreau)
    html = client.get(reverse("dmp:patient_dmp", args=[camille.public_id])).content.decode()
    assert '<span class="badge">Médecin traitant</span>' in html
    assert "Mes documents" not in html and "Documents ajoutés par le patient" in html
