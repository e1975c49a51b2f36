"""French first, English second: the switch, the html lang, and the information pages."""

from django.urls import reverse


def test_pages_are_in_french_by_default(client, db):
    response = client.get(reverse("accounts:login"))
    assert '<html lang="fr">' in response.content.decode()
    assert "Connexion" in response.content.decode()


def test_an_english_browser_gets_the_english_portal(client, db):
    response = client.get(reverse("accounts:login"), headers={"accept-language": "en"})
    body = response.content.decode()
    assert '<html lang="en">' in body
    assert "Sign in" in body


def test_the_switch_remembers_the_chosen_language(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert "Sign in" in client.get(reverse("accounts:login")).content.decode()
    client.post(reverse("set_language"), {"language": "fr", "next": "/accounts/login/"})
    assert "Connexion" in client.get(reverse("accounts:login")).content.decode()


def test_the_two_records_page_explains_the_difference_without_login(client, db):
    body = client.get(reverse("two_records")).content.decode()
    assert "Le dossier patient du CHU" in body and "Mon espace santé" in body
    assert "Les résultats de biologie ne sont pas envoyés" in body


def test_the_two_records_page_tells_the_truth_about_activation(client, db):
    """Issue 19, point 5: activation on monespacesante.fr or its app with the Assurance Maladie's code; the CHU
    feeds the DMP; what the portal models locally (its activation code stands for that seam)."""
    body = client.get(reverse("two_records")).content.decode()
    assert "monespacesante.fr" in body and "application Mon espace santé" in body
    assert "Assurance Maladie vous a envoyé" in body
    assert "Le CHU alimente votre DMP" in body and "tient lieu du code de l" in body
    assert "Le CHU vous remet un code" not in body


def test_the_accessibility_statement_is_published(client, db):
    body = client.get(reverse("accessibility")).content.decode()
    assert "RGAA" in body and "Défenseur des droits" in body


def test_the_english_catalogue_is_complete():
    """Every French string has its English translation (run makemessages -l en, then translate)."""
    from pathlib import Path

    import polib

    catalogue = polib.pofile(str(Path(__file__).resolve().parent.parent / "locale/en/LC_MESSAGES/django.po"))
    assert [e.msgid for e in catalogue.untranslated_entries()] == []
    assert [e.msgid for e in catalogue.fuzzy_entries()] == []
