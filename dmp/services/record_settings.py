"""The patient's settings of her DMP: status, emergency and SAMU access, e-mails (the GP: designations.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import InvalidInput

from ..constants import DmpAction, RecordStatus
from ..models import SharedRecord
from . import lifecycle
from .records import managed_record


def record_settings_get(*, actor, patient_id=None) -> SharedRecord:
    record, decision = managed_record(actor, patient_id, Action.READ, ObjectType.DMP_SETTINGS)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.READ,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_SETTINGS,
            object_id=record.public_id,
        )
    return SharedRecord.objects.select_related("patient").get(pk=record.pk)


SETTINGS_FIELDS = ("status", "emergency_access_allowed", "samu_access_allowed", "notify_by_email")


def record_settings_update(*, actor, patient_id=None, **changes) -> SharedRecord:
    """The patient changes their DMP's settings (status, emergency, SAMU, e-mails); traced.

    A status change follows the DMP's life (lifecycle.py: opposition only while not activated and empty,
    closing, reopening) and is traced as its own action; the other settings as `update_settings`."""
    record, decision = managed_record(actor, patient_id, DmpAction.SETTINGS, ObjectType.DMP_SETTINGS)
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(_("Paramètre inconnu : %(f)s") % {"f": ", ".join(sorted(unknown))})
    if "status" in changes and changes["status"] not in RecordStatus.values:
        raise InvalidInput(_("Statut inconnu."), fields={"status": _("Statut inconnu.")})
    if "status" in changes and changes["status"] != record.status:
        record = lifecycle.status_change(actor=actor, record=record, decision=decision, status=changes["status"])
    others = [f for f in ("emergency_access_allowed", "samu_access_allowed", "notify_by_email") if f in changes]
    if others or "status" not in changes:
        with transaction.atomic():
            locked = SharedRecord.objects.select_for_update().select_related("patient").get(pk=record.pk)
            changed = []
            for field in others:
                if bool(changes[field]) != getattr(locked, field):
                    setattr(locked, field, bool(changes[field]))
                    changed.append(field)
            if changed:
                locked.save(update_fields=changed)
            audit.record(
                actor=actor,
                action=DmpAction.SETTINGS,
                mode=decision.mode,
                patient_id=locked.patient.public_id,
                object_type=ObjectType.DMP_SETTINGS,
                object_id=locked.public_id,
                reason=",".join(changed),
            )
    return SharedRecord.objects.select_related("patient").get(pk=record.pk)
