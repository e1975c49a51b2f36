"""Consent requests: a professional asks, the patient approves or denies, unanswered requests expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import PROFESSIONAL_ROLES, Role
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404

from .. import access
from ..constants import ConsentStatus, DmpAction, GrantSource, NotificationKind
from ..models import AccessGrant, ConsentRequest, DmpEmergencyAccess, Notification, SharedRecord
from ..services.notifications import notify, notify_patient
from ..services.records import PAGE_SIZE, managed_record, record_by_patient_id
from .checks import check_no_live_access, clean_duration, clean_purpose, professional_label
from .grants import grant_create


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
    record = record or record_by_patient_id(patient_id)
    patient_id = record.patient.public_id
    decision = access.decide_consent_request(actor, record)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=DmpAction.CONSENT_REQUEST,
            decision=decision,
            patient_id=patient_id,
            object_type=ObjectType.DMP_CONSENT_REQUEST,
        )
    purpose = clean_purpose(purpose)
    days = clean_duration(duration_days)
    check_no_live_access(actor, record)
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
                object_type=ObjectType.DMP_CONSENT_REQUEST,
                object_id=consent_request.public_id,
            )
            notify_patient(
                record,
                NotificationKind.CONSENT_REQUEST,
                _("%(who)s demande l'accès à votre DMP pour %(days)d jours. Motif : %(purpose)s")
                % {"who": professional_label(actor), "days": days, "purpose": purpose},
            )
    except IntegrityError as exc:  # a concurrent request won the "one pending" constraint
        raise pending from exc
    return consent_request


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
        audit.refuse(
            actor=actor,
            action=trace_action,
            decision=decision,
            patient_id=consent_request.record.patient.public_id,
            object_type=ObjectType.DMP_CONSENT_REQUEST,
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


def consent_request_approve(*, actor, request_id, duration_days: int | None = None) -> ConsentRequest:
    """The patient approves: an AccessGrant (source `consent`) for the asked duration or a shorter one, from now."""
    consent_request, decision = _answer(actor, request_id, DmpAction.CONSENT_APPROVE)
    with transaction.atomic():
        locked = _lock_pending(consent_request)
        if duration_days is not None and not 1 <= duration_days <= locked.duration_days:
            message = _("Choisissez une durée entre 1 et %(days)s jours (la durée demandée).") % {
                "days": locked.duration_days
            }
            raise InvalidInput(message, fields={"duration_days": message})
        grant = grant_create(
            actor=actor,
            record=consent_request.record,
            professional=consent_request.professional,
            source=GrantSource.CONSENT,
            purpose=locked.purpose,
            duration_days=duration_days or locked.duration_days,
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
            object_type=ObjectType.DMP_CONSENT_REQUEST,
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
            object_type=ObjectType.DMP_CONSENT_REQUEST,
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
    *, actor, status: str | None = None, page: int = 1, page_size: int = PAGE_SIZE, patient_id=None
) -> tuple[list[ConsentRequest], int]:
    """The caller's requests: addressed to the patient (or to the patient `patient_id` she represents),
    or asked by the professional; one trace naming them."""
    if status and status not in ConsentStatus.values:
        raise InvalidInput(_("Statut inconnu."), fields={"status": _("Statut inconnu.")})
    patient_id = None
    if getattr(actor, "is_authenticated", False) and actor.role == Role.PATIENT:
        record, decision = managed_record(actor, patient_id, Action.LIST, ObjectType.DMP_CONSENT_REQUEST)
        queryset = ConsentRequest.objects.filter(record=record)
        patient_id = record.patient.public_id
    elif getattr(actor, "is_authenticated", False) and actor.role in PROFESSIONAL_ROLES:
        decision = Decision.allow(Mode.NONE)
        queryset = ConsentRequest.objects.filter(professional=actor)
    else:
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=Decision.deny("forbidden", _("Réservé aux patients et aux professionnels de santé.")),
            object_type=ObjectType.DMP_CONSENT_REQUEST,
        )
    consent_requests_expire(pk__in=queryset.filter(status=ConsentStatus.PENDING).values("pk"))
    if status:
        queryset = queryset.filter(status=status)
    queryset = queryset.select_related("record__patient", "professional__professional_profile", "grant").order_by(
        "-created_at", "-id"
    )
    page = max(page, 1)
    start = (page - 1) * page_size
    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=patient_id,
        object_type=ObjectType.DMP_CONSENT_REQUEST,
        load=lambda: (list(queryset[start : start + page_size]), queryset.count()),
        shown=lambda result: [r.public_id for r in result[0]],
    )


@dataclass
class AccessStatus:
    record: SharedRecord
    decision: Decision
    requests: list[ConsentRequest]
    grant: AccessGrant | None
    emergencies: list[DmpEmergencyAccess]
    is_regulator: bool
    is_health_professional: bool = True
    is_doctor: bool = False

    @property
    def pending(self) -> ConsentRequest | None:
        return next((r for r in self.requests if r.status == ConsentStatus.PENDING), None)


def access_status(*, actor, patient_id) -> AccessStatus:
    """What the professional may do on this patient's DMP now, and the state of their requests (no medical content)."""
    record = record_by_patient_id(patient_id)
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
        is_health_professional=access.is_health_professional(actor),
        is_doctor=access.is_doctor(actor),
    )
