"""Who may read what through FHIR: the records and DMP rules composed, never a rule of its own kind.

- Patient/{id}: whoever may read the identity in the hospital record (CHU staff), or may open the
  patient's DMP (the patient, the GP, a professional with a live grant or emergency access);
- DocumentReference: dmp.access, through dmp/services/documents.py (same decisions, same traces);
- Consent: the patient (dmp.access.decide_manage: the one who manages the grants);
- AuditEvent: audit's rule (the DPO: all; a patient: about their own data); a patient naming another
  patient gets 404 as everywhere (docs/domain.md, "Refusals").
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role
from audit.access import may_review
from chu_portal.errors import Decision
from dmp import access as dmp_access
from dmp.models import SharedRecord
from records import access as records_access
from records.models import Patient


def decide_patient(user, patient: Patient, record: SharedRecord | None) -> Decision:
    """May `user` read `patient`'s identity as a FHIR Patient, and in which mode?"""
    identity = records_access.decide(user, patient, records_access.RecordAction.READ_IDENTITY)
    if identity.allowed:
        return identity
    if record is None:
        return identity
    shared = dmp_access.record_decision(user, record)
    if shared.allowed or shared.status == 401:
        return shared
    # Say what the DMP says (403 forbidden / blocked / closed to a professional, 404 to another patient).
    return shared if shared.status in (403, 404) else identity


def decide_consents(user, record: SharedRecord) -> Decision:
    """The patient's grants and oppositions: the patient, as for every other DMP setting."""
    return dmp_access.decide_manage(user, record)


def decide_trace_search(user, patient: Patient | None) -> Decision:
    """Traces: the DPO for any patient; a patient only for themself (another patient is not revealed)."""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if may_review(user):
        return Decision.allow("dpo_review")
    if user.role == Role.PATIENT:
        if patient is not None and patient.account_id != user.pk:
            return Decision.deny("not_found", _("Patient introuvable."), status=404)
        return Decision.allow("self")
    return Decision.deny(
        "forbidden", _("La consultation des traces est réservée au patient et au délégué à la protection des données.")
    )
