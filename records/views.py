"""Clinician pages of the hospital record; thin: every decision and trace is in services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Unit
from chu_portal.refusals import errors_as_message, errors_into

from .access import offers_stay_secret
from .forms import (
    EmergencyAccessForm,
    OpinionAnswerForm,
    OpinionRequestForm,
    PatientSearchForm,
    QualifyIdentityForm,
    ReportEditForm,
    ReportForm,
    RepresentationForm,
    TrustedRepresentativeForm,
)
from .models import Stay
from .services import care, emergency, incidents, reports, secret
from .services import patients as patients_service
from .services import representatives as representatives_service


@login_required
def patient_search(request):
    form = PatientSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    patients, total = [], 0
    # Non-staff get the refusal (traced) even without a query.
    if query or not request.user.is_chu_staff:
        patients, total = patients_service.patient_search(actor=request.user, query=query)
    searched = bool(query)
    return render(
        request,
        "records/patient_search.html",
        {"form": form, "patients": patients, "total": total, "searched": searched},
    )


@login_required
def patient_record(request, patient_id):
    record = patients_service.record_open(actor=request.user, patient_id=patient_id, feed_states=True)
    return render(
        request,
        "records/patient_record.html",
        {
            "record": record,
            "patient": record.patient,
            "qualify_form": QualifyIdentityForm(),
            "identity_next_step": patients_service.identity_next_step(record.patient),
            "opinion_form": OpinionRequestForm(),
            "units": Unit.objects.order_by("name"),
            # An opinion is asked of another unit, never one's own (records.services.care).
            "consult_units": Unit.objects.exclude(staff__user=request.user).order_by("name"),
            # The minor's secret (CSP L.1111-5): offered to the doctors and midwives of her care team.
            "may_keep_secret": offers_stay_secret(request.user, record.patient, record.decision.mode),
        },
    )


@login_required
@require_POST
def emergency_access(request, patient_id):
    form = EmergencyAccessForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "records/refused.html",
            {
                "message": _("Le motif est obligatoire."),
                "patient_id": patient_id,
                "can_break_glass": True,
                "form": form,
                # The refusal that offered this form was traced.
                "traced": True,
            },
            status=400,
        )
    with errors_as_message(request):
        grant = emergency.emergency_access_grant(
            actor=request.user, patient_id=patient_id, reason=form.cleaned_data["reason"]
        )
        messages.warning(
            request,
            _("Accès d'urgence ouvert jusqu'à %(time)s. Cet accès est tracé et signalé au DPO.")
            % {"time": grant.expires.astimezone().strftime("%H:%M")},
        )
    return redirect("records:patient_record", patient_id=patient_id)


@login_required
@require_POST
def retrieve_ins(request, patient_id):
    with errors_as_message(request):
        patient = patients_service.identity_retrieve_ins(actor=request.user, patient_id=patient_id)
        if patient.ins_is_qualified:
            messages.success(request, _("INS récupérée auprès du téléservice INSi : l'identité est qualifiée."))
        else:
            messages.success(
                request,
                _("INS récupérée auprès du téléservice INSi. Vérifiez la pièce d'identité pour qualifier l'identité."),
            )
    return redirect("records:patient_record", patient_id=patient_id)


@login_required
@require_POST
def qualify_identity(request, patient_id):
    form = QualifyIdentityForm(request.POST)
    with errors_as_message(request):
        patient = patients_service.identity_qualify(
            actor=request.user,
            patient_id=patient_id,
            document_checked=form.is_valid() and form.cleaned_data["document_checked"],
        )
        if patient.ins_is_qualified:
            messages.success(request, _("Identité qualifiée : l'INS peut désormais être utilisée."))
        else:
            messages.success(
                request,
                _("Identité validée. Récupérez l'INS auprès du téléservice INSi pour la qualifier."),
            )
    return redirect("records:patient_record", patient_id=patient_id)


@login_required
def report_detail(request, report_id):
    report, decision = reports.report_open(actor=request.user, report_id=report_id)
    return render(
        request,
        "records/report_detail.html",
        # Whether signing sends it to the DMP (said in the confirmation step).
        {
            "report": report,
            "decision": decision,
            "report_fed": settings.DMP_FEED_TYPES.get(report.type_code, False),
            # The signing choice offered first (docs/domain.md, "Held reports").
            "hold_default": reports.hold_by_default(report.type_code),
        },
    )


@login_required
def report_create(request, stay_id):
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            report = reports.report_create_draft(actor=request.user, stay_id=stay_id, **form.cleaned_data)
            messages.success(request, _("Brouillon enregistré. Relisez-le puis signez-le."))
            return redirect("records:report_detail", report_id=report.public_id)
    stay = reports.stay_for_writing(actor=request.user, stay_id=stay_id)
    return render(request, "records/report_form.html", {"form": form, "stay": stay, "mode": "create"})


@login_required
def report_edit(request, report_id):
    report, _decision = reports.report_open(actor=request.user, report_id=report_id)
    form = ReportEditForm(request.POST or None, initial={"title": report.title, "body": report.body})
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            reports.report_update_draft(actor=request.user, report_id=report_id, **form.cleaned_data)
            messages.success(request, _("Brouillon mis à jour."))
            return redirect("records:report_detail", report_id=report_id)
    return render(
        request, "records/report_form.html", {"form": form, "report": report, "stay": report.stay, "mode": "edit"}
    )


@login_required
def report_amend(request, report_id):
    report, _decision = reports.report_open(actor=request.user, report_id=report_id)
    form = ReportEditForm(request.POST or None, initial={"title": report.title, "body": report.body})
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            amendment = reports.report_amend(actor=request.user, report_id=report_id, **form.cleaned_data)
            messages.success(
                request, _("Nouvelle version enregistrée en brouillon ; signez-la pour remplacer la précédente.")
            )
            return redirect("records:report_detail", report_id=amendment.public_id)
    return render(
        request, "records/report_form.html", {"form": form, "report": report, "stay": report.stay, "mode": "amend"}
    )


@login_required
@require_POST
def report_sign(request, report_id):
    with errors_as_message(request):
        choice = request.POST.get("hold_from_patient")
        report = reports.report_sign(
            actor=request.user,
            report_id=report_id,
            hold_from_patient={"yes": True, "no": False}.get(choice),  # absent: the type's default
        )
        said = _("Compte rendu signé. Il ne peut plus être modifié ; une correction se fait par une nouvelle version.")
        if settings.DMP_FEED_TYPES.get(report.type_code, False):
            said += " " + _("Il est envoyé au DMP du patient.")
            if report.hold_from_patient:
                said += " " + _("Le patient ne le verra qu'une fois rendu visible, après la consultation d'annonce.")
        else:
            said += " " + _("Ce type de document n'est pas envoyé au DMP : il reste dans le dossier du CHU.")
        messages.success(request, said)
    return redirect("records:report_detail", report_id=report_id)


@login_required
def my_patients(request):
    """The care team's current patients, and the search box."""
    patients = patients_service.care_team_patients(actor=request.user)
    return render(request, "records/my_patients.html", {"patients": patients, "form": PatientSearchForm()})


# --- Care across units -------------------------------------------------------------------------


def _back_to_record(patient_id):
    return redirect("records:patient_record", patient_id=patient_id)


def _back_from_stay(stay_id):
    """After a refused change on a stay: back to its record, or to the patient list if there is none."""
    patient_id = Stay.objects.filter(public_id=stay_id).values_list("patient__public_id", flat=True).first()
    return _back_to_record(patient_id) if patient_id else redirect("records:my_patients")


@login_required
@require_POST
def stay_transfer(request, stay_id):
    with errors_as_message(request) as caught:
        movement = care.stay_transfer(actor=request.user, stay_id=stay_id, unit_code=request.POST.get("unit", ""))
    if caught.error:
        return _back_from_stay(stay_id)
    messages.success(request, _("Transfert enregistré vers %(unit)s.") % {"unit": movement.unit.name})
    return _back_to_record(movement.stay.patient.public_id)


@login_required
@require_POST
def opinion_request(request, stay_id):
    form = OpinionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(" ".join(e) for e in form.errors.values()))
        return _back_from_stay(stay_id)
    with errors_as_message(request) as caught:
        opinion = care.opinion_request_create(actor=request.user, stay_id=stay_id, **form.cleaned_data)
    if caught.error:
        return _back_from_stay(stay_id)
    messages.success(request, _("Demande d'avis envoyée. Le médecin consulté peut lire le dossier jusqu'à sa réponse."))
    return _back_to_record(opinion.patient.public_id)


@login_required
def opinions(request):
    received, sent = care.opinions_inbox(actor=request.user)
    return render(
        request,
        "records/opinions.html",
        {
            "received": received,
            "sent": sent,
            "form": OpinionAnswerForm(),
            "opinion_max_days": settings.OPINION_MAX_DAYS,
        },
    )


@login_required
@require_POST
def opinion_answer(request, opinion_id):
    form = OpinionAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Le texte de l'avis est obligatoire."))
        return redirect("records:opinions")
    with errors_as_message(request):
        care.opinion_answer(actor=request.user, opinion_id=opinion_id, body=form.cleaned_data["body"])
        messages.success(request, _("Avis enregistré : la note de consultation rejoint le dossier du patient."))
    return redirect("records:opinions")


@login_required
@require_POST
def opinion_close(request, opinion_id):
    with errors_as_message(request):
        care.opinion_close(actor=request.user, opinion_id=opinion_id)
        messages.success(request, _("Demande d'avis close."))
    return redirect("records:opinions")


@login_required
@require_POST
def handover_add(request, stay_id):
    with errors_as_message(request) as caught:
        note = care.handover_add(actor=request.user, stay_id=stay_id, body=request.POST.get("body", ""))
    if caught.error:
        return _back_from_stay(stay_id)
    messages.success(request, _("Transmission enregistrée."))
    return _back_to_record(note.stay.patient.public_id)


@login_required
@require_POST
def stay_secret(request, stay_id):
    """Keep a minor's stay secret from her legal representatives at her request, or lift the secret (L.1111-5)."""
    keep = request.POST.get("secret") == "yes"
    with errors_as_message(request) as caught:
        stay = secret.stay_secret_set(actor=request.user, stay_id=stay_id, secret=keep)
    if caught.error:
        return _back_from_stay(stay_id)
    if keep:
        messages.success(
            request,
            _(
                "Ce séjour est désormais secret vis-à-vis des représentants légaux : il ne leur est ni montré ni "
                "copié, et ses comptes rendus déposés dans le DMP leur sont cachés."
            ),
        )
    else:
        messages.success(request, _("Le secret de ce séjour vis-à-vis des représentants légaux est levé."))
    return _back_to_record(stay.patient.public_id)


@login_required
def missing_letters(request):
    stays = care.stays_missing_letter(actor=request.user)
    return render(request, "records/missing_letters.html", {"stays": stays})


@login_required
def identity_incidents(request):
    """The DPO's list of identity-vigilance incidents (reports withdrawn from the wrong patient's DMP)."""
    return render(
        request, "records/identity_incidents.html", {"incidents": incidents.identity_incidents(actor=request.user)}
    )


# --- Representatives (issue 21) ---------------------------------------------------------------


@login_required
def representatives(request, patient_id):
    """The admission desk: a patient's representatives, and recording a parent or guardian (identity checked)."""
    form = RepresentationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with errors_into(form):
            representatives_service.representation_record(
                actor=request.user,
                patient_id=patient_id,
                representative=data["representative"],
                kind=data["kind"],
                relation=data.get("relation", ""),
                starts=data.get("starts"),
                ends=data.get("ends"),
                identity_checked=data["identity_checked"],
            )
            messages.success(request, _("Représentant enregistré."))
            return redirect("records:representatives", patient_id=patient_id)
    rows = representatives_service.representations_list(actor=request.user, patient_id=patient_id)
    return render(
        request,
        "records/representatives.html",
        {"rows": rows, "form": form, "patient_id": patient_id},
        status=400 if form.errors else 200,
    )


@login_required
def trusted(request):
    """The adult patient's representatives: who acts for her, naming and revoking a trusted representative."""
    own = patients_service.own_patient(request.user)
    form = TrustedRepresentativeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form, "representative"):
            representatives_service.trusted_representative_name(
                actor=request.user, representative=form.cleaned_data["representative"], ends=form.cleaned_data["ends"]
            )
            messages.success(request, _("Votre représentant de confiance peut désormais consulter votre DMP."))
            return redirect("records:trusted")
    rows = representatives_service.representations_list(actor=request.user, patient_id=own.public_id)
    return render(request, "records/trusted.html", {"rows": rows, "form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def representation_end(request, representation_id):
    with errors_as_message(request):
        ended = representatives_service.representation_end(actor=request.user, representation_id=representation_id)
        messages.success(request, _("La représentation a pris fin."))
        if request.user.is_chu_staff:
            return redirect("records:representatives", patient_id=ended.patient.public_id)
    return redirect("records:trusted" if not request.user.is_chu_staff else "records:my_patients")
