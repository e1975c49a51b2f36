"""Care across units: transfers, opinion requests and their answers, handover notes, stays without a letter."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, Unit, User
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import Conflict, Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404

from .. import access, selectors
from ..access import RecordAction
from ..constants import CareAction, ReportStatus, ReportType
from ..models import (
    HandoverNote,
    OpinionRequest,
    OpinionStatus,
    Report,
    Stay,
    StayMovement,
)
from ..signals import report_signed
from .base import clean_text, refuse, stay_by_id, unit_by_code


def stay_transfer(*, actor, stay_id, unit_code: str, at=None) -> StayMovement:
    """Move a patient to another unit within the stay; that unit's team then reads the record."""
    stay = stay_by_id(stay_id)
    decision = access.decide(actor, stay, RecordAction.TRANSFER)
    if not decision.allowed:
        refuse(
            actor, Action.UPDATE, decision, patient=stay.patient, object_type=ObjectType.STAY, object_id=stay.public_id
        )
    unit = unit_by_code(unit_code)
    at = at or timezone.now()
    if stay.discharged_at is not None:
        raise Conflict(_("Ce séjour est terminé : le patient ne peut plus être transféré."))
    if at < stay.admitted_at:
        raise InvalidInput(_("Le transfert ne peut précéder l'admission."), fields={"at": _("Date invalide.")})
    with transaction.atomic():
        current = stay.movements.order_by("-at").values_list("unit_id", flat=True).first() or stay.unit_id
        if current == unit.pk:
            raise Conflict(_("Le patient est déjà dans cette unité."))
        movement = StayMovement.objects.create(stay=stay, unit=unit, at=at)
        audit.record(
            actor=actor,
            action=CareAction.TRANSFER,
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type=ObjectType.STAY,
            object_id=stay.public_id,
            reason=unit.code,
        )
    return movement


def opinion_request_create(
    *, actor, stay_id, question: str, consulted_username: str = "", consulted_unit_code: str = ""
) -> OpinionRequest:
    """Demande d'avis: the consulted doctor (or unit's doctors) may then read the record until it ends."""
    stay = stay_by_id(stay_id)
    decision = access.decide(actor, stay, RecordAction.REQUEST_OPINION)
    if not decision.allowed:
        refuse(
            actor, CareAction.REQUEST_OPINION, decision, patient=stay.patient, object_type=ObjectType.OPINION_REQUEST
        )
    question = (question or "").strip()
    if len(question) < 10:
        raise InvalidInput(
            _("Formulez la question posée (10 caractères au moins)."), fields={"question": _("Question trop courte.")}
        )
    doctor, unit = None, None
    if consulted_username:
        doctor = User.objects.filter(
            username=consulted_username.strip(), role=Role.CHU_CLINICIAN, is_active=True
        ).first()
        if doctor is None:
            raise InvalidInput(_("Médecin du CHU introuvable."), fields={"consulted": _("Médecin introuvable.")})
        if doctor.pk == actor.pk:
            raise InvalidInput(
                _("On ne se demande pas un avis à soi-même."), fields={"consulted": _("Choisissez un confrère.")}
            )
    elif consulted_unit_code:
        unit = unit_by_code(consulted_unit_code)
        if unit.staff.filter(user=actor).exists():
            # One's own unit already reads the record as the care team: a request to it would
            # only open a window that outlives the care team's (or an emergency access).
            raise InvalidInput(
                _("On ne demande pas un avis à sa propre unité : choisissez une autre unité ou un confrère."),
                fields={"consulted": _("Choisissez une unité où vous ne travaillez pas.")},
            )
    else:
        raise InvalidInput(_("Choisissez le médecin ou l'unité consultés."), fields={"consulted": _("Obligatoire.")})
    with transaction.atomic():
        opinion = OpinionRequest.objects.create(
            patient=stay.patient,
            stay=stay,
            requested_by=actor,
            consulted_doctor=doctor,
            consulted_unit=unit,
            question=question,
        )
        audit.record(
            actor=actor,
            action=CareAction.REQUEST_OPINION,
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type=ObjectType.OPINION_REQUEST,
            object_id=opinion.public_id,
        )
    return opinion


def _opinion(opinion_id) -> OpinionRequest:
    opinion = get_by_public_id_or_404(
        OpinionRequest.objects.select_related("patient", "stay", "requested_by", "consulted_doctor", "consulted_unit"),
        opinion_id,
        _("Demande d'avis introuvable."),
    )
    return opinion


def opinion_answer(*, actor, opinion_id, body: str, title: str = "") -> OpinionRequest:
    """The consulted doctor answers with a consultation note, signed, that joins the record."""
    opinion = _opinion(opinion_id)
    decision = access.decide(actor, opinion, RecordAction.ANSWER_OPINION)
    if not decision.allowed:
        if decision.code == "conflict":
            raise Conflict(decision.message)
        refuse(
            actor,
            CareAction.ANSWER_OPINION,
            decision,
            patient=opinion.patient,
            object_type=ObjectType.OPINION_REQUEST,
            object_id=opinion.public_id,
        )
    title, body = clean_text(title or _("Avis — consultation"), body)
    with transaction.atomic():
        locked = OpinionRequest.objects.select_for_update().get(pk=opinion.pk)
        if locked.status != OpinionStatus.OPEN:
            raise Conflict(_("Cette demande d'avis est déjà close."))
        now = timezone.now()
        if access.opinion_is_expired(locked, now):
            raise Conflict(access.opinion_expired_message())
        note = Report.objects.create(
            stay=opinion.stay,
            type_code=ReportType.CONSULTATION_REPORT,
            title=title,
            body=body,
            author=actor,
            status=ReportStatus.SIGNED,
            signed_at=now,
            # The note is signed by answering: its type's default choice (docs/domain.md, "Held reports").
            hold_from_patient=ReportType.CONSULTATION_REPORT in settings.DMP_FEED_HOLD_TYPES,
        )
        locked.status, locked.finished_at, locked.answered_by, locked.answer = OpinionStatus.ANSWERED, now, actor, note
        locked.save(update_fields=["status", "finished_at", "answered_by", "answer"])
        audit.record(
            actor=actor,
            action=CareAction.ANSWER_OPINION,
            mode=decision.mode,
            patient_id=opinion.patient.public_id,
            object_type=ObjectType.OPINION_REQUEST,
            object_id=opinion.public_id,
            object_ids=[note.public_id],
        )
        report_signed.send(sender=Report, report=note)
    return locked


def opinion_close(*, actor, opinion_id) -> OpinionRequest:
    """The requesting doctor closes a request left unanswered and not expired (the grace period then starts)."""
    opinion = _opinion(opinion_id)
    if opinion.requested_by_id != actor.pk:
        refuse(
            actor,
            CareAction.CLOSE_OPINION,
            Decision.deny("forbidden", _("Seul le médecin qui a demandé l'avis peut clore la demande.")),
            patient=opinion.patient,
            object_type=ObjectType.OPINION_REQUEST,
            object_id=opinion.public_id,
        )
    with transaction.atomic():
        locked = OpinionRequest.objects.select_for_update().get(pk=opinion.pk)
        if locked.status != OpinionStatus.OPEN:
            raise Conflict(_("Cette demande d'avis est déjà close."))
        if access.opinion_is_expired(locked):
            # Closing now would restart the consulted doctor's grace period: an expired request stays as it is.
            raise Conflict(_("Cette demande d'avis a déjà expiré ; il n'y a rien à clore."))
        locked.status, locked.finished_at = OpinionStatus.CLOSED, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        audit.record(
            actor=actor,
            action=CareAction.CLOSE_OPINION,
            mode=Mode.CARE_TEAM,
            patient_id=opinion.patient.public_id,
            object_type=ObjectType.OPINION_REQUEST,
            object_id=opinion.public_id,
        )
    return locked


def opinions_inbox(*, actor) -> tuple[list[OpinionRequest], list[OpinionRequest]]:
    """Requests addressed to the caller (open, or answered, closed or expired within the grace period)
    and those the caller sent; traced."""
    if not actor.is_chu_staff:
        refuse(
            actor,
            Action.LIST,
            Decision.deny("forbidden", _("Réservé aux médecins du CHU.")),
            patient=None,
            object_type=ObjectType.OPINION_REQUEST,
        )
    related = (
        "patient",
        "stay__unit",
        "requested_by__professional_profile",
        "consulted_doctor",
        "consulted_unit",
        "answer",
    )

    def load() -> tuple[list[OpinionRequest], list[OpinionRequest]]:
        received = access.opinions_giving_access(actor).select_related(*related).order_by("status", "-created_at")
        sent = OpinionRequest.objects.filter(requested_by=actor).select_related(*related)
        return list(received[:100]), list(sent.order_by("status", "-created_at")[:100])

    received, sent = audit.list_traced(
        actor=actor,
        mode=Mode.NONE,
        object_type=ObjectType.OPINION_REQUEST,
        load=load,
        shown=lambda boxes: [o.public_id for o in boxes[0] + boxes[1]],
    )
    return received, sent


def handover_add(*, actor, stay_id, body: str) -> HandoverNote:
    """Transmissions: a note between teams, written under the care-team rule."""
    stay = stay_by_id(stay_id)
    decision = access.decide(actor, stay, RecordAction.WRITE_HANDOVER)
    if not decision.allowed:
        refuse(actor, Action.CREATE, decision, patient=stay.patient, object_type=ObjectType.HANDOVER_NOTE)
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("La transmission est vide."), fields={"body": _("Obligatoire.")})
    if len(body) > 5000:
        raise InvalidInput(_("La transmission dépasse 5 000 caractères."), fields={"body": _("Trop long.")})
    units = Unit.objects.filter(staff__user=actor)
    unit = (
        units.filter(pk__in=[stay.unit_id, *stay.movements.values_list("unit_id", flat=True)]).first() or units.first()
    )
    with transaction.atomic():
        note = HandoverNote.objects.create(stay=stay, author=actor, unit=unit, body=body)
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type=ObjectType.HANDOVER_NOTE,
            object_id=note.public_id,
        )
    return note


def stays_missing_letter(*, actor) -> list[Stay]:
    """The caller's units' hospitalisations discharged without a signed discharge letter, oldest first; traced."""
    if not actor.is_chu_staff:
        refuse(
            actor,
            Action.LIST,
            Decision.deny("forbidden", _("Réservé aux équipes du CHU.")),
            patient=None,
            object_type=ObjectType.STAY,
        )
    return audit.list_traced(
        actor=actor,
        mode=Mode.CARE_TEAM,
        object_type=ObjectType.STAY,
        load=lambda: list(selectors.stays_without_letter(Unit.objects.filter(staff__user=actor))[:500]),
        shown=lambda stays: [s.public_id for s in stays],
    )
