"""Verbs of consent, grants and DMP emergency access: asking, answering, revoking, breaking the glass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import PROFESSIONAL_ROLES, Role, User
from audit import services as audit
from audit.constants import Action, Mode
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404

from . import access
from .constants import ConsentStatus, DmpAction, EmergencyMode, GrantSource, NotificationKind
from .models import (
    AccessGrant,
    ConsentRequest,
    DmpEmergencyAccess,
    Notification,
    SharedRecord,
    SharedRecordUserObjectPermission,
)
from .services import (
    GUARDIAN_PERMISSION,
    PAGE_SIZE,
    _managed_record,
    _notify_patient,
    _record,
    _refuse,
    grant_create,
    notify,
    own_record,
)

__all__ = [
    "AccessStatus",
    "access_status",
    "consent_answers_seen",
    "consent_in_person_record",
    "consent_request_approve",
    "consent_request_create",
    "consent_request_deny",
    "consent_requests_expire",
    "consent_requests_list",
    "emergency_access_open",
    "emergency_alerts_acknowledge",
    "grant_permissions_expire",
    "grants_list",
    "professionals_search",
]

PURPOSE_MAX = 500
REASON_MIN = 10


def _who(professional: User) -> str:
    """ "Dr Paul Garnier (Médecin, RPPS 10000000059)" for the patient's messages."""
    profile = professional.professional
    if profile is None:
        return professional.display_name
    return _("%(name)s (%(profession)s, RPPS %(rpps)s)") % {
        "name": professional.display_name,
        "profession": profile.get_profession_display(),
        "rpps": profile.rpps,
    }


def _clean_purpose(purpose: str) -> str:
    purpose = " ".join((purpose or "").split())
    if not purpose:
        message = _("Indiquez le motif de la demande.")
        raise InvalidInput(message, fields={"purpose": message})
    if len(purpose) > PURPOSE_MAX:
        message = _("Le motif ne doit pas dépasser %(n)d caractères.") % {"n": PURPOSE_MAX}
        raise InvalidInput(message, fields={"purpose": message})
    return purpose


def _clean_duration(duration_days) -> int:
    if duration_days in (None, ""):
        return settings.DMP_GRANT_DEFAULT_DAYS
    try:
        days = int(duration_days)
    except (TypeError, ValueError):
        days = 0
    if days < 1 or days > settings.DMP_GRANT_MAX_DAYS:
        message = _("La durée doit être comprise entre 1 et %(max)d jours.") % {"max": settings.DMP_GRANT_MAX_DAYS}
        raise InvalidInput(message, fields={"duration_days": message})
    return days


def _already_has_access(actor, record: SharedRecord) -> None:
    """Asking again while an authorisation runs is a state conflict, not a new question."""
    if record.gp_id == actor.pk:
        raise Conflict(_("Vous êtes le médecin traitant de ce patient : vous avez déjà accès à son DMP."))
    grant = access.live_grant(actor, record)
    if grant is not None:
        raise Conflict(
            _("Vous avez déjà l'autorisation du patient, jusqu'au %(d)s.")
            % {"d": date_format(timezone.localtime(grant.expires), "SHORT_DATE_FORMAT")}
        )


# --- The professional asks --------------------------------------------------------------------


def _request_cutoff(now=None):
    return (now or timezone.now()) - timedelta(days=settings.DMP_CONSENT_REQUEST_EXPIRY_DAYS)


def consent_requests_expire(*, now=None, **scope) -> int:
    """Requests left unanswered for DMP_CONSENT_REQUEST_EXPIRY_DAYS expire (Celery beat; also done
    for one patient or professional before their requests are shown or answered)."""
    now = now or timezone.now()
    return ConsentRequest.objects.filter(
        status=ConsentStatus.PENDING, created_at__lt=_request_cutoff(now), **scope
    ).update(status=ConsentStatus.EXPIRED, decided_at=now)


def consent_request_create(
    *, actor, patient_id=None, record: SharedRecord | None = None, purpose: str, duration_days=None
) -> ConsentRequest:
    """A professional asks the patient's authorisation (purpose, duration); the patient is notified."""
    record = record or _record(patient_id)
    patient_id = record.patient.public_id
    decision = access.decide_consent_request(actor, record)
    if not decision.allowed:
        _refuse(actor, DmpAction.CONSENT_REQUEST, decision, patient_id=patient_id, object_type="dmp_consent_request")
    purpose = _clean_purpose(purpose)
    days = _clean_duration(duration_days)
    _already_has_access(actor, record)
    consent_requests_expire(record=record, professional=actor)  # an expired question may be asked again
    pending = Conflict(_("Une demande est déjà en attente de la réponse du patient."))
    if ConsentRequest.objects.filter(record=record, professional=actor, status=ConsentStatus.PENDING).exists():
        raise pending
    try:
        with transaction.atomic():
            consent_request = ConsentRequest.objects.create(
                record=record, professional=actor, purpose=purpose, duration_days=days, created_at=timezone.now()
            )
            audit.record(
                actor=actor,
                action=DmpAction.CONSENT_REQUEST,
                mode=decision.mode,
                patient_id=patient_id,
                object_type="dmp_consent_request",
                object_id=consent_request.public_id,
            )
            _notify_patient(
                record,
                NotificationKind.CONSENT_REQUEST,
                _("%(who)s demande l'accès à votre DMP pour %(days)d jours. Motif : %(purpose)s")
                % {"who": _who(actor), "days": days, "purpose": purpose},
            )
    except IntegrityError as exc:  # a concurrent request won the "one pending" constraint
        raise pending from exc
    return consent_request


def consent_in_person_record(
    *,
    actor,
    patient_id=None,
    record: SharedRecord | None = None,
    purpose: str,
    patient_present: bool,
    duration_days=None,
) -> AccessGrant:
    """The professional records consent the patient gave in person (presence stated); traced, patient notified."""
    record = record or _record(patient_id)
    patient_id = record.patient.public_id
    decision = access.decide_consent_request(actor, record, in_person=True)
    if not decision.allowed:
        _refuse(actor, DmpAction.GRANT, decision, patient_id=patient_id, object_type="dmp_grant")
    purpose = _clean_purpose(purpose)
    days = _clean_duration(duration_days)
    if patient_present is not True:
        message = _("Le consentement en consultation exige que le patient soit présent : cochez la case qui l'atteste.")
        raise InvalidInput(message, fields={"patient_present": message})
    _already_has_access(actor, record)
    with transaction.atomic():
        grant = grant_create(
            actor=actor,
            record=record,
            professional=actor,
            source=GrantSource.IN_PERSON_CONSENT,
            purpose=purpose,
            duration_days=days,
            reason="patient_present",
        )
        _notify_patient(
            record,
            NotificationKind.NEW_ACCESS,
            _(
                "%(who)s a enregistré l'autorisation que vous lui avez donnée en consultation, jusqu'au %(d)s. "
                "Motif : %(purpose)s. Vous pouvez la révoquer à tout moment."
            )
            % {
                "who": _who(actor),
                "d": date_format(timezone.localtime(grant.expires), "SHORT_DATE_FORMAT"),
                "purpose": purpose,
            },
        )
    return grant


# --- The patient answers ----------------------------------------------------------------------


def _consent_request(request_id) -> ConsentRequest:
    return get_by_public_id_or_404(
        ConsentRequest.objects.select_related("record__patient", "professional__professional_profile"),
        request_id,
        _("Demande introuvable."),
    )


def _answer(actor, request_id, trace_action) -> tuple[ConsentRequest, Decision]:
    consent_request = _consent_request(request_id)
    decision = access.decide_consent_answer(actor, consent_request)
    if not decision.allowed:
        _refuse(
            actor,
            trace_action,
            decision,
            patient_id=consent_request.record.patient.public_id,
            object_type="dmp_consent_request",
            object_id=consent_request.public_id,
        )
    return consent_request, decision


def _lock_pending(consent_request: ConsentRequest) -> ConsentRequest:
    locked = ConsentRequest.objects.select_for_update().get(pk=consent_request.pk)
    stale = locked.status == ConsentStatus.PENDING and locked.created_at < _request_cutoff()
    if locked.status == ConsentStatus.EXPIRED or stale:  # the beat marks a stale one expired
        raise Conflict(_("Cette demande a expiré sans réponse : le professionnel peut vous en adresser une nouvelle."))
    if locked.status != ConsentStatus.PENDING:
        raise Conflict(_("Vous avez déjà répondu à cette demande."))
    return locked


def _notify_professional(consent_request: ConsentRequest, message: str) -> None:
    """The professional who asked learns the answer (a badge on "Mes demandes d'accès")."""
    notify(
        recipient=consent_request.professional,
        kind=NotificationKind.CONSENT_ANSWER,
        message=message,
        record=consent_request.record,
    )


def consent_answers_seen(*, actor) -> int:
    """The professional opened their requests: the answers' notifications are read."""
    return Notification.objects.filter(
        recipient=actor, kind=NotificationKind.CONSENT_ANSWER, read_at__isnull=True
    ).update(read_at=timezone.now())


def consent_request_approve(*, actor, request_id) -> ConsentRequest:
    """The patient approves: an AccessGrant (source `consent`) for the asked duration, from now."""
    consent_request, decision = _answer(actor, request_id, DmpAction.CONSENT_APPROVE)
    with transaction.atomic():
        locked = _lock_pending(consent_request)
        grant = grant_create(
            actor=actor,
            record=consent_request.record,
            professional=consent_request.professional,
            source=GrantSource.CONSENT,
            purpose=locked.purpose,
            duration_days=locked.duration_days,
        )
        locked.status = ConsentStatus.APPROVED
        locked.decided_at = timezone.now()
        locked.grant = grant
        locked.save(update_fields=["status", "decided_at", "grant"])
        audit.record(
            actor=actor,
            action=DmpAction.CONSENT_APPROVE,
            mode=decision.mode,
            patient_id=consent_request.record.patient.public_id,
            object_type="dmp_consent_request",
            object_id=locked.public_id,
        )
        _notify_professional(
            consent_request,
            _("%(patient)s a accepté votre demande d'accès à son DMP, jusqu'au %(date)s.")
            % {
                "patient": consent_request.record.patient.display_name,
                "date": date_format(timezone.localtime(grant.expires), "SHORT_DATE_FORMAT"),
            },
        )
    locked.record, locked.professional = consent_request.record, consent_request.professional
    return locked


def consent_request_deny(*, actor, request_id) -> ConsentRequest:
    """The patient refuses: nothing is granted; the professional sees the answer on their page."""
    consent_request, decision = _answer(actor, request_id, DmpAction.CONSENT_DENY)
    with transaction.atomic():
        locked = _lock_pending(consent_request)
        locked.status = ConsentStatus.DENIED
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_at"])
        audit.record(
            actor=actor,
            action=DmpAction.CONSENT_DENY,
            mode=decision.mode,
            patient_id=consent_request.record.patient.public_id,
            object_type="dmp_consent_request",
            object_id=locked.public_id,
        )
        _notify_professional(
            consent_request,
            _("%(patient)s a refusé votre demande d'accès à son DMP.")
            % {"patient": consent_request.record.patient.display_name},
        )
    locked.record, locked.professional = consent_request.record, consent_request.professional
    return locked


def consent_requests_list(
    *, actor, status: str | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[ConsentRequest], int]:
    """The caller's requests: addressed to the patient, or asked by the professional; one trace naming them."""
    if status and status not in ConsentStatus.values:
        raise InvalidInput(_("Statut inconnu."), fields={"status": _("Statut inconnu.")})
    patient_id = None
    if getattr(actor, "is_authenticated", False) and actor.role == Role.PATIENT:
        record, decision = _managed_record(actor, None, Action.LIST, "dmp_consent_request")
        queryset = ConsentRequest.objects.filter(record=record)
        patient_id = record.patient.public_id
    elif getattr(actor, "is_authenticated", False) and actor.role in PROFESSIONAL_ROLES:
        decision = Decision.allow(Mode.NONE)
        queryset = ConsentRequest.objects.filter(professional=actor)
    else:
        _refuse(
            actor,
            Action.LIST,
            Decision.deny("forbidden", _("Réservé aux patients et aux professionnels de santé.")),
            object_type="dmp_consent_request",
        )
    consent_requests_expire(pk__in=queryset.filter(status=ConsentStatus.PENDING).values("pk"))
    if status:
        queryset = queryset.filter(status=status)
    queryset = queryset.select_related("record__patient", "professional__professional_profile", "grant").order_by(
        "-created_at", "-id"
    )
    page = max(page, 1)
    start = (page - 1) * page_size
    with transaction.atomic():
        total = queryset.count()
        items = list(queryset[start : start + page_size])
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=decision.mode,
            patient_id=patient_id,
            object_type="dmp_consent_request",
            object_ids=[r.public_id for r in items],
        )
    return items, total


# --- Grants -----------------------------------------------------------------------------------


def grants_list(*, actor, patient_id=None) -> list[AccessGrant]:
    """The patient's authorisations, live first, then past ones (expired or revoked); one trace."""
    record, decision = _managed_record(actor, patient_id, Action.LIST, "dmp_grant")
    with transaction.atomic():
        grants = list(
            record.grants.select_related("professional__professional_profile").order_by("revoked_at", "-expires", "-id")
        )
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_grant",
            object_ids=[g.public_id for g in grants],
        )
    now = timezone.now()
    for grant in grants:
        grant.live = grant.is_live(now)
    grants.sort(key=lambda g: not g.live)  # stable: live ones first, each group as ordered above
    return grants


def grant_permissions_expire(*, now=None) -> int:
    """The periodic clean-up: drop guardian permissions no live grant backs any more (expired, revoked).

    Checks never trusted these permissions (dmp/access.py reads AccessGrant); this keeps them in step.
    """
    now = now or timezone.now()
    live = AccessGrant.objects.filter(
        record=OuterRef("content_object"),
        professional=OuterRef("user"),
        revoked_at__isnull=True,
        starts__lte=now,
        expires__gt=now,
    )
    app_label, codename = GUARDIAN_PERMISSION.split(".")
    stale = SharedRecordUserObjectPermission.objects.filter(
        permission__codename=codename, permission__content_type__app_label=app_label
    ).exclude(Exists(live))
    removed, _rows = stale.delete()
    return removed


# --- Emergency access (bris de glace, SAMU) ---------------------------------------------------


def emergency_access_open(
    *, actor, patient_id=None, record: SharedRecord | None = None, reason: str, mode: str = Mode.EMERGENCY
) -> DmpEmergencyAccess:
    """Break the glass on one patient's DMP for DMP_EMERGENCY_ACCESS_HOURS; flagged for the DPO, patient notified."""
    record = record or _record(patient_id)
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
            object_type="dmp",
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
            object_type="dmp",
            object_id=emergency.public_id,
            reason=reason,
        )
        label = _("la régulation du SAMU") if mode == Mode.SAMU else _("un accès d'urgence (bris de glace)")
        _notify_patient(
            record,
            NotificationKind.EMERGENCY_ACCESS,
            _("%(who)s a ouvert votre DMP par %(how)s le %(at)s. Motif : %(reason)s")
            % {
                "who": _who(actor),
                "how": label,
                "at": date_format(timezone.localtime(now), "SHORT_DATETIME_FORMAT"),
                "reason": reason,
            },
        )
    return emergency


def emergency_alerts_acknowledge(*, actor) -> int:
    """The patient has seen the emergency-access alerts shown since their last visit."""
    return Notification.objects.filter(
        recipient=actor, kind=NotificationKind.EMERGENCY_ACCESS, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- The professional's view of their access to one patient ----------------------------------


@dataclass
class AccessStatus:
    record: SharedRecord
    decision: Decision
    requests: list[ConsentRequest]
    grant: AccessGrant | None
    emergencies: list[DmpEmergencyAccess]
    is_regulator: bool

    @property
    def pending(self) -> ConsentRequest | None:
        return next((r for r in self.requests if r.status == ConsentStatus.PENDING), None)


def access_status(*, actor, patient_id) -> AccessStatus:
    """What the professional may do on this patient's DMP now, and the state of their requests (no medical content)."""
    record = _record(patient_id)
    if not (getattr(actor, "is_authenticated", False) and actor.role in PROFESSIONAL_ROLES):
        raise AccessDenied(Decision.deny("not_found", _("Patient introuvable."), status=404))
    now = timezone.now()
    consent_requests_expire(now=now, record=record, professional=actor)
    profile = actor.professional
    return AccessStatus(
        record=record,
        decision=access.record_decision(actor, record, now),
        requests=list(ConsentRequest.objects.filter(record=record, professional=actor).select_related("grant")[:20]),
        grant=access.live_grant(actor, record, now),
        emergencies=list(access.live_emergency_accesses(actor, now).filter(record=record)),
        is_regulator=bool(profile and profile.regulation),
    )


# --- Finding a professional (to block them) ---------------------------------------------------


def professionals_search(*, actor, query: str, limit: int = 20) -> list[User]:
    """Patients find a professional by name or RPPS (the public directory), e.g. to block them."""
    own_record(actor)  # patients with a record only
    if actor.role != Role.PATIENT:
        raise AccessDenied(Decision.deny("forbidden", _("Réservé aux patients.")))
    words = (query or "").split()
    if not words:
        return []
    condition = Q()
    for word in words:
        condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(professional_profile__rpps=word)
    return list(
        User.objects.filter(condition, role__in=PROFESSIONAL_ROLES, professional_profile__isnull=False, is_active=True)
        .select_related("professional_profile")
        .order_by("last_name", "first_name")[:limit]
    )
