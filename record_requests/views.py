"""Pages of the record request: the patient's request and its follow-up, the records office, the doctor's inbox.

Thin: every decision and every trace is the services' (record_requests/services/); a page reads the form,
calls one service and renders what it returns.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chu_portal.api import page_params
from chu_portal.refusals import errors_as_message, errors_into
from dmp.acting import acting_for
from records.models import Patient

from . import access, deadlines
from .constants import OPEN_STATUSES, Delivery, RequestStatus
from .forms import OVERDUE, SOME, HeirForm, QueueFilterForm, RefuseForm, RequestForm, ValidateForm
from .services import delivery as delivery_service
from .services import office as office_service
from .services import requests as requests_service

# The services' field names -> the forms' fields, for their errors.
REQUEST_FIELDS = {"named_doctor_rpps": "doctor_rpps", "stays": "stays", "delivery": "delivery"}
HEIR_FIELDS = {
    **REQUEST_FIELDS,
    "patient": "ipp",
    "heir_name": "heir_name",
    "heir_relation": "heir_relation",
    "heir_reason": "heir_reason",
    "death_date": "death_date",
    "received_on": "received_on",
}

# While the copy is being made, the request's page reloads itself this often (a <meta> refresh: no script).
PROGRESS_REFRESH_SECONDS = 5


def _page(request) -> int:
    return page_params(request, strict=False)[0]


def _pdf(handle, filename: str) -> FileResponse:
    response = FileResponse(handle, content_type="application/pdf", as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    return response


# --- The patient (or her representative) -----------------------------------------------------


@login_required
def mine(request):
    """Her requests (or those of the person she acts for), newest first."""
    page = requests_service.requests_mine(actor=request.user, patient_id=acting_for(request), page=_page(request))
    return render(request, "record_requests/mine.html", {"page": page})


@login_required
def ask(request):
    """The request: what she will get, when, what the law says; all stays or some; download or a named doctor."""
    patient, stays = requests_service.requestable_stays_for(actor=request.user, patient_id=acting_for(request))
    form = RequestForm(request.POST or None, stays=stays)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with errors_into(form, fields=REQUEST_FIELDS):
            made = requests_service.request_create(
                actor=request.user,
                patient_id=acting_for(request),
                stays=data["stays"] if data["scope"] == SOME else None,
                delivery=data["delivery"],
                named_doctor_rpps=data["doctor_rpps"] or None,
            )
            messages.success(
                request,
                _(
                    "Votre demande est enregistrée. La copie vous sera communiquée au plus tard le %(due)s, "
                    "et pas avant le %(earliest)s (délai de réflexion de 48 heures)."
                )
                % {
                    "due": date_format(made.due_on, "DATE_FORMAT"),
                    "earliest": date_format(timezone.localtime(made.earliest_release_at), "DATETIME_FORMAT"),
                },
            )
            return redirect("record_requests:detail", record_request_id=made.public_id)
    context = {"form": form, "patient": patient, "stays": stays, "acting": acting_for(request) is not None}
    return render(request, "record_requests/ask.html", context, status=400 if form.errors else 200)


@login_required
def detail(request, record_request_id):
    """One of her requests: its state, dates, the copy's progress and, once released, its download."""
    record_request, _decision = requests_service.request_get(actor=request.user, request_id=record_request_id)
    bundle = _bundle_of(record_request)
    failed = bundle is not None and bundle.failed_at is not None and bundle.made_at is None
    preparing = (
        record_request.status == RequestStatus.VALIDATED and (bundle is None or bundle.made_at is None) and not failed
    )
    context = {
        "rr": record_request,
        "bundle": bundle,
        "preparing": preparing,
        "failed": failed,
        "refresh_seconds": PROGRESS_REFRESH_SECONDS,
        "steps": _steps(record_request),
        "downloadable": (
            record_request.status == RequestStatus.AVAILABLE
            and record_request.delivery == Delivery.DOWNLOAD
            and bundle is not None
            and bundle.deleted_at is None
        ),
        "in_reflection": record_request.status == RequestStatus.READY,
    }
    return render(request, "record_requests/detail.html", context)


@login_required
def download(request, record_request_id):
    """The copy itself, to its one reader, traced."""
    bundle, handle = delivery_service.bundle_download(actor=request.user, request_id=record_request_id)
    return _pdf(handle, _filename(bundle))


def _bundle_of(record_request):
    """The request's copy, None before the validation made one."""
    try:
        return record_request.bundle
    except ObjectDoesNotExist:
        return None


def _filename(bundle) -> str:
    made = timezone.localtime(bundle.made_at) if bundle.made_at else timezone.localtime()
    return f"copie-dossier-chu-{made:%Y-%m-%d}.pdf"


def _steps(record_request) -> list[dict]:
    """The request's path, for the ordered list of steps (the current one marked in words, not by colour)."""
    if record_request.status == RequestStatus.REFUSED:
        order = [RequestStatus.RECEIVED, RequestStatus.REFUSED]
    else:
        last = RequestStatus.SENT if record_request.delivery == Delivery.DOCTOR else RequestStatus.AVAILABLE
        order = [RequestStatus.RECEIVED, RequestStatus.VALIDATED, RequestStatus.READY, last]
        if record_request.status == RequestStatus.EXPIRED:
            order.append(RequestStatus.EXPIRED)
    current = order.index(record_request.status) if record_request.status in order else 0
    return [
        {"label": RequestStatus(code).label, "done": index < current, "current": index == current}
        for index, code in enumerate(order)
    ]


# --- The medical records office (/archives/) ---------------------------------------------------


@login_required
def queue(request):
    """The office's queue with its dashboard: received, validated, ready, overdue, due today."""
    filters = QueueFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    status = chosen.get("status") or None
    page = office_service.office_queue_page(
        actor=request.user,
        status=None if status == OVERDUE else status,
        overdue=status == OVERDUE,
        page=_page(request),
    )
    today = timezone.localdate()
    for row in page.items:
        _mark_deadline(row, today)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "counts": page.counts,
        "query": query.urlencode(),
        # Heirs' paper files are the office's; a doctor of a unit concerned only validates.
        "office": access.is_office_staff(request.user),
    }
    return render(request, "record_requests/queue.html", context)


def _mark_deadline(record_request, today) -> None:
    """Overdue (past its due day, unanswered) or due today: said in words on the page, never by colour alone."""
    still_open = record_request.status in OPEN_STATUSES
    record_request.overdue = deadlines.is_overdue(record_request.due_on, answered=not still_open)
    record_request.due_today = still_open and record_request.due_on == today


@login_required
def office_detail(request, record_request_id):
    """A request as the office sees it: who asks, for what, its deadlines and state; refusing on the office's grounds."""
    record_request, _decision = requests_service.request_get(actor=request.user, request_id=record_request_id)
    _mark_deadline(record_request, timezone.localdate())
    context = {
        "rr": record_request,
        "overdue": record_request.overdue,
        "refuse_form": RefuseForm(),
        "open": record_request.status in OPEN_STATUSES,
        "received": record_request.status == RequestStatus.RECEIVED,
        "steps": _steps(record_request),
    }
    return render(request, "record_requests/office_detail.html", context)


@login_required
def validate(request, record_request_id):
    """The doctor's validation: a preview of what the copy holds, the handover notes in or out, validate or refuse."""
    preview = office_service.request_preview(actor=request.user, request_id=record_request_id)
    form = ValidateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with errors_as_message(request) as caught:
            office_service.request_validate(
                actor=request.user,
                request_id=record_request_id,
                include_handover_notes=form.cleaned_data["include_handover_notes"],
            )
        if not caught.error:
            messages.success(request, _("Demande validée : la copie est en préparation."))
            return redirect("record_requests:office_detail", record_request_id=record_request_id)
    context = {"preview": preview, "rr": preview.request, "form": form, "refuse_form": RefuseForm()}
    return render(request, "record_requests/validate.html", context)


@login_required
@require_POST
def refuse(request, record_request_id):
    form = RefuseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez le motif du refus parmi ceux que la loi prévoit."))
        return redirect("record_requests:office_detail", record_request_id=record_request_id)
    with errors_as_message(request) as caught:
        office_service.request_refuse(
            actor=request.user,
            request_id=record_request_id,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    if not caught.error:
        messages.success(request, _("Demande refusée : le demandeur en est informé, avec le motif."))
    return redirect("record_requests:office_detail", record_request_id=record_request_id)


@login_required
def heir_new(request):
    """An heir's request, recorded from the paper file (never opened online); the copy goes to a doctor he names."""
    if not access.decide_heir_request(request.user).allowed:
        _refuse_heir_request(request.user)
    form = HeirForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient_id = _patient_by_ipp(data["ipp"])
        if patient_id is None:
            form.add_error("ipp", _("Aucun patient du CHU ne porte cet IPP."))
        else:
            with errors_into(form, fields=HEIR_FIELDS):
                made = requests_service.heir_request_record(
                    actor=request.user,
                    patient_id=patient_id,
                    heir_name=data["heir_name"],
                    heir_relation=data["heir_relation"],
                    heir_reason=data["heir_reason"],
                    death_date=data["death_date"],
                    received_on=data["received_on"],
                    named_doctor_rpps=data["doctor_rpps"],
                )
                messages.success(
                    request,
                    _("Demande de l'ayant droit enregistrée : à communiquer au plus tard le %(due)s.")
                    % {"due": date_format(made.due_on, "DATE_FORMAT")},
                )
                return redirect("record_requests:office_detail", record_request_id=made.public_id)
    return render(request, "record_requests/heir_form.html", {"form": form}, status=400 if form.errors else 200)


def _refuse_heir_request(user) -> None:
    """Not the office: the service refuses and traces it before anything is looked up (raises AccessDenied)."""
    requests_service.heir_request_record(
        actor=user,
        patient_id=None,
        heir_name="",
        heir_reason="",
        death_date=None,
        received_on=None,
        named_doctor_rpps="",
    )


def _patient_by_ipp(ipp: str):
    """The public id of the patient the paper file names by his IPP (an identifier, no medical data), or None.

    Only once the office's right to record heirs' requests is decided; the service traces the request."""
    return Patient.objects.filter(ipp=ipp.strip()).values_list("public_id", flat=True).first()


# --- The doctor's secure inbox (/pro/messagerie/) ---------------------------------------------


@login_required
def inbox(request):
    page = delivery_service.inbox_page(actor=request.user, page=_page(request))
    return render(request, "record_requests/inbox.html", {"page": page})


@login_required
def message(request, message_id):
    secure_message = delivery_service.message_open(actor=request.user, message_id=message_id)
    return render(request, "record_requests/message.html", {"message_": secure_message})


@login_required
def message_download(request, message_id):
    bundle, handle = delivery_service.message_bundle_download(actor=request.user, message_id=message_id)
    return _pdf(handle, _filename(bundle))
