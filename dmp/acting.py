"""Acting for someone: the session's choice of whose DMP a patient account has open (her own, or a person she represents).

The choice lives in the session; pages read it here and pass it to the services explicitly as `patient_id`
(services never read the session). The choice is checked against the representations in force at every
request: once a representation ends (majority, a court decision's end, revoked), the session falls back to
the account's own space.
"""

from __future__ import annotations

import uuid

from accounts.models import Role
from records import access as records_access
from records.models import Patient

SESSION_KEY = "dmp_acting_for"


def represented(user) -> list[Patient]:
    """The people `user` acts for now (one query), for the switcher."""
    if not (user and user.is_authenticated) or user.role != Role.PATIENT:
        return []
    return list(records_access.represented_patients(user).order_by("birth_name", "first_names"))


def acting_for(request) -> uuid.UUID | None:
    """The public id of the patient the signed-in representative chose to act for, or None (her own space)."""
    user = getattr(request, "user", None)
    value = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not value or not (user and user.is_authenticated) or user.role != Role.PATIENT:
        return None
    try:
        patient_id = uuid.UUID(str(value))
    except ValueError:
        request.session.pop(SESSION_KEY, None)
        return None
    if not records_access.represented_patients(user).filter(public_id=patient_id).exists():
        request.session.pop(SESSION_KEY, None)
        return None
    return patient_id


def choose(request, patient_id) -> Patient | None:
    """Switch to the person `patient_id` (a patient she represents now), or to her own space (None / empty).

    Returns the patient chosen; an id she does not represent leaves her in her own space (None)."""
    request.session.pop(SESSION_KEY, None)
    if not patient_id:
        return None
    try:
        key = uuid.UUID(str(patient_id))
    except ValueError:
        return None
    patient = records_access.represented_patients(request.user).filter(public_id=key).first()
    if patient is not None:
        request.session[SESSION_KEY] = str(patient.public_id)
    return patient


def has_own_record(user) -> bool:
    return Patient.objects.filter(account=user).exists()
