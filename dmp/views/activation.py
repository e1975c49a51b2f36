"""Account activation: a patient turns the code the CHU gave them into a password."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import throttling
from chu_portal.refusals import errors_into

from ..forms import ActivationForm
from ..services import activation


def activate(request):
    form = ActivationForm(request.POST or None)
    if request.method == "POST":
        # Every attempt counts, well-formed or not (the code and the birth date are guessed here).
        throttling.limit_request(throttling.ActivationThrottle, request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with errors_into(form, fields={"password": "password"}):
            account = activation.account_activate(
                code=data["code"], birth_date=data["birth_date"], password=data["password"]
            )
            messages.success(
                request,
                _("Votre espace est activé. Connectez-vous avec l'identifiant %(u)s et votre nouveau mot de passe.")
                % {"u": account.username},
            )
            return redirect("accounts:login")
    return render(request, "dmp/activate.html", {"form": form}, status=400 if form.errors else 200)
