"""The patient's own DMP pages: medical profile, settings, blocked professionals, notifications, access history."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from chu_portal.refusals import errors_as_message, errors_into

from .. import access
from ..acting import acting_for
from ..consent import blocking
from ..constants import ProfileKind, RecordStatus
from ..forms import DesignationForm, ProfileForm, RppsForm, SettingsForm, StatusForm
from ..services import designations as designations_service
from ..services import history as history_service
from ..services import lifecycle, record_settings
from ..services import notifications as notifications_service
from ..services import profile as profile_service
from .common import page_number


@login_required
def profile(request):
    form = ProfileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form):
            profile_service.profile_add(actor=request.user, patient_id=acting_for(request), **form.cleaned_data)
            messages.success(request, _("Élément ajouté à votre profil médical."))
            return redirect("dmp:profile")
    record, entries = profile_service.profile_list(actor=request.user, patient_id=acting_for(request))
    grouped = [(label, [e for e in entries if e.kind == kind]) for kind, label in ProfileKind.choices]
    return render(request, "dmp/profile.html", {"form": form, "grouped": grouped, "record": record})


@login_required
@require_POST
def profile_delete(request, entry_id):
    profile_service.profile_delete(actor=request.user, entry_id=entry_id)
    messages.success(request, _("Élément retiré de votre profil médical."))
    return redirect("dmp:profile")


@login_required
def settings_page(request):
    record = record_settings.record_settings_get(actor=request.user, patient_id=acting_for(request))
    initial = {
        "emergency_access_allowed": record.emergency_access_allowed,
        "samu_access_allowed": record.samu_access_allowed,
        "notify_by_email": record.notify_by_email,
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with errors_into(form):
            record_settings.record_settings_update(
                actor=request.user,
                patient_id=acting_for(request),
                emergency_access_allowed=data["emergency_access_allowed"],
                samu_access_allowed=data["samu_access_allowed"],
                notify_by_email=data["notify_by_email"],
            )
            messages.success(request, _("Paramètres enregistrés."))
            return redirect("dmp:settings")
    context = {
        "form": form,
        "record": record,
        "gp": designations_service.gp_of(record),
        "may_oppose": record.status == RecordStatus.ACTIVE and access.may_oppose(record),
        "deletion_due": lifecycle.deletion_due(record),
        "retention_years": django_settings.DMP_CLOSED_RETENTION_YEARS,
        "deletion_delay_days": django_settings.DMP_DELETION_DELAY_DAYS,
    }
    return render(request, "dmp/settings.html", context, status=400 if form.errors else 200)


@login_required
def designations(request):
    """The patient's médecin traitant and the doctors with the same rights: propose, follow, withdraw."""
    form = DesignationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form, "rpps"):
            designations_service.designation_propose(
                actor=request.user, patient_id=acting_for(request), **form.cleaned_data
            )
            messages.success(
                request,
                _("Proposition envoyée : le médecin l'accepte dans son espace ; vous en serez informé(e)."),
            )
            return redirect("dmp:designations")
    rows = designations_service.designations_list(actor=request.user, patient_id=acting_for(request))
    query = request.GET.get("q", "").strip()
    found = blocking.professionals_search(actor=request.user, query=query) if query else []
    return render(
        request,
        "dmp/designations.html",
        {
            "form": form,
            "rows": rows,
            "query": query,
            "found": [p for p in found if p.professional.profession == "medecin"],
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def designation_remove(request, designation_id):
    with errors_as_message(request):
        designations_service.designation_remove(actor=request.user, designation_id=designation_id)
        messages.success(request, _("Désignation retirée : ce médecin n'a plus les droits du médecin traitant."))
    return redirect("dmp:designations")


STATUS_MESSAGES = {
    RecordStatus.ACTIVE: gettext_lazy(
        "Votre DMP est ouvert : il retrouve tout son contenu et il est de nouveau alimenté."
    ),
    RecordStatus.CLOSED: gettext_lazy(
        "Votre DMP est fermé : personne ne le consulte plus, vous non plus, et il n'est plus alimenté. "
        "Vous pouvez le rouvrir à tout moment pendant sa conservation."
    ),
    RecordStatus.OPPOSED: gettext_lazy(
        "Votre opposition est enregistrée : votre DMP n'est pas alimenté et personne ne le consulte."
    ),
}


@login_required
@require_POST
def settings_status(request):
    """Oppose, lift the opposition, close or reopen (each behind the page's confirmation step)."""
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Statut inconnu."))
        return redirect("dmp:settings")
    with errors_as_message(request):
        record_settings.record_settings_update(
            actor=request.user, patient_id=acting_for(request), status=form.cleaned_data["status"]
        )
        messages.success(request, STATUS_MESSAGES[form.cleaned_data["status"]])
    return redirect("dmp:settings")


@login_required
@require_POST
def settings_deletion(request):
    """The patient asks that her closed DMP be deleted (after DMP_DELETION_DELAY_DAYS; reopening cancels it)."""
    with errors_as_message(request):
        record = lifecycle.deletion_request(actor=request.user, patient_id=acting_for(request))
        messages.success(
            request,
            _("Suppression demandée : votre DMP sera supprimé le %(date)s, sauf si vous le rouvrez d'ici là.")
            % {"date": date_format(timezone.localtime(lifecycle.deletion_due(record)), "SHORT_DATE_FORMAT")},
        )
    return redirect("dmp:settings")


@login_required
def export(request):
    """Her whole DMP in one zip (documents and an index), traced; refused while closed."""
    record, buffer = lifecycle.record_export(actor=request.user, patient_id=acting_for(request))
    response = FileResponse(
        buffer, content_type="application/zip", as_attachment=True, filename=export_filename(record)
    )
    response["Cache-Control"] = "private, no-store"
    return response


def export_filename(record) -> str:
    return f"mon-dmp-{timezone.localdate():%Y-%m-%d}.zip"


@login_required
def blocked(request):
    form = RppsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_into(form, "rpps"):
            blocking.professional_block(
                actor=request.user, patient_id=acting_for(request), rpps=form.cleaned_data["rpps"]
            )
            messages.success(request, _("Ce professionnel ne voit plus rien de votre DMP."))
            return redirect("dmp:blocked")
    query = request.GET.get("q", "").strip()
    rows = blocking.blocked_list(actor=request.user, patient_id=acting_for(request))
    found = blocking.professionals_search(actor=request.user, query=query) if query else []
    return render(request, "dmp/blocked.html", {"form": form, "rows": rows, "query": query, "found": found})


@login_required
@require_POST
def unblock(request, rpps):
    with errors_as_message(request):
        blocking.professional_unblock(actor=request.user, patient_id=acting_for(request), rpps=rpps)
        messages.success(request, _("Professionnel débloqué."))
    return redirect("dmp:blocked")


@login_required
def notifications(request):
    items = notifications_service.notifications_list(actor=request.user, patient_id=acting_for(request))
    notifications_service.notifications_mark_read(actor=request.user, patient_id=acting_for(request))
    return render(request, "dmp/notifications.html", {"items": items})


@login_required
def history(request):
    page = history_service.access_history(actor=request.user, patient_id=acting_for(request), page=page_number(request))
    return render(request, "dmp/history.html", {"page": page})
