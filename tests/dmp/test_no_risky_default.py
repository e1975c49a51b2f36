"""No risky default: types to choose, errors that name their field, one confirmation step, approving for less."""

import re

import pytest
from django.urls import reverse

from dmp.consent import grants as consent_grants
from dmp.consent import requests
from dmp.constants import ConsentStatus
from dmp.models import AccessGrant, ConsentRequest


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option[^>]*>([^<]*)</option>", select)


def test_the_upload_type_has_no_default_and_an_empty_upload_names_its_fields(client, camille, camille_dmp):
    client.force_login(camille.account)
    html = client.get(reverse("dmp:upload")).content.decode()
    assert options(html, "type_code")[0] == "Choisir…"
    assert re.search(r'<option value="[^"]+" selected', html) is None
    response = client.post(reverse("dmp:upload"), {}, headers={"x-requested-with": "XMLHttpRequest"})
    detail = response.json()["detail"]
    assert response.status_code == 400
    assert "Titre : Ce champ est obligatoire." in detail and "Type de document : Ce champ est obligatoire." in detail
    page = client.post(reverse("dmp:upload"), {"title": "Ordonnance"}).content.decode()
    assert "Type de document : Ce champ est obligatoire." in page


def test_the_report_type_has_no_default_and_says_whether_it_goes_to_the_dmp(client, dr_bernard, camille_stay):
    client.force_login(dr_bernard)
    html = client.get(reverse("records:report_create", args=[camille_stay.public_id])).content.decode()
    said = options(html, "type_code")
    assert said[0] == "Choisir…"
    assert any("envoyé au DMP du patient" in o for o in said) and any("reste dans le dossier du CHU" in o for o in said)
    response = client.post(reverse("records:report_create", args=[camille_stay.public_id]), {"title": "T", "body": "B"})
    assert response.status_code == 200 and "Ce champ est obligatoire" in response.content.decode()


def confirm_panels(html: str) -> list[str]:
    return re.findall(r'<details class="confirm".*?</details>', html, re.S)


def test_signing_takes_a_confirmation_step_that_says_where_the_report_goes(client, dr_bernard, draft_report):
    client.force_login(dr_bernard)
    html = client.get(reverse("records:report_detail", args=[draft_report.public_id])).content.decode()
    sign = reverse("records:report_sign", args=[draft_report.public_id])
    panels = [p for p in confirm_panels(html) if sign in p]
    assert len(panels) == 1 and "Confirmer la signature" in panels[0]
    assert "<summary" in panels[0] and "<script" not in html.split("</head>")[1]
    # every form posting to the sign URL is inside the confirmation panel
    assert html.count(f'action="{sign}"') == 1


@pytest.fixture
def garnier_request(camille, camille_dmp, dr_garnier):
    return requests.consent_request_create(
        actor=dr_garnier, patient_id=camille.public_id, purpose="Suivi cardiologique", duration_days=90
    )


def test_approve_and_revoke_take_a_confirmation_step(client, camille, garnier_request):
    client.force_login(camille.account)
    html = client.get(reverse("dmp:consents")).content.decode()
    approve = reverse("dmp:consent_approve", args=[garnier_request.public_id])
    assert [p for p in confirm_panels(html) if approve in p]
    assert options(html, "duration_days")[0].startswith("90 jours")
    client.post(approve, {"duration_days": "90"})
    grant = AccessGrant.objects.get()
    html = client.get(reverse("dmp:consents")).content.decode()
    revoke = reverse("dmp:grant_revoke", args=[grant.public_id])
    assert [p for p in confirm_panels(html) if revoke in p and "Confirmer la révocation" in p]


def test_the_patient_approves_for_less_than_asked_never_more(client, camille, garnier_request):
    client.force_login(camille.account)
    approve = reverse("dmp:consent_approve", args=[garnier_request.public_id])
    client.post(approve, {"duration_days": "365"})
    assert not AccessGrant.objects.exists()
    assert ConsentRequest.objects.get().status == ConsentStatus.PENDING
    client.post(approve, {"duration_days": "7"})
    grant = AccessGrant.objects.get()
    assert (grant.expires - grant.starts).days == 7


def test_answered_requests_show_a_revoked_grant_as_revoked(client, camille, garnier_request):
    requests.consent_request_approve(actor=camille.account, request_id=garnier_request.public_id)
    consent_grants.grant_revoke(actor=camille.account, grant_id=AccessGrant.objects.get().public_id)
    client.force_login(camille.account)
    html = client.get(reverse("dmp:consents")).content.decode()
    answered = html[html.index('id="answered-title"') :]
    assert "puis révoquée le" in answered and ">Acceptée<" not in answered


def test_blocking_and_withdrawing_the_gp_take_a_confirmation_step(client, camille, camille_dmp, dr_garnier):
    client.force_login(camille.account)
    html = client.get(reverse("dmp:blocked") + "?q=garnier").content.decode()
    assert [p for p in confirm_panels(html) if "Confirmer le blocage" in p and dr_garnier.rpps in p]
    html = client.get(reverse("dmp:designations")).content.decode()
    assert [p for p in confirm_panels(html) if "Confirmer le retrait" in p]


def test_after_signing_the_doctor_is_told_whether_the_report_went_to_the_dmp(
    client, dr_bernard, draft_report, settings
):
    settings.DMP_FEED_TYPES = {**settings.DMP_FEED_TYPES, draft_report.type_code: True}
    client.force_login(dr_bernard)
    html = client.get(reverse("records:report_detail", args=[draft_report.public_id])).content.decode()
    assert "il est envoyé au DMP du patient" in html
    response = client.post(reverse("records:report_sign", args=[draft_report.public_id]), follow=True)
    assert "Il est envoyé au DMP du patient." in response.content.decode()
