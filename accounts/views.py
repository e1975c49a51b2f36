"""Sign-in (password, then the second factor), sign-out, password reset and the home page of each role."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from chu_portal.refusals import errors_into

from . import second_factor, throttling
from .forms import OtpForm
from .models import Role


def _next_url(request, default="accounts:home"):
    target = request.POST.get("next") or request.GET.get("next")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else reverse_lazy(default)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def otp_verify(request):
    """Second step of sign-in: a TOTP code or a backup code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = second_factor.verify(request.user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("code", _("Code incorrect ou expiré."))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": request.GET.get("next", "")})


@login_required
def otp_enrol(request):
    """Enrol an authenticator app: QR code, a first code to confirm, then backup codes shown once."""
    if second_factor.has_confirmed_device(request.user) and not request.user.is_verified():
        return redirect("accounts:otp_verify")
    device = second_factor.pending_totp_device(request.user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # A wrong code is refused (AccessDenied, 400): the form says so.
        with errors_into(form, "code", refusals=True):
            codes = second_factor.enrolment_confirm(user=request.user, code=form.cleaned_data["code"])
            device.refresh_from_db()
            otp_login(request, device)
            return render(request, "accounts/otp_backup_codes.html", {"codes": codes, "next": _next_url(request)})
    uri = second_factor.provisioning_uri(device)
    return render(
        request,
        "accounts/otp_enrol.html",
        {
            "form": form,
            "qr": second_factor.qr_svg(uri),
            "secret": second_factor.secret_base32(device),
            "next": request.GET.get("next", ""),
        },
    )


def lockout_response(request, original_response=None, credentials=None):
    """django-axes lockout: JSON with code rate_limited for the API, a French page otherwise."""
    message = _("Trop de tentatives de connexion échouées : réessayez dans quelques minutes.")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "rate_limited"}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        # Reset e-mails asked from one address are limited (429 page past THROTTLE_RATES["password_reset"]).
        throttling.limit_request(throttling.PasswordResetThrottle, request)
        return super().post(request, *args, **kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@login_required
def security(request):
    """Patients may add a second factor (encouraged); professionals see theirs is on."""
    enrolled = second_factor.has_confirmed_device(request.user)
    if request.method == "POST" and enrolled:
        codes = second_factor.backup_codes_renew(request.user)
        messages.success(request, _("Nouveaux codes de secours créés ; les anciens ne fonctionnent plus."))
        return render(
            request, "accounts/otp_backup_codes.html", {"codes": codes, "next": reverse_lazy("accounts:security")}
        )
    return render(request, "accounts/security.html", {"enrolled": enrolled})


@login_required
def home(request):
    user = request.user
    if user.role in (Role.CHU_CLINICIAN, Role.CHU_COLLABORATOR):
        return redirect("records:my_patients")
    if user.role == Role.DPO:
        return redirect("audit:console")
    if user.role == Role.PATIENT:
        return redirect("dmp:home")
    if user.role == Role.EXTERNAL_PROFESSIONAL:
        return redirect("dmp:pro_home")
    template = {
        Role.PATIENT: "accounts/home_patient.html",
        Role.EXTERNAL_PROFESSIONAL: "accounts/home_professional.html",
        Role.ADMIN: "accounts/home_admin.html",
    }.get(user.role, "accounts/home_admin.html")
    return render(request, template, {})
