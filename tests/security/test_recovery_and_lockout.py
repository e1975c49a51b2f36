"""An activation code for an active account is an account recovery, never a silent password overwrite;
the login lockout also counts an address across usernames, read from the configured proxy header
(issue 18)."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from audit.constants import Action
from audit.models import AuditEvent
from chu_portal.errors import InvalidInput
from dmp.models import Notification
from dmp.services import activation
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "un-autre-mot-de-passe-2026"


def _activate(client, code, patient):
    return client.post(
        reverse("dmp:activate"),
        {
            "code": code,
            "birth_date": patient.birth_date.isoformat(),
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )


def test_a_code_for_an_active_account_needs_the_staff_members_reason(dr_bernard, camille):
    with pytest.raises(InvalidInput) as refused:
        activation.activation_code_issue(actor=dr_bernard, patient_id=camille.public_id)
    assert "reason" in refused.value.fields
    assert not AuditEvent.objects.filter(action=Action.ACCOUNT_RECOVERY).exists()


def test_an_account_recovery_is_traced_flagged_told_and_ends_sessions_and_tokens(
    api, client, dr_bernard, camille, django_capture_on_commit_callbacks
):
    account = camille.account
    account.email = "camille@example.org"
    account.save(update_fields=["email"])
    api.as_user(account)
    client.force_login(account)
    assert api.get("/api/v1/me/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        code, _account = activation.activation_code_issue(
            actor=dr_bernard, patient_id=camille.public_id, reason="Mot de passe oublié, identité vérifiée à l'accueil"
        )
    issued = AuditEvent.objects.get(action=Action.ACCOUNT_RECOVERY)
    assert (issued.actor_username, issued.flagged, issued.flag_reason) == ("dr.bernard", True, "account_recovery")
    assert "Mot de passe oublié" in issued.reason
    # Told at once, in her inbox and by e-mail, although she never opted in to e-mails.
    assert Notification.objects.filter(recipient=account, message__contains="récupération").exists()
    assert [m.to for m in mail.outbox] == [["camille@example.org"]]
    # Issuing the code changed nothing yet: her password and sessions hold until the code is used.
    account.refresh_from_db()
    assert account.check_password(PASSWORD) and api.get("/api/v1/me/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        assert _activate(Client(), code, camille).status_code == 302
    account.refresh_from_db()
    assert account.check_password(NEW_PASSWORD)
    assert api.get("/api/v1/me/").status_code == 401
    assert client.get(reverse("dmp:home"))["Location"].startswith(reverse("accounts:login"))
    used = AuditEvent.objects.filter(action=Action.ACCOUNT_RECOVERY).order_by("id").last()
    assert used.actor_username == account.username and used.flagged
    assert Notification.objects.filter(recipient=account, message__contains="remplacé").exists()
    assert len(mail.outbox) == 2


def test_an_account_never_activated_gets_its_code_without_a_reason(dr_bernard):
    from tests.factories import PatientFactory

    patient = PatientFactory()
    code, account = activation.activation_code_issue(actor=dr_bernard, patient_id=patient.public_id)
    assert code and not account.is_active
    assert AuditEvent.objects.filter(action="issue_activation_code", flagged=False).exists()


def _fail(username, address=None, forwarded=None):
    browser = Client(REMOTE_ADDR=address or "10.0.0.1", **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}))
    return browser.post(reverse("accounts:login"), {"username": username, "password": "wrong-password"})


def test_password_spraying_from_one_address_locks_it_out_and_is_flagged(settings, db, camille):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_ADDRESS_FAILURE_LIMIT = 4
    for i in range(4):
        UserFactory(username=f"cible{i}")
        _fail(f"cible{i}")  # one failure per username: the per-username limit is never reached
    # The address is now locked, even for a right password of another account.
    response = Client(REMOTE_ADDR="10.0.0.1").post(
        reverse("accounts:login"), {"username": "camille.martin", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert AuditEvent.objects.filter(action=Action.LOGIN_LOCKOUT, flagged=True).exists()
    # Another address is not locked.
    assert (
        Client(REMOTE_ADDR="10.0.0.2")
        .post(reverse("accounts:login"), {"username": "camille.martin", "password": PASSWORD})
        .status_code
        == 302
    )


def test_a_successful_sign_in_does_not_clear_the_address_count(settings, db, camille):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 3
    _fail("cible0")
    _fail("cible1")
    assert (
        Client(REMOTE_ADDR="10.0.0.1")
        .post(reverse("accounts:login"), {"username": "camille.martin", "password": PASSWORD})
        .status_code
        == 302
    )
    _fail("cible2")
    assert _fail("cible3").status_code == 429


def test_behind_the_proxy_the_address_comes_from_the_configured_header(settings, db):
    """A hospital's workstations share the proxy's address: each is counted under its own."""
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.CLIENT_IP_PROXIES = 1
    settings.AXES_ADDRESS_FAILURE_LIMIT = 3
    for i in range(6):  # six workstations, one typo each, all through the proxy 192.0.2.1
        assert _fail(f"agent{i}", address="192.0.2.1", forwarded=f"10.1.0.{i}").status_code == 200
    for _ in range(3):
        _fail("someone", address="192.0.2.1", forwarded="spoofed, 10.9.9.9")
    assert _fail("someone-else", address="192.0.2.1", forwarded="10.9.9.9").status_code == 429
    lockouts = AuditEvent.objects.filter(action=Action.LOGIN_LOCKOUT)
    assert lockouts.exists() and set(lockouts.values_list("ip", flat=True)) == {"10.9.9.9"}
