"""Admin of accounts and reference data: no medical content, no second-factor secret, no password set
by an administrator (new staff get an invitation link), every change traced and flagged (audit/admin.py)."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.admin import TracedModelAdmin

from . import invitations
from .models import ProfessionalProfile, Unit, User

# django-otp's device admins show every TOTP key and let an administrator give anyone a device;
# groups would grant permissions outside roles; django-axes' logs keep raw form data. None stays.
for _model in (TOTPDevice, StaticDevice, Group, AccessLog, AccessFailureLog, AccessAttempt):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class ProfessionalProfileInline(admin.StackedInline):
    model = ProfessionalProfile
    can_delete = False
    filter_horizontal = ("units",)


class AccountAddForm(forms.ModelForm):
    """A new account has no password: its owner sets one through the invitation link sent to this address."""

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "email", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class AccountChangeForm(forms.ModelForm):
    """The account's fields but its password (the admin's fieldsets narrow it further)."""

    class Meta:
        model = User
        fields = (
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "is_active",
            "is_staff",
            "is_superuser",
            "user_permissions",
        )


@admin.register(User)
class UserAdmin(TracedModelAdmin, BaseUserAdmin):
    form = AccountChangeForm
    add_form = AccountAddForm
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    # No password field: a password is set by its owner only (invitation, reset), never here.
    fieldsets = (
        (None, {"fields": ("username",)}),
        (_("Identité"), {"fields": ("first_name", "last_name", "email")}),
        ("CHU Portal", {"fields": ("role",)}),
        (_("Droits"), {"fields": ("is_active", "is_staff", "is_superuser", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"fields": ("username", "first_name", "last_name", "email", "role")}),)
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ("user_permissions",)
    inlines = [ProfessionalProfileInline]

    def trace_extra(self, obj) -> str:
        return f"role={obj.role} active={obj.is_active} staff={obj.is_staff} superuser={obj.is_superuser}"

    def get_urls(self):
        # Django's "change password" page of another user is gone: the reset flow is the only way.
        return [url for url in super().get_urls() if getattr(url, "name", None) != "auth_user_password_change"]

    def user_change_password(self, request, id, form_url=""):
        raise PermissionDenied

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            invitations.invitation_send(actor=request.user, user=obj, request=request)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request, _("Invitation envoyée à %(email)s : le titulaire choisit son mot de passe.") % {"email": obj.email}
        )
        return super().response_add(request, obj, post_url_continue)


@admin.register(Unit)
class UnitAdmin(TracedModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.action(description=_("Réinitialiser le second facteur (perte du téléphone)"))
def reset_second_factor(modeladmin, request, queryset):
    from .second_factor import second_factor_reset

    for user in queryset:
        second_factor_reset(actor=request.user, user=user)
    modeladmin.message_user(
        request,
        _("Second facteur réinitialisé pour %(n)s compte(s) ; action tracée, sessions et jetons révoqués.")
        % {"n": queryset.count()},
    )


UserAdmin.actions = [reset_second_factor]
