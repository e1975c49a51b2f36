"""FHIR reads: each decides (fhir/access.py composing records, dmp and audit rules) and traces like the REST API.

Documents and traces go through dmp/services/documents.py and audit/services.py themselves, so their decisions
and traces are exactly those of /api/v1/.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils.translation import gettext as _

from audit import review as audit_review
from audit import services as audit
from audit.constants import Action, ObjectType
from audit.models import AuditEvent
from audit.selectors import parse_filters
from chu_portal.errors import Decision
from chu_portal.ids import get_by_public_id_or_404
from dmp.models import AccessGrant, SharedDocument, SharedRecord
from dmp.services import documents as documents_service
from dmp.services import records
from records.models import Patient, Report

from . import access


def _patient(patient_id) -> Patient:
    return get_by_public_id_or_404(Patient.objects, patient_id, _("Patient introuvable."))


def _refuse(actor, action, decision: Decision, *, patient: Patient | None, object_type: str, object_id=None):
    audit.refuse(
        actor=actor,
        action=action,
        decision=decision,
        patient_id=patient.public_id if patient else None,
        object_type=object_type,
        object_id=object_id,
    )


@dataclass
class PatientView:
    patient: Patient
    record: SharedRecord | None
    decision: Decision | None = None  # set once decided (and traced)


def patient_read(*, actor, patient_id) -> PatientView:
    """A patient's identity (and médecin traitant) as FHIR Patient; read, decided and traced in one transaction."""

    def load() -> PatientView:
        patient = _patient(patient_id)
        record = SharedRecord.objects.select_related("patient").filter(patient=patient).first()
        return PatientView(patient, record)

    view, decision = audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.PATIENT_IDENTITY,
        load=load,
        decide=lambda view: access.decide_patient(actor, view.patient, view.record),
        describe=lambda view: (view.patient.public_id, view.patient.public_id),
    )
    view.decision = decision
    return view


def document_search(*, actor, patient_id, current_only: bool, page: int, page_size: int):
    """The documents `actor` sees, by dmp.services.documents.documents_list (same rule, one list trace)."""
    result = documents_service.documents_list(
        actor=actor,
        patient_id=patient_id,
        include_superseded=not current_only,
        page=page,
        page_size=page_size,
    )
    return result, stays_of(result.documents)


def document_read(*, actor, document_id) -> tuple[SharedDocument, dict]:
    document, _decision = documents_service.document_open(actor=actor, document_id=document_id)
    return document, stays_of([document])


def stays_of(documents) -> dict[uuid.UUID, uuid.UUID]:
    """The stay (encounter) of each CHU document, from the report it was filed from: one query."""
    report_ids = [d.source_report_id for d in documents if d.source_report_id]
    if not report_ids:
        return {}
    return dict(Report.objects.filter(public_id__in=report_ids).values_list("public_id", "stay__public_id"))


@dataclass
class ConsentPage:
    record: SharedRecord
    grants: list[AccessGrant]
    total: int


def consent_search(*, actor, patient_id, page: int, page_size: int) -> ConsentPage:
    """The patient's grants (and oppositions, on the record); one trace naming the grants shown."""
    patient = _patient(patient_id)
    record = records.shared_record_for(patient)
    decision = access.decide_consents(actor, record)
    if not decision.allowed:
        _refuse(actor, Action.LIST, decision, patient=patient, object_type=ObjectType.DMP_GRANT)
    queryset = (
        AccessGrant.objects.filter(record=record)
        .select_related("professional__professional_profile")
        .order_by("-created_at", "-id")
    )
    start = (page - 1) * page_size
    grants, total = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=patient.public_id,
        object_type=ObjectType.DMP_GRANT,
        load=lambda: (list(queryset[start : start + page_size]), queryset.count()),
        shown=lambda result: [g.public_id for g in result[0]],
    )
    return ConsentPage(record, grants, total)


def trace_search(*, actor, patient_id, page: int, page_size: int) -> tuple[list[AuditEvent], int]:
    """Traces by audit.review.trace_list (the DPO: all; a patient: about their data by others)."""
    patient = _patient(patient_id) if patient_id else None
    decision = access.decide_trace_search(actor, patient)
    if not decision.allowed:
        _refuse(actor, Action.LIST, decision, patient=patient, object_type=ObjectType.AUDIT_EVENT)
    filters = parse_filters({"patient": str(patient.public_id)} if patient else {})
    return audit_review.trace_list(actor=actor, filters=filters, page=page, page_size=page_size)
