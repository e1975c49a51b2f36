"""Helpers of the copy's tests (test_bundle.py, test_tasks.py): a validated request, the PDF's text through pikepdf."""

from __future__ import annotations

import datetime
import io
import os

import pikepdf
from django.core.files.storage import default_storage
from django.utils import timezone

from record_requests import deadlines
from record_requests.constants import Delivery, RequesterKind, RequestStatus
from record_requests.models import RecordRequest


def validated_request(
    patient,
    stays,
    *,
    requested_by=None,
    validated_by=None,
    kind=RequesterKind.PATIENT,
    delivery=Delivery.DOWNLOAD,
    named_doctor=None,
    representation=None,
    include_handover_notes=False,
    received_at=None,
    **fields,
) -> RecordRequest:
    """A request received `received_at` (now by default) for `stays`, validated now, its deadlines computed."""
    received_at = received_at or timezone.now()
    oldest = min((stay.admitted_at for stay in stays), default=None)
    computed = deadlines.compute(received_at, oldest)
    request = RecordRequest.objects.create(
        patient=patient,
        requester_kind=kind,
        requested_by=requested_by or patient.account,
        representation=representation,
        all_stays=False,
        delivery=delivery,
        named_doctor=named_doctor,
        received_at=received_at,
        oldest_information_at=oldest,
        long_delay=computed.long_delay,
        earliest_release_at=computed.earliest_release_at,
        due_on=computed.due_on,
        status=RequestStatus.VALIDATED,
        validated_by=validated_by,
        validated_at=timezone.now() if validated_by else None,
        include_handover_notes=include_handover_notes,
        **fields,
    )
    request.stays.set(stays)
    return request


def _strings(operands) -> list[str]:
    found = []
    for operand in operands:
        if isinstance(operand, pikepdf.String):
            found.append(bytes(operand).decode("cp1252"))
        elif isinstance(operand, pikepdf.Array):
            found.extend(_strings(list(operand)))
    return found


def pdf_pages(source) -> list[str]:
    """The text of each page of a PDF (a path, bytes, or a stored name), as its text-showing operators write it."""
    if isinstance(source, str) and not os.path.isabs(source):
        source = default_storage.path(source)
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    pages = []
    with pikepdf.open(source) as pdf:
        for page in pdf.pages:
            parts = []
            for instruction in pikepdf.parse_content_stream(page):
                if str(instruction.operator) in ("Tj", "TJ", "'", '"'):
                    parts.extend(_strings(instruction.operands))
            pages.append(" ".join(" ".join(parts).split()))
    return pages


def pdf_text(source) -> str:
    return "\n".join(pdf_pages(source))


def later(hours: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=hours)
