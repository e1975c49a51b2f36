"""DMP pages of documents (patient and professional): lists, a document, its file, masking, deletion, upload."""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accounts.models import Role
from audit import labels
from chu_portal.refusals import errors_as_message, errors_into, wants_json
from records import access as records_access

from .. import access, files
from ..acting import acting_for, choose, has_own_record, represented
from ..constants import RecordStatus
from ..forms import FilterForm, UploadForm, named_errors
from ..services import documents as documents_service
from ..services import lifecycle, records
from .common import page_number


def _group(documents, *, own: bool = True):
    """Hospital / other professionals / the patient's own uploads ("Mes documents" to her, her name's to others)."""
    groups = {"chu": [], "professional": [], "patient": []}
    for document in documents:
        groups[document.source].append(document)
    return [
        ("hospital", _("Documents de l'hôpital"), groups["chu"]),
        ("professionals", _("Documents des autres professionnels"), groups["professional"]),
        ("mine", _("Mes documents") if own else _("Documents ajoutés par le patient"), groups["patient"]),
    ]


def _list_page(request, *, patient_id=None, record=None, template: str):
    form = FilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = documents_service.documents_list(
        actor=request.user,
        patient_id=patient_id,
        record=record,
        type_code=filters.get("type_code") or None,
        source=filters.get("source") or None,
        since=filters.get("since"),
        until=filters.get("until"),
        page=page_number(request),
        page_size=100,
    )
    return render(
        request,
        template,
        {
            "page": page,
            "record": page.record,
            "patient": page.record.patient,
            "groups": _group(page.documents, own=page.decision.mode in access.PATIENT_MODES),
            "mode_label": labels.mode_label(page.decision.mode),
            "form": form,
        },
    )


@login_required
def home(request):
    """The patient's DMP home: documents grouped hospital / other professionals / mine."""
    if request.user.role != Role.PATIENT:
        return redirect("dmp:pro_home")
    acting = acting_for(request)
    if acting is not None:  # a representative acting for a person she represents (the banner says whose)
        return _list_page(request, patient_id=acting, template="dmp/home.html")
    if not has_own_record(request.user) and represented(request.user):
        return redirect("dmp:acting_choose")
    record = records.own_record(request.user)
    if record.status == RecordStatus.CLOSED:
        # Closed: unreadable to her too; the page says so and offers to reopen it (no document is read).
        context = {
            "record": record,
            "deletion_due": lifecycle.deletion_due(record),
            "deletion_delay_days": settings.DMP_DELETION_DELAY_DAYS,
        }
        return render(request, "dmp/closed.html", context)
    return _list_page(request, record=record, template="dmp/home.html")


@login_required
def acting_choose(request):
    """A representative chooses whose space she opens: her own, or that of each person she represents."""
    if request.user.role != Role.PATIENT:
        return redirect("dmp:pro_home")
    if request.method == "POST":
        chosen = choose(request, request.POST.get("patient", ""))
        if chosen is not None:
            messages.success(request, _("Vous agissez désormais pour %(name)s.") % {"name": chosen.display_name})
        else:
            messages.success(request, _("Vous êtes dans votre propre espace."))
        return redirect("dmp:home")
    return render(
        request,
        "dmp/acting_choose.html",
        {
            "people": represented(request.user),
            "own": has_own_record(request.user),
            "acting": acting_for(request),
        },
    )


@login_required
def patient_dmp(request, patient_id):
    """A patient's DMP for a professional, as dmp/access.py allows."""
    return _list_page(request, patient_id=patient_id, template="dmp/patient_dmp.html")


@login_required
def document_detail(request, document_id):
    document, decision = documents_service.document_open(actor=request.user, document_id=document_id)
    return render(
        request,
        "dmp/document.html",
        {
            "document": document,
            "decision": decision,
            "is_patient": decision.mode in access.PATIENT_MODES,
            "who_sees": access.who_still_sees(document),
            "may_withdraw": decision.mode not in access.PATIENT_MODES
            and access.decide_withdraw(request.user, document).allowed,
            # A held report: only those allowed to announce it see the button (access.decide_release).
            "may_release": document.held and access.decide_release(request.user, document).allowed,
        },
    )


@login_required
@xframe_options_sameorigin
# The PDF viewer frames this view: the portal's own pages may frame it, no one else (the rest stays 'none').
@csp_replace({"frame-ancestors": [SELF]})
def document_content(request, document_id):
    download = request.GET.get("download") == "1"
    document, handle = documents_service.document_content(
        actor=request.user, document_id=document_id, download=download
    )
    response = FileResponse(
        handle,
        content_type=document.mime_type,
        as_attachment=download,
        filename=files.name_for_type(document.original_filename or "document", document.mime_type),
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _document_action(request, document_id, verb, done_message):
    with errors_as_message(request):
        document = verb(actor=request.user, document_id=document_id)
        messages.success(request, done_message(document))
    return redirect("dmp:document", document_id=document_id)


@login_required
@require_POST
def document_mask(request, document_id):
    return _document_action(
        request,
        document_id,
        documents_service.document_mask,
        lambda d: _("Document masqué. ") + access.who_still_sees(d),
    )


@login_required
@require_POST
def document_unmask(request, document_id):
    return _document_action(
        request,
        document_id,
        documents_service.document_unmask,
        lambda d: _("Document démasqué. ") + access.who_still_sees(d),
    )


@login_required
@require_POST
def document_make_visible(request, document_id):
    """Release a document to the patient; `back` says which page asked (the record page, the held reports' list)."""
    back = request.POST.get("back", "")
    if back not in ("record", "held"):
        return _document_action(
            request,
            document_id,
            documents_service.document_make_visible,
            lambda d: _("Le document est désormais visible du patient."),
        )
    document = None
    with errors_as_message(request):
        document = documents_service.document_make_visible(actor=request.user, document_id=document_id)
        messages.success(request, _("Le compte rendu est désormais visible du patient, qui en est averti."))
    if back == "record" and document is not None:
        return redirect("records:patient_record", patient_id=document.record.patient.public_id)
    return redirect("dmp:held_reports")  # after a refusal too: nothing about the document is revealed


@login_required
@require_POST
def document_delete(request, document_id):
    documents_service.document_delete(actor=request.user, document_id=document_id)
    messages.success(request, _("Document supprimé."))
    return redirect("dmp:home")


def _upload(request, *, patient_id=None):
    is_patient = request.user.role == Role.PATIENT
    script = wants_json(request)
    acting = acting_for(request) if is_patient else None
    if is_patient:
        record = records.record_by_patient_id(acting) if acting else records.own_record(request.user)
    else:
        record = records.record_by_patient_id(patient_id)
    posted = request.method == "POST"  # an empty post is a bound form too: its errors are said
    form = UploadForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        patient_upload=is_patient,
        minor=not is_patient and records_access.is_minor(record.patient),
    )
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            # A script's request lets every error through: the refusal middleware answers it in JSON.
            with errors_into(form, fields={"file": "file"}, catch=not script):
                document = documents_service.document_upload(
                    actor=request.user,
                    record=record,
                    uploaded=data["file"],
                    title=data["title"],
                    type_code=data["type_code"],
                    event_date=data.get("event_date"),
                    visible_to_patient=data.get("visible_to_patient", True),
                    secret_from_representatives=data.get("secret_from_representatives", False),
                )
                messages.success(request, _("Document « %(t)s » ajouté.") % {"t": document.title})
                target = (
                    reverse("dmp:home")
                    if is_patient
                    else reverse("dmp:patient_dmp", kwargs={"patient_id": record.patient.public_id})
                )
                if script:
                    return JsonResponse({"redirect": target}, status=201)
                return redirect(target)
        elif script:
            fields = {name: " ".join(str(e) for e in errs) for name, errs in form.errors.items()}
            return JsonResponse({"detail": named_errors(form), "code": "invalid", "fields": fields}, status=400)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "dmp/upload.html",
        {
            "form": form,
            "patient": record.patient,
            "is_patient": is_patient,
            "max_mb": 20,
            "error_summary": named_errors(form) if form.is_bound else "",
        },
        status=status,
    )


@login_required
def upload_own(request):
    return _upload(request)


@login_required
def upload_for_patient(request, patient_id):
    return _upload(request, patient_id=patient_id)
