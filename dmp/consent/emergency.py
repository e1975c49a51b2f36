"""Emergency access to the DMP (bris de glace, SAMU regulation): opened with a reason, the patient alerted."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import AccessDenied, Conflict, InvalidInput

from .. import access
from ..constants import EmergencyMode, NotificationKind
from ..models import DmpEmergencyAccess, Notification, SharedRecord
from ..services.notifications import notify_gp_level, notify_patient
from ..services.records import record_by_patient_id
from .checks import REASON_MIN, professional_label


def emergency_access_open(
    *, actor, patient_id=None, record: SharedRecord | None = None, reason: str, mode: str = Mode.EMERGENCY
) -> DmpEmergencyAccess:
    """Break the glass on one patient's DMP for DMP_EMERGENCY_ACCESS_HOURS; flagged for the DPO, patient notified."""
    record = record or record_by_patient_id(patient_id)
    patient_id = record.patient.public_id
    if mode not in EmergencyMode.values:
        raise InvalidInput(_("Mode d'accès d'urgence inconnu."), fields={"mode": _("« emergency » ou « samu ».")})
    decision = access.decide_emergency(actor, record, mode)
    if not decision.allowed:
        # The attempt is traced in the emergency mode, so the DPO sees refused attempts flagged too.
        audit.record_refusal(
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            action=Action.EMERGENCY_ACCESS,
            code=decision.code,
            mode=mode,
            patient_id=patient_id,
            object_type=ObjectType.DMP,
            object_id=patient_id,
        )
        raise AccessDenied(decision)
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN:
        message = _("Indiquez le motif de l'accès d'urgence (%(n)d caractères au moins).") % {"n": REASON_MIN}
        raise InvalidInput(message, fields={"reason": message})
    now = timezone.now()
    open_window = DmpEmergencyAccess.objects.filter(
        record=record, professional=actor, mode=mode, starts__lte=now, expires__gt=now
    ).first()
    if open_window is not None:
        raise Conflict(
            _("Un accès d'urgence à ce DMP est déjà ouvert jusqu'à %(t)s.")
            % {"t": date_format(timezone.localtime(open_window.expires), "TIME_FORMAT")}
        )
    with transaction.atomic():
        emergency = DmpEmergencyAccess.objects.create(
            record=record,
            professional=actor,
            mode=mode,
            reason=reason,
            starts=now,
            expires=now + timedelta(hours=settings.DMP_EMERGENCY_ACCESS_HOURS),
        )
        audit.record(
            actor=actor,
            action=Action.EMERGENCY_ACCESS,
            mode=decision.mode,  # `emergency` / `samu`: audit flags it for the DPO
            patient_id=patient_id,
            object_type=ObjectType.DMP,
            object_id=emergency.public_id,
            reason=reason,
        )
        label = _("la régulation du SAMU") if mode == Mode.SAMU else _("un accès d'urgence (bris de glace)")
        at = date_format(timezone.localtime(now), "SHORT_DATETIME_FORMAT")
        notify_patient(
            record,
            NotificationKind.EMERGENCY_ACCESS,
            _("%(who)s a ouvert votre DMP par %(how)s le %(at)s. Motif : %(reason)s")
            % {"who": professional_label(actor), "how": label, "at": at, "reason": reason},
        )
        # CSP R.1111-48: the médecin traitant (and every doctor with his rights) is informed too.
        notify_gp_level(
            record,
            NotificationKind.EMERGENCY_ACCESS,
            _("%(who)s a ouvert le DMP de votre patient(e) %(p)s par %(how)s le %(at)s. Motif : %(reason)s")
            % {
                "who": professional_label(actor),
                "p": record.patient.display_name,
                "how": label,
                "at": at,
                "reason": reason,
            },
            exclude=actor,
        )
    return emergency


def emergency_alerts_acknowledge(*, actor) -> int:
    """The patient has seen the emergency-access alerts shown since their last visit."""
    return Notification.objects.filter(
        recipient=actor, kind=NotificationKind.EMERGENCY_ACCESS, read_at__isnull=True
    ).update(read_at=timezone.now())
