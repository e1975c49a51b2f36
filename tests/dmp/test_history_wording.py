"""The patient's access history reads well: grouped by day, in plain French, emergencies highlighted."""

from django.urls import reverse

from dmp.consent import emergency, grants
from dmp.constants import GrantSource
from dmp.services import documents, history


def test_reads_under_consent_are_one_sentence_with_the_date_of_the_authorisation(
    client, camille, camille_dmp, fed_letter, operative_report, dr_garnier
):
    given = grants.grant_create(
        actor=camille.account,
        record=camille_dmp,
        professional=dr_garnier,
        source=GrantSource.CONSENT,
        duration_days=365,
    )
    for document in (fed_letter, operative_report, fed_letter):
        documents.document_open(actor=dr_garnier, document_id=document.public_id)
    client.force_login(camille.account)
    body = client.get(reverse("dmp:history")).content.decode()
    assert "Paul Garnier, médecin</strong> a consulté 3 documents de votre DMP" in body
    assert f"accès autorisé par vous le {given.starts.astimezone().strftime('%d/%m/%Y')}" in body


def test_an_emergency_access_stands_out(client, camille, camille_dmp, fed_letter, dr_garnier):
    emergency.emergency_access_open(
        actor=dr_garnier, patient_id=camille.public_id, reason="Malaise au cabinet, patiente inconsciente"
    )
    documents.document_open(actor=dr_garnier, document_id=fed_letter.public_id)
    client.force_login(camille.account)
    body = client.get(reverse("dmp:history")).content.decode()
    assert "history-emergency" in body and "accès d&#x27;urgence (bris de glace)" in body


def test_the_history_is_grouped_by_day(camille, camille_dmp, fed_letter, dr_moreau):
    documents.document_open(actor=dr_moreau, document_id=fed_letter.public_id)
    page = history.access_history(actor=camille.account, patient_id=camille.public_id)
    assert len(page.days) == 1
    entry = page.days[0].entries[0]
    assert entry.how == "en tant que votre médecin traitant" and entry.count == 1
