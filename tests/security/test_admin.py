"""The admin is no backdoor (issue 18): no second-factor secret, no password or device set for another
user, no audit trail, and every change to the matrix, roles, units and accounts traced and flagged."""

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, Unit, User
from audit.admin import TracedModelAdmin
from audit.constants import Action, Mode
from audit.models import AuditEvent
from dmp.models import AccessMatrixEntry
from tests.factories import PASSWORD, TOTP_KEY, UserFactory

# Field names that hold a secret or a credential: never shown, never editable in the admin.
SECRET_FIELDS = {"password", "key", "bin_key", "token", "key_hash", "code_hash", "secret", "otp"}


@pytest.fixture
def administrator(db):
    user = UserFactory(role=Role.ADMIN, username="admin", is_staff=True, is_superuser=True)
    TOTPDevice.objects.create(user=user, name="authenticator", key=TOTP_KEY, confirmed=True)
    return user


@pytest.fixture
def browser(client, administrator):
    client.force_login(administrator)
    return client


def _shown_fields(model_admin, request, obj=None) -> set[str]:
    shown = set(model_admin.get_fields(request, obj)) | set(model_admin.get_readonly_fields(request, obj))
    shown |= {name for name in model_admin.get_list_display(request) if isinstance(name, str)}
    shown |= set(model_admin.get_search_fields(request))
    for inline in model_admin.get_inline_instances(request, obj):
        shown |= set(inline.get_fields(request, obj)) | set(inline.get_readonly_fields(request, obj))
    return {name.split("__")[0].lstrip("=^@") for name in shown}


def test_every_registered_admin_model_hides_secrets_and_is_traced_or_read_only(rf, administrator):
    """Walks the admin's registry: a new registration that shows a secret or escapes the trail fails here."""
    request = rf.get("/admin/")
    request.user = administrator
    assert admin.site._registry, "the admin registry is empty"
    for model, model_admin in admin.site._registry.items():
        name = f"{model._meta.app_label}.{model.__name__}"
        assert model._meta.app_label not in {"otp_totp", "otp_static", "audit", "axes"}, f"{name} is in the admin"
        shown = _shown_fields(model_admin, request) | _shown_fields(model_admin, request, model())
        assert not shown & SECRET_FIELDS, f"{name} shows {shown & SECRET_FIELDS}"
        read_only = not (
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)
            or model_admin.has_delete_permission(request)
        )
        assert read_only or isinstance(model_admin, TracedModelAdmin), f"{name} changes without a trace"


def test_no_second_factor_device_and_no_trace_is_reachable_in_the_admin(browser):
    for url in (
        "/admin/otp_totp/totpdevice/",
        "/admin/otp_static/staticdevice/",
        "/admin/audit/auditevent/",
        "/admin/audit/auditseal/",
        "/admin/auth/group/",
        "/admin/axes/accessattempt/",
    ):
        assert browser.get(url).status_code == 404, url


def test_an_administrator_cannot_set_another_users_password(browser, dr_bernard):
    page = browser.get(reverse("admin:accounts_user_change", args=[dr_bernard.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert dr_bernard.password not in html and "password/" not in html
    with pytest.raises(NoReverseMatch):
        reverse("admin:auth_user_password_change", args=[dr_bernard.pk])
    page = browser.get(f"/admin/accounts/user/{dr_bernard.pk}/password/", follow=True)
    assert 'name="password1"' not in page.content.decode()
    browser.post(f"/admin/accounts/user/{dr_bernard.pk}/password/", {"password1": "x" * 20, "password2": "x" * 20})
    dr_bernard.refresh_from_db()
    assert dr_bernard.check_password(PASSWORD)


def _change_form_data(user, **changes):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "is_active": "on",
        "professional_profile-TOTAL_FORMS": "0",
        "professional_profile-INITIAL_FORMS": "0",
        "professional_profile-MIN_NUM_FORMS": "0",
        "professional_profile-MAX_NUM_FORMS": "1",
    }
    data.update(changes)
    return data


def test_a_role_change_in_the_admin_is_traced_flagged_and_ends_the_sessions(browser, administrator, camille):
    account = camille.account
    epoch = account.session_epoch
    response = browser.post(
        reverse("admin:accounts_user_change", args=[account.pk]), _change_form_data(account, role=Role.DPO)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.role == Role.DPO and account.session_epoch == epoch + 1
    trace = AuditEvent.objects.get(action=Action.ADMIN_CHANGE)
    assert (trace.mode, trace.actor_username, trace.flagged, trace.flag_reason) == (
        Mode.ADMIN,
        "admin",
        True,
        "admin_change",
    )
    assert trace.object_type == "admin:accounts.user" and trace.object_id == str(account.public_id)
    assert "role=dpo" in trace.reason


def test_a_new_staff_account_gets_an_invitation_link_not_a_password(
    browser, administrator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            reverse("admin:accounts_user_add"),
            {
                "username": "dr.nouveau",
                "first_name": "Nina",
                "last_name": "Nouveau",
                "email": "nina@chu.example",
                "role": Role.CHU_CLINICIAN,
                "professional_profile-TOTAL_FORMS": "0",
                "professional_profile-INITIAL_FORMS": "0",
                "professional_profile-MIN_NUM_FORMS": "0",
                "professional_profile-MAX_NUM_FORMS": "1",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="dr.nouveau")
    assert not user.has_usable_password()
    assert [m.to for m in mail.outbox] == [["nina@chu.example"]]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/password-reset/" in line)
    assert link not in browser.get(response["Location"]).content.decode()
    # The link lets its owner choose her password (then the second-factor enrolment follows).
    owner = Client()
    form_page = owner.get(link, follow=True)
    assert form_page.status_code == 200
    owner.post(
        form_page.redirect_chain[-1][0], {"new_password1": "Nouveau-mot-2026!", "new_password2": "Nouveau-mot-2026!"}
    )
    user.refresh_from_db()
    assert user.check_password("Nouveau-mot-2026!")
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {Action.ADMIN_ADD, Action.INVITE}
    assert AuditEvent.objects.get(action=Action.ADMIN_ADD).flagged


def test_the_access_matrix_and_units_changed_in_the_admin_are_traced(browser):
    entry = AccessMatrixEntry.objects.order_by("pk").first()
    response = browser.post(
        reverse("admin:dmp_accessmatrixentry_change", args=[entry.pk]),
        {"profession": entry.profession, "document_key": entry.document_key, "allowed": "" if entry.allowed else "on"},
    )
    assert response.status_code == 302
    unit = Unit.objects.create(code="NEURO", name="Neurologie")
    assert browser.post(reverse("admin:accounts_unit_delete", args=[unit.pk]), {"post": "yes"}).status_code == 302
    traces = list(AuditEvent.objects.order_by("id").values_list("action", "object_type", "mode", "flagged"))
    assert traces == [
        (Action.ADMIN_CHANGE, "admin:dmp.accessmatrixentry", Mode.ADMIN, True),
        (Action.ADMIN_DELETE, "admin:accounts.unit", Mode.ADMIN, True),
    ]


def test_a_bulk_deletion_in_the_admin_is_traced_per_object(browser):
    units = [Unit.objects.create(code=f"U{i}", name=f"Unité {i}") for i in range(2)]
    response = browser.post(
        reverse("admin:accounts_unit_changelist"),
        {"action": "delete_selected", "_selected_action": [u.pk for u in units], "post": "yes"},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.ADMIN_DELETE, flagged=True).count() == 2
