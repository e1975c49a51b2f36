"""Sign-in, sign-out and the home page that fits each role."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .models import Role


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


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
