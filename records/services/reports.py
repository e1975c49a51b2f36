"""Reports: opened, drafted, signed (which starts the feed) and amended by a new version."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import Conflict, Decision, InvalidInput
from chu_portal.ids import find_by_public_id, get_by_public_id_or_404

from .. import access, selectors
from ..access import RecordAction
from ..constants import ReportStatus, ReportType
from ..models import (
    Report,
    Stay,
)
from ..signals import report_signed
from .base import clean_text, refuse


def _report_for(actor, report_id) -> Report:
    return get_by_public_id_or_404(
        selectors.reports_with_state().select_related("stay__patient", "stay__unit"),
        report_id,
        _("Compte rendu introuvable."),
    )


def report_open(*, actor, report_id: uuid.UUID | str) -> tuple[Report, Decision]:
    """One report, read, decided and traced in one transaction; a refusal is traced after it."""
    return audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.REPORT,
        load=lambda: _report_for(actor, report_id),
        decide=lambda report: access.decide(actor, report, RecordAction.READ_REPORT),
        describe=lambda report: (report.stay.patient.public_id, report.public_id),
    )


def stay_for_writing(*, actor, stay_id: uuid.UUID | str) -> Stay:
    """The stay a new report is written for, if `actor` may write there (the form page); read,
    decided and traced in one transaction, a refusal traced after it."""
    stay, _decision = audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.STAY,
        load=lambda: get_by_public_id_or_404(
            Stay.objects.select_related("patient", "unit"), stay_id, _("Séjour introuvable.")
        ),
        decide=lambda stay: access.decide(actor, stay, RecordAction.WRITE_REPORT),
        describe=lambda stay: (stay.patient.public_id, stay.public_id),
    )
    return stay


def report_create_draft(*, actor, stay_id: uuid.UUID | str, type_code: str, title: str, body: str) -> Report:
    stay = find_by_public_id(Stay.objects.select_related("patient"), stay_id)
    if stay is None:
        raise InvalidInput(_("Séjour introuvable."), fields={"stay": _("Séjour introuvable.")})
    decision = access.decide(actor, stay, RecordAction.WRITE_REPORT)
    if not decision.allowed:
        refuse(actor, Action.CREATE, decision, patient=stay.patient, object_type=ObjectType.REPORT)
    if type_code not in ReportType.values:
        raise InvalidInput(_("Type de compte rendu inconnu."), fields={"type_code": _("Type de compte rendu inconnu.")})
    title, body = clean_text(title, body)
    with transaction.atomic():
        report = Report.objects.create(stay=stay, type_code=type_code, title=title, body=body, author=actor)
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type=ObjectType.REPORT,
            object_id=report.public_id,
        )
    return report


def report_update_draft(*, actor, report_id: uuid.UUID | str, title: str | None, body: str) -> Report:
    report = _report_for(actor, report_id)
    decision = access.decide(actor, report, RecordAction.SIGN_REPORT)  # same rule: the author, on a draft
    if not decision.allowed:
        refuse(
            actor,
            Action.UPDATE,
            decision,
            patient=report.stay.patient,
            object_type=ObjectType.REPORT,
            object_id=report.public_id,
        )
    title, body = clean_text(title if title is not None else report.title, body)
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status != ReportStatus.DRAFT:
            raise Conflict(_("Ce compte rendu est déjà signé ; il ne peut plus être modifié."))
        locked.title, locked.body = title, body
        locked.save(update_fields=["title", "body"])
        audit.record(
            actor=actor,
            action=Action.UPDATE,
            mode=decision.mode,
            patient_id=report.stay.patient.public_id,
            object_type=ObjectType.REPORT,
            object_id=report.public_id,
        )
    return locked


def hold_by_default(type_code: str) -> bool:
    """The signing choice offered first: "after the announcement consultation" for DMP_FEED_HOLD_TYPES."""
    return type_code in settings.DMP_FEED_HOLD_TYPES


def report_sign(*, actor, report_id: uuid.UUID | str, hold_from_patient: bool | None = None) -> Report:
    """Sign a draft: it becomes immutable and, in the same transaction, is offered to the feed.

    `hold_from_patient`: the signing doctor's choice, "visible to the patient now" (False) or "after the
    announcement consultation" (True: the DMP document stays invisible to her until released,
    docs/domain.md "Held reports"); None takes the default of the report's type (DMP_FEED_HOLD_TYPES).
    """
    report = _report_for(actor, report_id)
    decision = access.decide(actor, report, RecordAction.SIGN_REPORT)
    if not decision.allowed:
        refuse(
            actor,
            Action.SIGN,
            decision,
            patient=report.stay.patient,
            object_type=ObjectType.REPORT,
            object_id=report.public_id,
        )
    with transaction.atomic():
        # What the receivers need (the feed renders the signed PDF) comes with the lock.
        locked = (
            Report.objects.select_for_update(of=("self",))
            .select_related("stay__patient", "stay__unit", "author__professional_profile")
            .get(pk=report.pk)
        )
        if locked.status != ReportStatus.DRAFT:
            raise Conflict(_("Ce compte rendu est déjà signé."))
        locked.status, locked.signed_at = ReportStatus.SIGNED, timezone.now()
        locked.hold_from_patient = hold_by_default(locked.type_code) if hold_from_patient is None else hold_from_patient
        locked.save(update_fields=["status", "signed_at", "hold_from_patient"])
        audit.record(
            actor=actor,
            action=Action.SIGN,
            mode=decision.mode,
            patient_id=report.stay.patient.public_id,
            object_type=ObjectType.REPORT,
            object_id=report.public_id,
        )
        # Receivers (the DMP feed) write their outbox rows inside this transaction.
        report_signed.send(sender=Report, report=locked)
    return locked


def report_amend(*, actor, report_id: uuid.UUID | str, title: str | None, body: str) -> Report:
    """A correction of a signed report: a new draft version that replaces it once signed."""
    report = _report_for(actor, report_id)
    decision = access.decide(actor, report, RecordAction.AMEND_REPORT)
    if not decision.allowed:
        refuse(
            actor,
            Action.AMEND,
            decision,
            patient=report.stay.patient,
            object_type=ObjectType.REPORT,
            object_id=report.public_id,
        )
    title, body = clean_text(title if title is not None else report.title, body)
    with transaction.atomic():
        if Report.objects.select_for_update().filter(replaces=report).exists():
            raise Conflict(_("Ce compte rendu a déjà une version plus récente ; amendez celle-ci."))
        amendment = Report.objects.create(
            stay=report.stay,
            type_code=report.type_code,
            title=title,
            body=body,
            author=actor,
            version=report.version + 1,
            replaces=report,
        )
        audit.record(
            actor=actor,
            action=Action.AMEND,
            mode=decision.mode,
            patient_id=report.stay.patient.public_id,
            object_type=ObjectType.REPORT,
            object_id=amendment.public_id,
            object_ids=[report.public_id],
        )
    return amendment
