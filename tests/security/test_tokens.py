"""Tokens die with their reason (issue 18): a password change or reset, a second-factor reset and a role
change end the user's API tokens and sessions; a login's password rehash ends nothing."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import second_factor
from accounts.models import ApiToken, Role
from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def signed_in(api, client, dr_bernard):
    """dr_bernard with a live API token and a live (verified) session."""
    api.as_user(dr_bernard)
    client.force_login(dr_bernard)
    assert api.get("/api/v1/me/").status_code == 200
    assert client.get(reverse("records:my_patients")).status_code == 200
    return api, client


def _both_refused(api, client):
    assert api.get("/api/v1/me/").status_code == 401
    response = client.get(reverse("records:my_patients"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_password_reset_through_the_reset_link_ends_tokens_and_sessions(signed_in, dr_bernard):
    api, client = signed_in
    link = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(dr_bernard.pk)),
            "token": default_token_generator.make_token(dr_bernard),
        },
    )
    from django.test import Client

    stranger = Client()
    form = stranger.get(link, follow=True)
    stranger.post(form.redirect_chain[-1][0], {"new_password1": "Autre-mot-2026!", "new_password2": "Autre-mot-2026!"})
    dr_bernard.refresh_from_db()
    assert dr_bernard.check_password("Autre-mot-2026!")
    _both_refused(api, client)
    assert not ApiToken.objects.live().exists()


def test_a_password_change_ends_tokens_and_sessions(signed_in, dr_bernard):
    api, client = signed_in
    dr_bernard.set_password("Encore-un-mot-2026")
    dr_bernard.save()
    _both_refused(api, client)


def test_a_second_factor_reset_ends_tokens_and_sessions(signed_in, dr_bernard):
    api, client = signed_in
    admin = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    second_factor.second_factor_reset(actor=admin, user=dr_bernard)
    _both_refused(api, client)


def test_a_role_change_ends_tokens_and_sessions(signed_in, dr_bernard):
    api, client = signed_in
    dr_bernard.role = Role.CHU_COLLABORATOR
    dr_bernard.save(update_fields=["role"])
    _both_refused(api, client)


def test_other_changes_and_a_login_rehash_keep_the_token(api, dr_bernard):
    api.as_user(dr_bernard)
    dr_bernard.first_name = "Sophia"
    dr_bernard.save()
    # What Django's check_password does when it upgrades a hash at login: the same password, re-hashed.
    dr_bernard.set_password(PASSWORD)
    dr_bernard._password = None
    dr_bernard.save(update_fields=["password"])
    assert api.get("/api/v1/me/").status_code == 200
