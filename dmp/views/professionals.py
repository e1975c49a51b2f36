"""DMP pages of professionals: their home, finding a patient, the GP's new documents, designations to answer."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import PROFESSIONAL_ROLES
from chu_portal.errors import NotFound
from chu_portal.refusals import errors_as_message, errors_into
from records.services import patients as patients_service

from .. import access
from ..forms import LookupForm
from ..services import designations as designations_service
from ..services import held as held_service
from ..services import professionals, records


@login_required
def pro_home(request):
    if request.user.role not in PROFESSIONAL_ROLES:
        return redirect("accounts:home")
    return render(request, "dmp/pro_home.html", {"lookup_form": LookupForm()})


@login_required
def pro_find(request):
    """CHU staff search by name/birth date/IPP/INS; others by exact INS and birth date (traced)."""
    user = request.user
    if user.is_chu_staff and "q" in request.GET:
        query = request.GET.get("q", "").strip()
        patients, total = [], 0
        if query:
            patients, total = patients_service.patient_search(actor=user, query=query)
        return render(
            request,
            "dmp/pro_home.html",
            {"lookup_form": LookupForm(), "patients": patients, "query": query, "total": total},
        )
    form = LookupForm(request.GET or None)
    if form.is_valid():
        with errors_into(form) as caught:
            patient = professionals.patient_lookup(
                actor=user, ins=form.cleaned_data["ins"], birth_date=form.cleaned_data["birth_date"]
            )
            if access.record_decision(user, records.record_by_patient_id(patient.public_id)).allowed:
                return redirect("dmp:patient_dmp", patient_id=patient.public_id)
            # Found, not yet open to her: the next step (ask the patient), not a refusal page.
            messages.info(
                request,
                _(
                    "Un DMP correspond à ce matricule INS et à cette date de naissance. Vous n'y avez pas encore "
                    "accès : demandez l'autorisation du patient ci-dessous."
                ),
            )
            return redirect("dmp:access_request", patient_id=patient.public_id)
        if isinstance(caught.error, NotFound):
            # A lookup that matches nothing is an answer: the form says so, with 404.
            return render(request, "dmp/pro_home.html", {"lookup_form": form}, status=404)
    return render(request, "dmp/pro_home.html", {"lookup_form": form}, status=400 if form.errors else 200)


@login_required
def gp_dashboard(request):
    documents = professionals.gp_dashboard(actor=request.user)
    return render(request, "dmp/gp_dashboard.html", {"documents": documents})


@login_required
def held_reports(request):
    """The reports of the clinician's units held from the patient until the announcement consultation, with their age."""
    documents = held_service.held_reports(actor=request.user)
    return render(
        request,
        "dmp/held_reports.html",
        {"documents": documents, "reminder_days": settings.DMP_HOLD_REMINDER_DAYS},
    )


@login_required
def pro_designations(request):
    """The proposals of GP-level rights waiting for this doctor's answer."""
    rows = designations_service.designations_to_answer(actor=request.user)
    return render(request, "dmp/pro_designations.html", {"rows": rows})


@login_required
@require_POST
def pro_designation_answer(request, designation_id, answer):
    with errors_as_message(request):
        if answer == "accepter":
            designations_service.designation_accept(actor=request.user, designation_id=designation_id)
            messages.success(request, _("Désignation acceptée : vous avez les droits du médecin traitant sur ce DMP."))
        else:
            designations_service.designation_decline(actor=request.user, designation_id=designation_id)
            messages.success(request, _("Proposition déclinée ; le patient en est informé."))
    return redirect("dmp:pro_designations")
