"""The CHU's side of a record request: the office's queue with its counts, the doctor's preview and validation, refusals.

The office's staff run the queue (state, dates, who asked) without reading the record; a doctor of the units
concerned, or the office's doctor, previews what the copy will hold (a read of the patient's hospital record in
mode `record_request`, in her access history) and validates it, which sends the copy to be made
(`record_requests.tasks.make_bundle`) once the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import Conflict, Decision, InvalidInput
from records.constants import ReportStatus
from records.models import HandoverNote, Report, Stay

from .. import access
from ..constants import OPEN_STATUSES, RecordRequestAction, RefusalReason, RequestStatus
from ..deadlines import is_overdue
from ..models import RecordRequest
from . import notify
from .requests import find_request

PAGE_SIZE = 50
REFUSAL_NOTE_MAX = 2000
# A filter of the queue besides the statuses: the requests still to answer.
OPEN = "open"


@dataclass
class QueuePage:
    items: list[RecordRequest]
    total: int
    counts: dict
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def queue_counts(queryset, today) -> dict:
    """The dashboard's counts over a queue, in one query: each open status, the overdue, those due today."""
    is_open = Q(status__in=OPEN_STATUSES)
    return queryset.aggregate(
        received=Count("pk", filter=Q(status=RequestStatus.RECEIVED)),
        validated=Count("pk", filter=Q(status=RequestStatus.VALIDATED)),
        ready=Count("pk", filter=Q(status=RequestStatus.READY)),
        overdue=Count("pk", filter=is_open & Q(due_on__lt=today)),
        due_today=Count("pk", filter=is_open & Q(due_on=today)),
    )


def office_queue_page(
    *, actor, status: str | None = None, overdue: bool = False, page: int = 1, page_size: int = PAGE_SIZE, now=None
) -> QueuePage:
    """The queue the office (all requests) or a doctor (those he may validate) works on, soonest due first, with
    the counts of the dashboard and each item's `overdue` flag. One trace naming the requests shown; a bounded
    number of queries whatever its length."""
    decision = access.decide_queue(actor)
    if not decision.allowed:
        audit.refuse(actor=actor, action=Action.LIST, decision=decision, object_type=ObjectType.RECORD_REQUEST)
    if status and status != OPEN and status not in RequestStatus.values:
        raise InvalidInput(_("Statut inconnu."), fields={"status": _("Statut inconnu.")})
    today = timezone.localdate(now) if now else timezone.localdate()
    scope = access.office_queue(actor)
    queryset = scope
    if status == OPEN:
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    elif status:
        queryset = queryset.filter(status=status)
    if overdue:
        queryset = queryset.filter(status__in=OPEN_STATUSES, due_on__lt=today)
    queryset = (
        queryset.select_related(
            "patient",
            "requested_by__professional_profile",
            "named_doctor__professional_profile",
            "validated_by__professional_profile",
            "bundle",
        )
        .prefetch_related("stays__unit")
        .order_by("due_on", "received_at", "id")
    )
    page = max(int(page), 1)
    start = (page - 1) * page_size

    def load():
        items = list(queryset[start : start + page_size])
        return items, queryset.count(), queue_counts(scope, today)

    items, total, counts = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        object_type=ObjectType.RECORD_REQUEST,
        load=load,
        shown=lambda result: [r.public_id for r in result[0]],
    )
    for item in items:
        item.overdue = is_overdue(item.due_on, item.status not in OPEN_STATUSES, now)
    return QueuePage(items, total, counts, page, page_size)


@dataclass
class Preview:
    """What the copy will hold, for the validating doctor: the requested stays with their diagnoses, procedures,
    signed reports (never drafts) and the number of handover notes she may add."""

    request: RecordRequest
    stays: list[Stay]
    handover_notes: int = 0
    report_ids: list = field(default_factory=list)


def _load(request_id) -> RecordRequest:
    return find_request(request_id)


def _refused(actor, action, decision: Decision, request: RecordRequest):
    audit.refuse(
        actor=actor,
        action=action,
        decision=decision,
        patient_id=request.patient.public_id,
        object_type=ObjectType.RECORD_REQUEST,
        object_id=request.public_id,
    )


def request_preview(*, actor, request_id) -> Preview:
    """The validating doctor's preview: a read of the patient's hospital record (the requested stays) in mode
    `record_request`, traced as such, in one transaction with what is shown."""
    request = _load(request_id)
    decision = access.decide_validate(actor, request)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.READ,
            decision=decision,
            patient_id=request.patient.public_id,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=request.patient.public_id,
        )
    signed = Report.objects.filter(status=ReportStatus.SIGNED).order_by("signed_at", "id")
    with transaction.atomic():
        stays = list(
            request.stays.select_related("unit")
            .prefetch_related("diagnoses", "procedures", Prefetch("reports", queryset=signed))
            .order_by("admitted_at", "id")
        )
        notes = HandoverNote.objects.filter(stay__in=[s.pk for s in stays]).count()
        preview = Preview(request=request, stays=stays, handover_notes=notes)
        preview.report_ids = [r.public_id for s in stays for r in s.reports.all()]
        audit.record(
            actor=actor,
            action=Action.READ,
            mode=decision.mode,
            patient_id=request.patient.public_id,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=request.patient.public_id,
            object_ids=[s.public_id for s in stays] + preview.report_ids,
        )
    return preview


def enqueue_bundle(request_pk: int) -> None:
    """Send the message that makes the copy (`record_requests.tasks.make_bundle`); a broker outage is logged, never
    raised (the sweep sends it again)."""
    from .. import tasks

    tasks.enqueue(request_pk)


def _locked(request: RecordRequest) -> RecordRequest:
    """The request's row locked for the change (two doctors at once: the second gets a conflict)."""
    locked = RecordRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != RequestStatus.RECEIVED:
        raise Conflict(_("Cette demande a déjà reçu une réponse."))
    return locked


def request_validate(*, actor, request_id, include_handover_notes: bool = False) -> RecordRequest:
    """A doctor of the units concerned (or the office's doctor) validates what the copy holds; traced, told to the
    requester, and the copy sent to be made once the transaction commits."""
    request = _load(request_id)
    decision = access.decide_validate(actor, request)
    if not decision.allowed:
        _refused(actor, RecordRequestAction.VALIDATE, decision, request)
    with transaction.atomic():
        locked = _locked(request)
        now = timezone.now()
        for target in (request, locked):
            target.status = RequestStatus.VALIDATED
            target.validated_by = actor
            target.validated_at = now
            target.include_handover_notes = bool(include_handover_notes)
        locked.save(update_fields=["status", "validated_by", "validated_at", "include_handover_notes"])
        audit.record(
            actor=actor,
            action=RecordRequestAction.VALIDATE,
            mode=decision.mode,
            patient_id=request.patient.public_id,
            object_type=ObjectType.RECORD_REQUEST,
            object_id=request.public_id,
        )
        notify.tell(request, notify.VALIDATED, actor=actor)
        pk = request.pk
        transaction.on_commit(lambda: enqueue_bundle(pk))
    return request


def request_refuse(*, actor, request_id, reason: str, note: str = "") -> RecordRequest:
    """A refusal on a ground the law allows (RefusalReason), with a note for the requester; traced and told."""
    request = _load(request_id)
    decision = access.decide_refuse(actor, request)
    if not decision.allowed:
        _refused(actor, RecordRequestAction.REFUSE, decision, request)
    if reason not in RefusalReason.values:
        raise InvalidInput(
            _("Choisissez l'un des motifs de refus prévus par la loi."), fields={"reason": _("Motif inconnu.")}
        )
    note = (note or "").strip()
    if len(note) > REFUSAL_NOTE_MAX:
        message = _("Précision trop longue (%(n)s caractères au plus).") % {"n": REFUSAL_NOTE_MAX}
        raise InvalidInput(message, fields={"note": message})
    with transaction.atomic():
        locked = _locked(request)
        now = timezone.now()
        for target in (request, locked):
            target.status = RequestStatus.REFUSED
            target.refusal_reason = reason
            target.refusal_note = note
            target.refused_by = actor
            target.refused_at = now
        locked.save(update_fields=["status", "refusal_reason", "refusal_note", "refused_by", "refused_at"])
        audit.record(
            actor=actor,
            action=RecordRequestAction.REFUSE,
            mode=decision.mode,
            patient_id=request.patient.public_id,
            object_type=ObjectType.RECORD_REQUEST,
            object_id=request.public_id,
            reason=reason,
        )
        notify.tell(request, notify.REFUSED, actor=actor)
    return request
