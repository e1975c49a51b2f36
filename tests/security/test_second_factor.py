"""Two-factor login: mandatory for professionals, the DPO and admins; optional for patients; recoverable."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import second_factor
from accounts.models import Role
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied
from tests.factories import PASSWORD, UserFactory, totp_code


def password_login(username):
    browser = Client()
    response = browser.post(reverse("accounts:login"), {"username": username, "password": PASSWORD})
    return browser, response


def test_a_professional_cannot_reach_any_page_with_the_password_alone(dr_bernard, camille, camille_stay):
    browser, _ = password_login("dr.bernard")
    for url in ("/", reverse("records:my_patients"), reverse("records:patient_record", args=[camille.public_id])):
        response = browser.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:otp_verify"))
    assert not AuditEvent.objects.filter(object_type="hospital_record").exists()


def test_the_api_refuses_a_session_without_the_second_factor(dr_bernard):
    browser, _ = password_login("dr.bernard")
    response = browser.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (401, "otp_required")


def test_the_right_code_opens_the_session(dr_bernard):
    browser, _ = password_login("dr.bernard")
    response = browser.post(reverse("accounts:otp_verify"), {"code": totp_code(), "next": "/"})
    assert response.status_code == 302
    assert browser.get(reverse("records:my_patients")).status_code == 200


def test_a_wrong_code_is_refused_in_french(dr_bernard):
    browser, _ = password_login("dr.bernard")
    response = browser.post(reverse("accounts:otp_verify"), {"code": "123456"})
    assert response.status_code == 200
    assert "Code incorrect" in response.content.decode()
    assert browser.get(reverse("records:my_patients")).status_code == 302


def test_a_code_is_accepted_only_once(dr_bernard):
    code = totp_code()
    first, _ = password_login("dr.bernard")
    first.post(reverse("accounts:otp_verify"), {"code": code})
    second, _ = password_login("dr.bernard")
    response = second.post(reverse("accounts:otp_verify"), {"code": code})
    assert response.status_code == 200  # replayed code refused


def test_a_new_professional_enrols_with_a_qr_code_and_gets_backup_codes(db, cardiology):
    user = UserFactory(role=Role.CHU_CLINICIAN, username="dr.nouveau")
    browser, response = password_login("dr.nouveau")
    assert browser.get("/")["Location"].startswith(reverse("accounts:otp_enrol"))
    page = browser.get(reverse("accounts:otp_enrol")).content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    from django_otp.oath import totp

    response = browser.post(reverse("accounts:otp_enrol"), {"code": f"{totp(device.bin_key):06d}"})
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(user=user).confirmed
    assert AuditEvent.objects.filter(action="enrol_second_factor", actor_username="dr.nouveau").exists()
    assert browser.get("/").status_code == 302  # home redirects by role: verified now
    assert not browser.get("/")["Location"].startswith("/accounts/2fa/")


def test_a_backup_code_replaces_the_phone_once(dr_bernard):
    codes = second_factor.backup_codes_renew(dr_bernard)
    browser, _ = password_login("dr.bernard")
    assert browser.post(reverse("accounts:otp_verify"), {"code": codes[0]}).status_code == 302
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    again, _ = password_login("dr.bernard")
    assert again.post(reverse("accounts:otp_verify"), {"code": codes[0]}).status_code == 200


def test_an_administrator_resets_a_lost_second_factor_and_it_is_traced(db, dr_bernard):
    admin = UserFactory(role=Role.ADMIN, username="admin", is_staff=True, is_superuser=True)
    second_factor.second_factor_reset(actor=admin, user=dr_bernard)
    assert not TOTPDevice.objects.filter(user=dr_bernard).exists()
    trace = AuditEvent.objects.get(action="reset_second_factor")
    assert trace.object_id == str(dr_bernard.public_id) and trace.flagged


def test_only_an_administrator_resets_a_second_factor(dr_bernard, inf_roux):
    with pytest.raises(AccessDenied):
        second_factor.second_factor_reset(actor=inf_roux, user=dr_bernard)
    assert TOTPDevice.objects.filter(user=dr_bernard).exists()


def test_a_patient_signs_in_with_her_password_until_she_enrols(camille):
    browser, response = password_login("camille.martin")
    assert response.status_code == 302
    home = browser.get("/")
    assert not home["Location"].startswith("/accounts/2fa/")


def test_once_a_patient_enrolled_her_second_factor_is_required(camille):
    TOTPDevice.objects.create(
        user=camille.account, name="authenticator", key="3132333435363738393031323334353637383930", confirmed=True
    )
    browser, _ = password_login("camille.martin")
    assert browser.get("/")["Location"].startswith(reverse("accounts:otp_verify"))


def test_professional_sessions_expire_after_thirty_idle_minutes(client, dr_bernard, settings):
    settings.PROFESSIONAL_SESSION_IDLE_SECONDS = 1800
    client.force_login(dr_bernard)
    client.get(reverse("records:my_patients"))
    assert client.session.get_expiry_age() == 1800
    assert client.session.get_expire_at_browser_close() is False


def test_repeated_password_failures_lock_the_login_page_and_the_dpo_sees_it(db, dr_bernard, settings):
    settings.AXES_FAILURE_LIMIT = 3
    browser = Client()
    for _ in range(3):
        browser.post(reverse("accounts:login"), {"username": "dr.bernard", "password": "wrong"})
    response = browser.post(reverse("accounts:login"), {"username": "dr.bernard", "password": PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    lockout = AuditEvent.objects.filter(action="login_lockout").first()
    assert lockout.actor_username == "dr.bernard" and lockout.flagged and lockout.outcome == "denied"


def test_the_demo_professionals_use_the_documented_totp_secret(db, settings):
    import base64
    import io

    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    device = TOTPDevice.objects.get(user__username="dr.bernard")
    assert base64.b32encode(device.bin_key).decode().rstrip("=") == "JBSWY3DPEHPK3PXP"
    assert datetime.timedelta(seconds=device.step) == datetime.timedelta(seconds=30)
