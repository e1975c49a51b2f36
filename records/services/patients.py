"""Patients in the hospital record: search, the care team's list, identity, the record opened, identity qualified."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput

from .. import access, selectors
from ..access import RecordAction
from ..constants import InsStatus
from ..models import (
    Patient,
    Stay,
)
from ..signals import identity_qualified
from .base import patient_by_id, refuse

SEARCH_LIMIT = 50


def patient_search(*, actor, query: str, page: int = 1, page_size: int = SEARCH_LIMIT) -> tuple[list[Patient], int]:
    """CHU staff search identities; one trace names the patients shown. Returns (page, total)."""
    decision = access.decide(actor, None, RecordAction.SEARCH)
    if not decision.allowed:
        refuse(actor, Action.SEARCH, decision, patient=None, object_type=ObjectType.PATIENT)
    found = selectors.patient_search_queryset(query)
    start = (max(page, 1) - 1) * page_size

    def load() -> tuple[list[Patient], int]:
        ordered = access.with_access_flags(found, actor).order_by("birth_name", "first_names", "birth_date", "pk")
        return list(ordered[start : start + page_size]), found.count()

    patients, total = audit.list_traced(
        actor=actor,
        action=Action.SEARCH,
        mode=decision.mode,
        object_type=ObjectType.PATIENT,
        load=load,
        shown=lambda result: [p.public_id for p in result[0]],
    )
    return patients, total


def care_team_patients(*, actor, limit: int = 200) -> list[Patient]:
    """Patients whose record `actor` may read now (care team or emergency), newest stay first; traced."""
    decision = access.decide(actor, None, RecordAction.SEARCH)
    if not decision.allowed:
        refuse(actor, Action.LIST, decision, patient=None, object_type=ObjectType.PATIENT)
    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        object_type=ObjectType.PATIENT,
        load=lambda: list(selectors.patients_in_care(actor)[:limit]),
        shown=lambda patients: [p.public_id for p in patients],
    )


def patient_get(*, actor, patient_id: uuid.UUID | str) -> Patient:
    """A patient's identity (CHU staff); read, decided and traced in one transaction."""
    patient, _decision = audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.PATIENT_IDENTITY,
        load=lambda: patient_by_id(patient_id),
        decide=lambda patient: access.decide(actor, patient, RecordAction.READ_IDENTITY),
        describe=lambda patient: (patient.public_id, patient.public_id),
    )
    return patient


@dataclass
class HospitalRecord:
    patient: Patient
    stays: list[Stay]
    decision: Decision

    @property
    def report_ids(self) -> list[uuid.UUID]:
        return [r.public_id for s in self.stays for r in s.reports.all()]


def record_open(*, actor, patient_id: uuid.UUID | str) -> HospitalRecord:
    """A patient's hospital record for `actor`: one trace naming every stay and report shown."""
    patient = patient_by_id(patient_id)
    decision = access.decide(actor, patient, RecordAction.READ_RECORD)
    if not decision.allowed:
        refuse(
            actor,
            Action.READ,
            decision,
            patient=patient,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=patient.public_id,
        )
    with transaction.atomic():
        stays = list(selectors.record_stays(actor, patient))
        record = HospitalRecord(patient=patient, stays=stays, decision=decision)
        audit.record(
            actor=actor,
            action=Action.READ,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=patient.public_id,
            object_ids=[s.public_id for s in stays] + record.report_ids,
        )
    return record


def identity_qualify(*, actor, patient_id: uuid.UUID | str, document_checked: bool) -> Patient:
    """Identity vigilance: an INS retrieved plus an official ID document checked makes it qualified."""
    patient = patient_by_id(patient_id)
    decision = access.decide(actor, patient, RecordAction.QUALIFY_IDENTITY)
    if not decision.allowed:
        refuse(
            actor,
            Action.QUALIFY_IDENTITY,
            decision,
            patient=patient,
            object_type=ObjectType.PATIENT_IDENTITY,
            object_id=patient.public_id,
        )
    if not document_checked:
        raise InvalidInput(
            _("La qualification exige la vérification d'une pièce d'identité officielle."),
            fields={"document_checked": _("Cochez la case après avoir vérifié la pièce d'identité.")},
        )
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if locked.ins_status == InsStatus.QUALIFIED:
            raise Conflict(_("L'identité de ce patient est déjà qualifiée."))
        if locked.ins_status not in (InsStatus.RETRIEVED, InsStatus.VALIDATED) or not locked.nir:
            raise Conflict(_("L'INS doit d'abord être récupérée auprès du téléservice INSi."))
        locked.identity_document_checked = True
        locked.ins_status = InsStatus.QUALIFIED
        locked.identity_qualified_at = timezone.now()
        locked.save(update_fields=["identity_document_checked", "ins_status", "identity_qualified_at"])
        audit.record(
            actor=actor,
            action=Action.QUALIFY_IDENTITY,
            mode=decision.mode,
            patient_id=locked.public_id,
            object_type=ObjectType.PATIENT_IDENTITY,
            object_id=locked.public_id,
        )
        # What waited for a qualified identity (the feed) goes once this commits.
        identity_qualified.send(sender=Patient, patient=locked)
    return locked


def own_patient(user) -> Patient:
    """The signed-in account's own patient record (404 when it has none)."""
    patient = Patient.objects.filter(account=user).first() if getattr(user, "is_authenticated", False) else None
    if patient is None:
        raise AccessDenied(Decision.deny("not_found", _("Aucun dossier n'est rattaché à ce compte."), status=404))
    return patient
