"""Pages of consent and emergency access: the professional's "request access", the patient's requests and grants."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import throttling
from accounts.models import PROFESSIONAL_ROLES
from chu_portal.errors import InvalidInput
from chu_portal.refusals import errors_as_message, errors_into

from ..acting import acting_for
from ..consent import blocking, requests
from ..consent import emergency as consent_emergency
from ..consent import grants as consent_grants
from ..constants import ConsentStatus
from ..forms import ConsentRequestForm, EmergencyForm, InPersonConsentForm, InPersonDesignationForm
from ..services import designations
from .common import page_number

# --- The professional -------------------------------------------------------------------------


@login_required
def access_request(request, patient_id):
    """A professional's "request access" page: status of their requests, and the three ways in."""
    status = requests.access_status(actor=request.user, patient_id=patient_id)
    regulator = status.is_regulator
    posted = request.POST.get("form") if request.method == "POST" else None
    forms_ = {
        "request": ConsentRequestForm(request.POST if posted == "request" else None, prefix="request"),
        "in_person": InPersonConsentForm(request.POST if posted == "in_person" else None, prefix="inperson"),
        "emergency": EmergencyForm(
            request.POST if posted == "emergency" else None, prefix="emergency", regulator=regulator
        ),
        "designation": InPersonDesignationForm(request.POST if posted == "designation" else None, prefix="designation"),
    }
    if posted == "request":
        # Every request counts, valid or not (429 page past THROTTLE_RATES["consent_request"]).
        throttling.limit_request(throttling.ConsentRequestThrottle, request)
    if posted in forms_ and forms_[posted].is_valid():
        data = forms_[posted].cleaned_data
        # A refusal here (not a 404) is the answer to this form: it is shown in it.
        with errors_into(forms_[posted], refusals=True):
            if posted == "request":
                requests.consent_request_create(
                    actor=request.user,
                    record=status.record,
                    purpose=data["purpose"],
                    duration_days=data["duration_days"],
                )
                done = _("Demande envoyée : le patient la verra dans son espace et pourra l'accepter ou la refuser.")
            elif posted == "designation":
                designations.designation_in_person(
                    actor=request.user,
                    record=status.record,
                    kind=data["kind"],
                    patient_present=data["patient_present"],
                )
                done = _(
                    "Désignation enregistrée : vous avez les droits du médecin traitant ; le patient en est informé."
                )
            elif posted == "in_person":
                consent_grants.consent_in_person_record(
                    actor=request.user,
                    record=status.record,
                    purpose=data["purpose"],
                    duration_days=data["duration_days"],
                    patient_present=data["patient_present"],
                )
                done = _("Consentement enregistré ; le patient en est informé et peut le révoquer à tout moment.")
            else:
                emergency = consent_emergency.emergency_access_open(
                    actor=request.user, record=status.record, reason=data["reason"], mode=data["mode"]
                )
                done = _(
                    "Accès d'urgence ouvert jusqu'à %(t)s. Le patient est prévenu ; l'accès est signalé au "
                    "délégué à la protection des données."
                ) % {"t": date_format(timezone.localtime(emergency.expires), "TIME_FORMAT")}
            messages.success(request, done)
            if posted == "request":
                return redirect("dmp:access_request", patient_id=patient_id)
            return redirect("dmp:patient_dmp", patient_id=patient_id)
    return render(
        request,
        "dmp/access_request.html",
        {
            "status": status,
            "patient": status.record.patient,
            "forms": forms_,
            "max_days": settings.DMP_GRANT_MAX_DAYS,
            "emergency_hours": settings.DMP_EMERGENCY_ACCESS_HOURS,
        },
        status=400 if posted else 200,
    )


@login_required
def pro_requests(request):
    """The professional's consent requests, all patients, with their status."""
    if request.user.role not in PROFESSIONAL_ROLES:
        return redirect("accounts:home")
    items, total = requests.consent_requests_list(
        actor=request.user, patient_id=acting_for(request), page=page_number(request)
    )
    requests.consent_answers_seen(actor=request.user)
    return render(request, "dmp/pro_requests.html", {"items": items, "total": total})


# --- The patient ------------------------------------------------------------------------------


SHORTER_DAYS = (180, 90, 30, 7, 1)


@login_required
def consents(request):
    """The patient's requests to answer, authorisations given (revocable), and past answers."""
    items, _total = requests.consent_requests_list(actor=request.user, patient_id=acting_for(request), page_size=100)
    grants = consent_grants.grants_list(actor=request.user, patient_id=acting_for(request))
    for item in items:
        # The patient may approve for less than asked (never more).
        item.shorter_durations = [item.duration_days] + [d for d in SHORTER_DAYS if d < item.duration_days]
    return render(
        request,
        "dmp/consents.html",
        {
            "pending": [r for r in items if r.status == ConsentStatus.PENDING],
            "answered": [r for r in items if r.status != ConsentStatus.PENDING],
            "grants": grants,
        },
    )


def _consent_action(request, verb, done):
    with errors_as_message(request):
        verb()
        messages.success(request, done)
    return redirect("dmp:consents")


@login_required
@require_POST
def consent_approve(request, request_id):
    return _consent_action(
        request,
        lambda: requests.consent_request_approve(
            actor=request.user, request_id=request_id, duration_days=_shortened_days(request)
        ),
        _("Autorisation accordée. Vous pouvez la révoquer à tout moment."),
    )


def _shortened_days(request) -> int | None:
    """The duration the patient chose when approving (None: the one asked); not a number: an error, said."""
    raw = (request.POST.get("duration_days") or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        message = _("Choisissez une durée en jours.")
        raise InvalidInput(message, fields={"duration_days": message}) from None


@login_required
@require_POST
def consent_deny(request, request_id):
    return _consent_action(
        request,
        lambda: requests.consent_request_deny(actor=request.user, request_id=request_id),
        _("Demande refusée : ce professionnel n'a pas accès à votre DMP."),
    )


@login_required
@require_POST
def grant_revoke(request, grant_id):
    return _consent_action(
        request,
        lambda: consent_grants.grant_revoke(actor=request.user, grant_id=grant_id),
        _("Autorisation révoquée : ce professionnel n'a plus accès à votre DMP."),
    )


@login_required
@require_POST
def emergency_alerts_seen(request):
    consent_emergency.emergency_alerts_acknowledge(actor=request.user)
    return redirect("dmp:history")


AUTHORISE_DAYS = (7, 30, 90, 180, 365)


@login_required
def authorise(request):
    """The patient authorises a professional herself: find him by name, profession or RPPS, choose how long."""
    if request.method == "POST":
        with errors_as_message(request):
            grant = consent_grants.patient_authorise(
                actor=request.user,
                rpps=request.POST.get("rpps", ""),
                duration_days=request.POST.get("duration_days") or None,
                purpose=request.POST.get("purpose", ""),
                patient_id=acting_for(request),
            )
            messages.success(
                request,
                _(
                    "%(who)s peut consulter votre DMP jusqu'au %(date)s. Vous pouvez retirer cette autorisation à tout moment."
                )
                % {
                    "who": grant.professional.display_name,
                    "date": date_format(timezone.localtime(grant.expires), "SHORT_DATE_FORMAT"),
                },
            )
            return redirect("dmp:consents")
        return redirect(request.get_full_path())
    query = " ".join(request.GET.get("q", "").split())[:100]
    found = blocking.professionals_search(actor=request.user, query=query) if query else []
    days = [d for d in AUTHORISE_DAYS if d <= settings.DMP_GRANT_MAX_DAYS]
    return render(
        request,
        "dmp/authorise.html",
        {"query": query, "found": found, "durations": days, "default_days": settings.DMP_GRANT_DEFAULT_DAYS},
    )
