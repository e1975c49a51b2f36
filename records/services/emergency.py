"""Emergency access to the hospital record (bris de glace): a reason, a short window, flagged for the DPO."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import Conflict, InvalidInput

from .. import access
from ..access import RecordAction
from ..models import (
    EmergencyAccess,
)
from .base import patient_by_id, refuse


def emergency_access_grant(*, actor, patient_id: uuid.UUID | str, reason: str) -> EmergencyAccess:
    """Bris de glace: a written reason opens one patient's hospital record for a short window."""
    patient = patient_by_id(patient_id)
    decision = access.decide(actor, patient, RecordAction.BREAK_GLASS)
    if not decision.allowed:
        if decision.code == "conflict":
            raise Conflict(decision.message)
        refuse(
            actor,
            Action.EMERGENCY_ACCESS,
            decision,
            patient=patient,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=patient.public_id,
        )
    reason = " ".join((reason or "").split())
    if len(reason) < 10:
        raise InvalidInput(
            _("Indiquez le motif de l'accès d'urgence (10 caractères au moins)."),
            fields={"reason": _("Indiquez le motif de l'accès d'urgence (10 caractères au moins).")},
        )
    now = timezone.now()
    with transaction.atomic():
        grant = EmergencyAccess.objects.create(
            user=actor,
            patient=patient,
            reason=reason,
            starts=now,
            expires=now + timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
        )
        audit.record(
            actor=actor,
            action=Action.EMERGENCY_ACCESS,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=patient.public_id,
            reason=reason,
        )
    return grant
