"""The DPO's pages: the console (filters, flagged traces first), reviews, exports and the integrity check.

Views stay thin: every read and every verb goes through audit/review.py, which traces it; a refusal
raised there is answered by chu_portal.refusals, like on every other page.
"""

import dataclasses

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chu_portal.api import page_params
from chu_portal.errors import InvalidInput
from chu_portal.refusals import errors_as_message

from . import exports, flags, labels, selectors
from . import review as trail_review
from .constants import FLAGGED_MODES

PAGE = 50


def _labelled(events, patients: dict | None = None):
    """Every column in words: the action, object, mode, outcome and role labels, the patient's name."""
    patients = patients or {}
    for e in events:
        e.flag_labels = [flags.label(code) for code in flags.reasons(e)]
        e.action_label = labels.action_label(e.action)
        e.object_label = labels.object_label(e.object_type)
        e.mode_label = labels.mode_label(e.mode)
        e.role_label = labels.role_label(e.actor_role) if e.actor_role else ""
        e.patient_label = patients.get(e.patient_id, "")
        # The reason a person declared (an emergency's); other traces' reasons are technical details (review page).
        e.reason_declared = e.mode in FLAGGED_MODES
    return events


def _filters_or_message(request):
    try:
        return selectors.parse_filters(request.GET, default_days=selectors.default_days()), None
    except InvalidInput as exc:
        return selectors.TraceFilter(since=timezone.now()), exc.message


@login_required
@require_GET
def console(request):
    filters, error = _filters_or_message(request)
    page, _size = page_params(request, strict=False)
    who = " ".join(request.GET.get("who", "").split())[:100]
    found = {}
    if who and not error:
        found = trail_review.patient_find(actor=request.user, query=who)
        if len(found) == 1:
            filters = dataclasses.replace(filters, patient=next(iter(found)))
        elif not found:
            messages.error(request, _("Aucun patient ne correspond à « %(q)s » (nom, IPP ou INS).") % {"q": who})
    result = trail_review.trace_console(actor=request.user, filters=filters, page=page, page_size=PAGE)
    if error:
        messages.error(request, error)
    patients = trail_review.patient_labels({e.patient_id for e in result.flagged + result.events})
    query = filters.as_query()
    base = urlencode(query)
    context = {
        "filters": filters,
        "query": query,
        "who": who,
        "found": found if len(found) > 1 else {},
        "filtered_patient": patients.get(filters.patient, "") if filters.patient else "",
        "filters_open": bool(error or [k for k in request.GET if k != "page"]),
        "flagged": _labelled(result.flagged, patients),
        "flagged_total": result.flagged_total,
        "events": _labelled(result.events, patients),
        "total": result.total,
        "page": page,
        "previous_url": f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else "",
        "next_url": f"?{urlencode({**query, 'page': page + 1})}" if page * PAGE < result.total else "",
        "csv_url": reverse("audit:export", args=["csv"]) + (f"?{base}" if base else ""),
        "fhir_url": reverse("audit:export", args=["fhir"]) + (f"?{base}" if base else ""),
        "since_value": timezone.localtime(filters.since).date().isoformat() if filters.since else "",
        "until_value": _until_value(filters),
        "actions": sorted(labels.ACTION_LABELS.items(), key=lambda item: str(item[1])),
        "modes": [(code, label) for code, label in labels.MODE_LABELS.items() if code],
        "outcomes": list(labels.OUTCOME_LABELS.items()),
        "last_verification": selectors.last_verification(),
    }
    return render(request, "audit/console.html", context)


def _until_value(filters) -> str:
    if not filters.until:
        return ""
    # "until" is exclusive: the form shows the last day it includes.
    return (timezone.localtime(filters.until) - timezone.timedelta(microseconds=1)).date().isoformat()


@login_required
@require_http_methods(["GET", "POST"])
def review(request, event_id):
    if request.method == "POST":
        # A trace that is not there is the 404 page, not a message (chu_portal.refusals).
        with errors_as_message(request) as caught:
            trail_review.flag_review(actor=request.user, event_id=event_id, comment=request.POST.get("comment", ""))
        if caught.error:
            return redirect("audit:review", event_id=event_id)
        messages.success(request, _("Revue enregistrée."))
        return redirect("audit:console")
    event = trail_review.trace_get(actor=request.user, event_id=event_id)
    _labelled([event], trail_review.patient_labels({event.patient_id}))
    return render(request, "audit/review.html", {"event": event, "review": getattr(event, "review", None)})


@login_required
@require_GET
def export(request, fmt):
    with errors_as_message(request) as caught:
        filters = selectors.parse_filters(request.GET)
        chunks = trail_review.trace_export(actor=request.user, filters=filters, fmt=fmt)
    if caught.error:
        return redirect("audit:console")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    extension = "csv" if fmt == "csv" else "json"
    response = StreamingHttpResponse(chunks, content_type=exports.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="traces-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def verify_now(request):
    result = trail_review.chain_verify(actor=request.user)
    if result.ok:
        messages.success(
            request, _("Intégrité vérifiée : %(n)s traces scellées sont intactes.") % {"n": result.checked}
        )
    else:
        messages.error(
            request,
            _("Rupture d'intégrité à la trace n° %(id)s : %(why)s.")
            % {"id": result.first_broken_id, "why": result.problem},
        )
    return redirect("audit:console")
