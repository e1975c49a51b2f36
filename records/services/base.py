"""What the hospital record's verbs share: a refusal traced, a patient, stay or unit found by its id, clean text."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Unit
from audit import services as audit
from audit.constants import Action
from chu_portal.errors import Decision, InvalidInput
from chu_portal.ids import find_by_public_id, get_by_public_id_or_404

from ..models import (
    Patient,
    Stay,
)


def refuse(actor, action: Action, decision: Decision, *, patient: Patient | None, object_type: str, object_id=None):
    """Trace the refusal in its own committed transaction, then raise."""
    audit.refuse(
        actor=actor,
        action=action,
        decision=decision,
        patient_id=patient.public_id if patient else None,
        object_type=object_type,
        object_id=object_id,
    )


def patient_by_id(patient_id) -> Patient:
    return get_by_public_id_or_404(Patient.objects, patient_id, _("Patient introuvable."))


def clean_text(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if not title:
        errors["title"] = _("Le titre est obligatoire.")
    elif len(title) > 200:
        errors["title"] = _("Le titre ne doit pas dépasser 200 caractères.")
    if not body:
        errors["body"] = _("Le texte du compte rendu est obligatoire.")
    if errors:
        raise InvalidInput(" ".join(errors.values()), fields=errors)
    return title, body


def stay_by_id(stay_id) -> Stay:
    stay = find_by_public_id(Stay.objects.select_related("patient", "unit"), stay_id)
    if stay is None:
        raise InvalidInput(_("Séjour introuvable."), fields={"stay": _("Séjour introuvable.")})
    return stay


def unit_by_code(code: str) -> Unit:
    unit = Unit.objects.filter(code=(code or "").strip().upper()).first()
    if unit is None:
        raise InvalidInput(_("Unité inconnue."), fields={"unit": _("Unité inconnue.")})
    return unit
