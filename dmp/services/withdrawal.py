"""Withdrawal of a fed document, and the patient's objection to a document (CSP R.1111-47; issue 19, point 2).

- `document_withdraw`: the author or a doctor of the patient's care team withdraws a CHU report filed by
  mistake (wrong patient, wrong document). Every version of it (its lineage) takes the status `withdrawn`:
  it leaves every read channel for everybody (dmp/access.py `document_scope`), and stays in the database
  for the DPO and the traces. Notifications already sent stop naming it; the patient (if she saw it) and
  the doctors with GP-level rights are told that a document was withdrawn, never which. A withdrawal for
  a wrong patient records an identity-vigilance incident (records.IdentityIncident) the DPO lists.
- `objection_create` / `objection_answer`: the patient objects to a CHU document for a legitimate reason;
  the request goes to the unit of the stay the report was written in, whose doctors (or the author)
  withdraw it (reason `patient_objection`) or answer why not; she is told of the answer. Traced both ways.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput
from chu_portal.ids import find_by_public_id
from records.models import IdentityIncident, Report

from .. import access
from ..constants import DmpAction, DocumentStatus, NotificationKind, ObjectionStatus, WithdrawalReason
from ..models import DocumentObjection, Notification, SharedDocument
from .documents import document_decided, document_load
from .notifications import notify_gp_level, notify_patient

NOTE_MAX = 2000
# The reasons a professional chooses; `patient_objection` comes only with an upheld objection.
PROFESSIONAL_REASONS = (WithdrawalReason.WRONG_PATIENT, WithdrawalReason.WRONG_DOCUMENT)


def _clean_note(note, *, field: str, required: bool, message: str) -> str:
    note = (note or "").strip()
    if required and not note:
        raise InvalidInput(message, fields={field: message})
    if len(note) > NOTE_MAX:
        said = _("%(n)s caractères au plus.") % {"n": NOTE_MAX}
        raise InvalidInput(said, fields={field: said})
    return note


def withdrawal_form(*, actor, document_id) -> tuple[SharedDocument, Decision]:
    """The withdrawal page: the document named to its author or the care team, decided and traced."""
    return audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.DMP_DOCUMENT,
        load=lambda: document_load(document_id),
        decide=lambda document: access.decide_withdraw(actor, document),
        describe=lambda document: (document.record.patient.public_id, document.public_id),
    )


def document_for_report(report_id) -> SharedDocument | None:
    """The DMP document a signed report version was filed as (the record page's way to the withdrawal)."""
    return SharedDocument.objects.filter(source_report_id=report_id).only("public_id").first()


def document_withdraw(*, actor, document_id, reason: str, note: str = "") -> SharedDocument:
    """Withdraw a fed CHU document filed by mistake: every version, traced; notifications follow."""
    document, decision = document_decided(actor, document_id, access.decide_withdraw, DmpAction.WITHDRAW)
    if reason not in PROFESSIONAL_REASONS:
        said = _("Choisissez le motif du retrait : mauvais patient ou mauvais document.")
        raise InvalidInput(said, fields={"reason": said})
    note = _clean_note(
        note, field="note", required=True, message=_("Précisez en quelques mots pourquoi le document est retiré.")
    )
    with transaction.atomic():
        withdrawn = _withdraw(actor=actor, document=document, reason=reason, note=note, mode=decision.mode)
    return withdrawn


def _withdraw(*, actor, document: SharedDocument, reason: str, note: str, mode: str) -> SharedDocument:
    """In the caller's transaction: every version withdrawn, traced, notifications rewritten and sent."""
    record = document.record
    versions = list(SharedDocument.objects.select_for_update().filter(lineage=document.lineage).order_by("id"))
    if any(v.pk == document.pk and v.status == DocumentStatus.WITHDRAWN for v in versions):
        raise Conflict(_("Ce document a déjà été retiré du DMP."))
    versions = [v for v in versions if v.status != DocumentStatus.WITHDRAWN]
    seen_by_patient = any(v.visible_to_patient and v.deleted_at is None for v in versions)
    now = timezone.now()
    ids = [v.pk for v in versions]
    SharedDocument.objects.filter(pk__in=ids).update(
        status=DocumentStatus.WITHDRAWN,
        withdrawn_at=now,
        withdrawn_by=actor,
        withdrawal_reason=reason,
        withdrawal_note=note,
    )
    audit.record(
        actor=actor,
        action=DmpAction.WITHDRAW,
        mode=mode,
        patient_id=record.patient.public_id,
        object_type=ObjectType.DMP_DOCUMENT,
        object_id=document.public_id,
        object_ids=[v.public_id for v in versions if v.pk != document.pk],
        reason=reason,
    )
    _unname(record, ids)
    if reason == WithdrawalReason.WRONG_PATIENT:
        _record_incident(actor=actor, document=document, note=note, mode=mode)
    if seen_by_patient:
        notify_patient(record, NotificationKind.WITHDRAWAL, _("Un document a été retiré de votre DMP."))
    notify_gp_level(
        record,
        NotificationKind.WITHDRAWAL,
        _("Un document a été retiré du DMP de votre patient(e) %(p)s.") % {"p": record.patient.display_name},
        exclude=actor,
    )
    document.refresh_from_db()
    return document


def _unname(record, document_pks: list[int]) -> None:
    """Notifications already sent about a withdrawn document stop naming it (and stop linking to it)."""
    sent = Notification.objects.filter(document__in=document_pks)
    sent.filter(recipient__role=Role.PATIENT).update(message=_("Un document a été retiré de votre DMP."), document=None)
    sent.exclude(recipient__role=Role.PATIENT).update(
        message=_("Un document a été retiré du DMP de votre patient(e) %(p)s.") % {"p": record.patient.display_name},
        document=None,
    )


def _record_incident(*, actor, document: SharedDocument, note: str, mode: str) -> None:
    report = Report.objects.filter(public_id=document.source_report_id).first()
    incident = IdentityIncident.objects.create(
        patient=document.record.patient, report=report, document_id=document.public_id, reported_by=actor, note=note
    )
    audit.record(
        actor=actor,
        action=Action.CREATE,
        mode=mode,
        patient_id=document.record.patient.public_id,
        object_type=ObjectType.IDENTITY_INCIDENT,
        object_id=incident.public_id,
        object_ids=[document.public_id],
    )


# --- The patient's objection ------------------------------------------------------------------------------


def objection_form(*, actor, document_id) -> tuple[SharedDocument, Decision]:
    """The objection page: the patient's document, decided (she may object to it) and traced."""
    return audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.DMP_DOCUMENT,
        load=lambda: document_load(document_id),
        decide=lambda document: access.decide_objection(actor, document),
        describe=lambda document: (document.record.patient.public_id, document.public_id),
    )


def objection_open(*, actor, objection_id) -> tuple[DocumentObjection, Decision]:
    """One objection to answer (the unit's doctors, the author), decided and traced."""
    return audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.DMP_OBJECTION,
        load=lambda: _objection(objection_id),
        decide=lambda objection: access.decide_objection_answer(actor, objection),
        describe=lambda objection: (objection.document.record.patient.public_id, objection.public_id),
    )


def objection_create(*, actor, document_id, reason: str) -> DocumentObjection:
    """The patient objects to a CHU document of her DMP for a legitimate reason; it goes to the author's unit."""
    document, decision = document_decided(actor, document_id, access.decide_objection, DmpAction.OBJECTION_CREATE)
    patient_id = document.record.patient.public_id
    reason = _clean_note(
        reason, field="reason", required=True, message=_("Indiquez le motif légitime de votre opposition.")
    )
    report = Report.objects.select_related("stay").get(public_id=document.source_report_id)
    with transaction.atomic():
        objection = DocumentObjection.objects.create(
            document=document, requested_by=actor, unit_id=report.stay.unit_id, reason=reason
        )
        audit.record(
            actor=actor,
            action=DmpAction.OBJECTION_CREATE,
            mode=decision.mode,
            patient_id=patient_id,
            object_type=ObjectType.DMP_OBJECTION,
            object_id=objection.public_id,
            object_ids=[document.public_id],
        )
    return objection


def _objection(objection_id) -> DocumentObjection:
    objection = find_by_public_id(
        DocumentObjection.objects.select_related("document__record__patient__account", "unit"), objection_id
    )
    if objection is None:
        raise AccessDenied(Decision.deny("not_found", _("Opposition introuvable."), status=404))
    return objection


def objection_answer(*, actor, objection_id, uphold: bool, answer: str = "") -> DocumentObjection:
    """The unit withdraws the document (reason patient_objection) or answers why not; the patient is told."""
    objection = _objection(objection_id)
    decision = access.decide_objection_answer(actor, objection)
    document = objection.document
    patient_id = document.record.patient.public_id
    action = DmpAction.OBJECTION_UPHOLD if uphold else DmpAction.OBJECTION_DECLINE
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=action,
            decision=decision,
            patient_id=patient_id,
            object_type=ObjectType.DMP_OBJECTION,
            object_id=objection.public_id,
        )
    answer = _clean_note(
        answer,
        field="answer",
        required=not uphold,
        message=_("Expliquez au patient pourquoi le document reste dans son DMP."),
    )
    with transaction.atomic():
        locked = DocumentObjection.objects.select_for_update().get(pk=objection.pk)
        if locked.status != ObjectionStatus.OPEN:
            raise Conflict(_("Cette opposition a déjà reçu une réponse."))
        locked.status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DECLINED
        locked.answer, locked.answered_by, locked.answered_at = answer, actor, timezone.now()
        locked.save(update_fields=["status", "answer", "answered_by", "answered_at"])
        audit.record(
            actor=actor,
            action=action,
            mode=decision.mode,
            patient_id=patient_id,
            object_type=ObjectType.DMP_OBJECTION,
            object_id=objection.public_id,
            object_ids=[document.public_id],
        )
        if uphold:
            if document.status != DocumentStatus.WITHDRAWN:
                note = answer or _("Opposition du patient acceptée.")
                _withdraw(
                    actor=actor,
                    document=document,
                    reason=WithdrawalReason.PATIENT_OBJECTION,
                    note=note,
                    mode=decision.mode,
                )
            message = _("Votre opposition a été acceptée : le document a été retiré de votre DMP.")
        else:
            message = _(
                "Le CHU a répondu à votre opposition : le document reste dans votre DMP. "
                "La réponse est dans « Mes oppositions »."
            )
        notify_patient(document.record, NotificationKind.OBJECTION, message)
    locked.document = document
    return locked


def objections_to_answer(*, actor) -> list[DocumentObjection]:
    """Open objections for the actor's units (or his documents), oldest first; one trace names them."""
    if not access.is_doctor(actor):
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=Decision.deny("forbidden", _("Les oppositions sont examinées par les médecins de l'unité.")),
            object_type=ObjectType.DMP_OBJECTION,
        )
    queryset = (
        access.objections_to_answer(actor)
        .select_related("document__record__patient", "unit", "requested_by")
        .order_by("created_at", "id")
    )
    return audit.list_traced(
        actor=actor,
        mode=Mode.CARE_TEAM,
        object_type=ObjectType.DMP_OBJECTION,
        load=lambda: list(queryset[:200]),
        shown=lambda rows: [o.public_id for o in rows],
    )


def my_objections(*, actor, record) -> list[DocumentObjection]:
    """The patient's own objections with their answers (a withdrawn document is not named: see `title_shown`)."""
    decision = access.decide_manage(actor, record)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=decision,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_OBJECTION,
        )
    queryset = (
        DocumentObjection.objects.filter(document__record=record)
        .select_related("document", "unit")
        .order_by("-created_at", "-id")
    )

    def load():
        rows = list(queryset[:200])
        for row in rows:
            shown = row.document.status != DocumentStatus.WITHDRAWN and row.document.visible_to_patient
            row.title_shown = row.document.title if shown else ""
        return rows

    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=record.patient.public_id,
        object_type=ObjectType.DMP_OBJECTION,
        load=load,
        shown=lambda rows: [o.public_id for o in rows],
    )
