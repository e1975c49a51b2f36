"""Authorisations to read a DMP: created by consent (request approved or given in person), listed, revoked."""

from __future__ import annotations

import datetime
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import PROFESSIONAL_ROLES, User
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404

from .. import access
from ..constants import DmpAction, GrantSource, NotificationKind
from ..models import AccessGrant, SharedRecord
from ..services.notifications import notify, notify_patient
from ..services.professionals import professional_by_rpps
from ..services.records import managed_record, record_by_patient_id
from .checks import check_no_live_access, clean_duration, clean_purpose, professional_label


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
    record = record or record_by_patient_id(patient_id)
    patient_id = record.patient.public_id
    decision = access.decide_consent_request(actor, record, in_person=True)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=DmpAction.GRANT,
            decision=decision,
            patient_id=patient_id,
            object_type=ObjectType.DMP_GRANT,
        )
    purpose = clean_purpose(purpose)
    days = clean_duration(duration_days)
    if patient_present is not True:
        message = _("Le consentement en consultation exige que le patient soit présent : cochez la case qui l'atteste.")
        raise InvalidInput(message, fields={"patient_present": message})
    check_no_live_access(actor, record)
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
        notify_patient(
            record,
            NotificationKind.NEW_ACCESS,
            _(
                "%(who)s a enregistré l'autorisation que vous lui avez donnée en consultation, jusqu'au %(d)s. "
                "Motif : %(purpose)s. Vous pouvez la révoquer à tout moment."
            )
            % {
                "who": professional_label(actor),
                "d": date_format(timezone.localtime(grant.expires), "SHORT_DATE_FORMAT"),
                "purpose": purpose,
            },
        )
    return grant


def grants_list(*, actor, patient_id=None) -> list[AccessGrant]:
    """The patient's authorisations, live first, then past ones (expired or revoked); one trace."""
    record, decision = managed_record(actor, patient_id, Action.LIST, ObjectType.DMP_GRANT)
    grants = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=record.patient.public_id,
        object_type=ObjectType.DMP_GRANT,
        load=lambda: list(
            record.grants.select_related("professional__professional_profile").order_by("revoked_at", "-expires", "-id")
        ),
        shown=lambda grants: [g.public_id for g in grants],
    )
    now = timezone.now()
    for grant in grants:
        grant.live = grant.is_live(now)
    grants.sort(key=lambda g: not g.live)  # stable: live ones first, each group as ordered above
    return grants


def grant_create(
    *,
    actor,
    record: SharedRecord,
    professional: User,
    source: str,
    purpose: str = "",
    duration_days: int | None = None,
    starts: datetime.datetime | None = None,
    reason: str = "",
) -> AccessGrant:
    """The only way to create an AccessGrant: the patient approving a request (`consent`) or the
    professional recording consent given in person (`in_person_consent`)."""
    if source not in GrantSource.values:
        raise InvalidInput(_("Origine d'autorisation inconnue."))
    if source == GrantSource.CONSENT:
        decision = access.decide_manage_open(actor, record)
    elif actor.pk == professional.pk and actor.role in PROFESSIONAL_ROLES:
        decision = Decision.allow(Mode.IN_PERSON_CONSENT)
    else:
        decision = Decision.deny(
            "forbidden", _("Seul le professionnel concerné enregistre un consentement donné en sa présence.")
        )
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=DmpAction.GRANT,
            decision=decision,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_GRANT,
        )
    if professional.role not in PROFESSIONAL_ROLES:
        raise InvalidInput(_("Une autorisation se donne à un professionnel de santé."))
    days = duration_days or settings.DMP_GRANT_DEFAULT_DAYS
    if days < 1 or days > settings.DMP_GRANT_MAX_DAYS:
        message = _("La durée doit être comprise entre 1 et %(max)d jours.") % {"max": settings.DMP_GRANT_MAX_DAYS}
        raise InvalidInput(message, fields={"duration_days": message})
    starts = starts or timezone.now()
    with transaction.atomic():
        grant = AccessGrant.objects.create(
            record=record,
            professional=professional,
            source=source,
            purpose=(purpose or "").strip(),
            starts=starts,
            expires=starts + timedelta(days=days),
        )
        audit.record(
            actor=actor,
            action=DmpAction.GRANT,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_GRANT,
            object_id=grant.public_id,
            object_ids=[professional.public_id],
            reason=reason,
        )
    return grant


def grant_revoke(*, actor, grant_id) -> AccessGrant:
    grant = get_by_public_id_or_404(
        AccessGrant.objects.select_related("record__patient", "professional"), grant_id, _("Autorisation introuvable.")
    )
    decision = access.decide_manage(actor, grant.record)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=DmpAction.REVOKE,
            decision=decision,
            patient_id=grant.record.patient.public_id,
            object_type=ObjectType.DMP_GRANT,
            object_id=grant.public_id,
        )
    with transaction.atomic():
        AccessGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit.record(
            actor=actor,
            action=DmpAction.REVOKE,
            mode=decision.mode,
            patient_id=grant.record.patient.public_id,
            object_type=ObjectType.DMP_GRANT,
            object_id=grant.public_id,
        )
    grant.refresh_from_db()
    return grant


def patient_authorise(*, actor, rpps: str, duration_days=None, purpose: str = "", patient_id=None) -> AccessGrant:
    """The patient authorises a professional herself (no request first): a grant of source `consent`; he is told.

    `patient_id`: the patient her legal representative acts for (none: her own DMP). Decided here, before the
    transaction below (a refusal's trace commits on its own); refused while the DMP is closed."""
    record, _decision = managed_record(actor, patient_id, DmpAction.GRANT, ObjectType.DMP_GRANT, open_only=True)
    professional = professional_by_rpps(rpps)
    days = clean_duration(duration_days)
    purpose = " ".join((purpose or "").split())[:300]
    if access.is_blocked(professional, record):
        message = _("Vous avez bloqué ce professionnel : débloquez-le d'abord pour l'autoriser.")
        raise InvalidInput(message, fields={"rpps": message})
    if access.live_grant(professional, record) is not None:
        message = _("Ce professionnel a déjà une autorisation en cours ; révoquez-la pour en donner une autre.")
        raise InvalidInput(message, fields={"rpps": message})
    with transaction.atomic():
        grant = grant_create(
            actor=actor,
            record=record,
            professional=professional,
            source=GrantSource.CONSENT,
            purpose=purpose,
            duration_days=days,
        )
        notify(
            recipient=professional,
            kind=NotificationKind.CONSENT_ANSWER,
            message=_("%(patient)s vous autorise à consulter son DMP jusqu'au %(date)s.")
            % {
                "patient": record.patient.display_name,
                "date": date_format(timezone.localtime(grant.expires), "SHORT_DATE_FORMAT"),
            },
            record=record,
        )
    return grant
