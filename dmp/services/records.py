"""A patient's DMP as every verb finds it: by patient, by account, or decided for the patient's own settings."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _

from audit import services as audit
from chu_portal.errors import AccessDenied, Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404
from records.models import Patient

from .. import access
from ..models import SharedRecord

PAGE_SIZE = 50


def shared_record_for(patient: Patient) -> SharedRecord:
    """The patient's DMP, created on first use (active, emergency and SAMU access allowed)."""
    record, _created = SharedRecord.objects.get_or_create(patient=patient)
    record.patient = patient
    return record


def record_by_patient_id(patient_id) -> SharedRecord:
    """The DMP of a patient by public id (404 if unknown); no decision: the caller decides."""
    return shared_record_for(get_by_public_id_or_404(Patient.objects, patient_id, _("Patient introuvable.")))


def own_record(user) -> SharedRecord:
    """The signed-in patient's own DMP."""
    patient = Patient.objects.filter(account=user).first() if getattr(user, "is_authenticated", False) else None
    if patient is None:
        raise AccessDenied(Decision.deny("not_found", _("Aucun dossier n'est rattaché à ce compte."), status=404))
    return shared_record_for(patient)


def parse_date(value) -> datetime.date | None:
    """A date from input (a date or YYYY-MM-DD), None when empty; a clear error otherwise."""
    if not value:
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(_("Date invalide (AAAA-MM-JJ attendu)."), fields={"date": _("Date invalide.")}) from exc


def managed_record(actor, patient_id, action, object_type, *, open_only=False) -> tuple[SharedRecord, Decision]:
    """The DMP whose settings `actor` manages (the patient herself), or a traced refusal.

    `open_only`: a change of what the DMP holds or of who reads it, refused while it is closed (`dmp_closed`)."""
    record = record_by_patient_id(patient_id) if patient_id is not None else own_record(actor)
    decision = access.decide_manage_open(actor, record) if open_only else access.decide_manage(actor, record)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=action,
            decision=decision,
            patient_id=record.patient.public_id,
            object_type=object_type,
            object_id=record.public_id,
        )
    return record, decision
