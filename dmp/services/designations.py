"""GP-level rights (médecin traitant DMP, CSP L.1111-16): the patient proposes, the doctor accepts, either ends them.

A designation is in force once the doctor accepts the patient's proposal in the portal, or records
it as made with the patient present (traced like an in-person consent). The right itself is the
guardian object permission `dmp.gp_rights` on the shared record, granted and withdrawn in the same
transaction as the designation's change; dmp/access.py reads that permission at every decision.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import User
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput
from chu_portal.ids import find_by_public_id

from .. import access
from ..constants import DesignationKind, DesignationStatus, DmpAction, NotificationKind
from ..models import BlockedProfessional, Designation, SharedRecord
from .notifications import notify, notify_patient
from .professionals import professional_by_rpps
from .records import managed_record, record_by_patient_id

PERMISSION = f"dmp.{access.GP_RIGHTS}"
OBJECT_TYPE = ObjectType.DMP_DESIGNATION
OPEN = (DesignationStatus.PROPOSED, DesignationStatus.ACTIVE)


def gp_of(record: SharedRecord) -> User | None:
    """The patient's médecin traitant in force, if any."""
    designation = (
        Designation.objects.filter(record=record, kind=DesignationKind.GP, status=DesignationStatus.ACTIVE)
        .select_related("doctor__professional_profile")
        .first()
    )
    return designation.doctor if designation else None


def _kind(kind) -> str:
    kind = kind or DesignationKind.GP
    if kind not in DesignationKind.values:
        message = _("Type de désignation inconnu.")
        raise InvalidInput(message, fields={"kind": message})
    return kind


def _designation(designation_id) -> Designation:
    designation = find_by_public_id(
        Designation.objects.select_related("record__patient", "doctor__professional_profile"), designation_id
    )
    if designation is None:
        raise AccessDenied(Decision.deny("not_found", _("Désignation introuvable."), status=404))
    return designation


def _trace(actor, action, mode, designation: Designation, reason: str = "") -> None:
    audit.record(
        actor=actor,
        action=action,
        mode=mode,
        patient_id=designation.record.patient.public_id,
        object_type=OBJECT_TYPE,
        object_id=designation.public_id,
        reason=reason or designation.kind,
    )


def _label(designation: Designation) -> str:
    if designation.kind == DesignationKind.GP:
        return _("médecin traitant")
    return _("médecin ayant les droits du médecin traitant")


def designation_propose(*, actor, patient_id=None, rpps: str, kind=DesignationKind.GP) -> Designation:
    """The patient proposes a doctor (her médecin traitant, or another with the same rights); he must accept."""
    record, decision = managed_record(actor, patient_id, DmpAction.DESIGNATION_PROPOSE, OBJECT_TYPE)
    kind = _kind(kind)
    doctor = professional_by_rpps(rpps)
    if not access.is_doctor(doctor):
        message = _("Seul un médecin peut recevoir les droits du médecin traitant.")
        raise InvalidInput(message, fields={"rpps": message})
    if BlockedProfessional.objects.filter(record=record, professional=doctor).exists():
        raise Conflict(_("Vous avez bloqué ce médecin : débloquez-le avant de le désigner."))
    try:
        with transaction.atomic():
            designation = Designation.objects.create(
                record=record, doctor=doctor, kind=kind, status=DesignationStatus.PROPOSED
            )
            _trace(actor, DmpAction.DESIGNATION_PROPOSE, decision.mode, designation)
            notify(
                recipient=doctor,
                kind=NotificationKind.DESIGNATION,
                message=_("%(p)s vous propose comme %(what)s dans son DMP : acceptez ou déclinez dans le portail.")
                % {"p": record.patient.display_name, "what": _label(designation)},
                record=record,
            )
    except IntegrityError:
        raise Conflict(_("Ce médecin a déjà une désignation en attente ou en vigueur dans votre DMP.")) from None
    return designation


def _bring_into_force(designation: Designation, now) -> None:
    """Make a designation active (ending the previous médecin traitant's) and grant its permission. In a transaction."""
    if designation.kind == DesignationKind.GP:
        previous = Designation.objects.select_for_update().filter(
            record=designation.record, kind=DesignationKind.GP, status=DesignationStatus.ACTIVE
        )
        for old in previous.exclude(pk=designation.pk):
            _end(old, by=designation.doctor, now=now)
    designation.status = DesignationStatus.ACTIVE
    designation.accepted_at = now
    designation.save(update_fields=["status", "accepted_at", "in_person"])
    assign_perm(PERMISSION, designation.doctor, designation.record)


def _end(designation: Designation, *, by, now) -> None:
    was_active = designation.status == DesignationStatus.ACTIVE
    designation.status = DesignationStatus.ENDED
    designation.ended_at = now
    designation.ended_by = by
    designation.save(update_fields=["status", "ended_at", "ended_by"])
    if was_active:
        remove_perm(PERMISSION, designation.doctor, designation.record)


def _own_proposal(actor, designation_id, action) -> Designation:
    """A proposal made to `actor`; anyone else is answered 404, and the attempt traced."""
    designation = _designation(designation_id)
    if designation.doctor_id != getattr(actor, "pk", None):
        audit.refuse(
            actor=actor,
            action=action,
            decision=Decision.deny("not_found", _("Désignation introuvable."), status=404),
            patient_id=designation.record.patient.public_id,
            object_type=OBJECT_TYPE,
        )
    return designation


def designation_accept(*, actor, designation_id) -> Designation:
    """The proposed doctor accepts: GP-level rights from now on; the patient is told."""
    designation = _own_proposal(actor, designation_id, DmpAction.DESIGNATION_ACCEPT)
    decision = access.decide_designation(actor, designation.record, in_person=False)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=DmpAction.DESIGNATION_ACCEPT,
            decision=decision,
            patient_id=designation.record.patient.public_id,
            object_type=OBJECT_TYPE,
            object_id=designation.public_id,
        )
    now = timezone.now()
    with transaction.atomic():
        locked = Designation.objects.select_for_update().select_related("record__patient").get(pk=designation.pk)
        if locked.status != DesignationStatus.PROPOSED:
            raise Conflict(_("Cette proposition n'est plus en attente."))
        locked.doctor = designation.doctor
        _bring_into_force(locked, now)
        _trace(actor, DmpAction.DESIGNATION_ACCEPT, decision.mode, locked)
        notify_patient(
            locked.record,
            NotificationKind.DESIGNATION,
            _("%(d)s a accepté d'être votre %(what)s : il voit tout votre DMP, documents masqués compris.")
            % {"d": actor.display_name, "what": _label(locked)},
        )
    return locked


def designation_decline(*, actor, designation_id) -> Designation:
    """The proposed doctor declines; the patient is told."""
    designation = _own_proposal(actor, designation_id, DmpAction.DESIGNATION_DECLINE)
    with transaction.atomic():
        locked = Designation.objects.select_for_update().select_related("record__patient").get(pk=designation.pk)
        if locked.status != DesignationStatus.PROPOSED:
            raise Conflict(_("Cette proposition n'est plus en attente."))
        locked.status = DesignationStatus.DECLINED
        locked.ended_at = timezone.now()
        locked.ended_by = actor
        locked.save(update_fields=["status", "ended_at", "ended_by"])
        _trace(actor, DmpAction.DESIGNATION_DECLINE, "", locked)
        notify_patient(
            locked.record,
            NotificationKind.DESIGNATION,
            _("%(d)s a décliné votre proposition.") % {"d": actor.display_name},
        )
    return locked


def designation_in_person(
    *, actor, patient_id=None, record: SharedRecord | None = None, kind=DesignationKind.GP, patient_present=False
) -> Designation:
    """The doctor records a designation the patient made in his consultation (presence attested); traced, she is told."""
    record = record or record_by_patient_id(patient_id)
    kind = _kind(kind)
    decision = access.decide_designation(actor, record, in_person=True)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=DmpAction.DESIGNATION_ACCEPT,
            decision=decision,
            patient_id=record.patient.public_id,
            object_type=OBJECT_TYPE,
        )
    if patient_present is not True:
        message = _("La désignation en consultation exige que le patient soit présent : cochez la case qui l'atteste.")
        raise InvalidInput(message, fields={"patient_present": message})
    now = timezone.now()
    with transaction.atomic():
        designation = (
            Designation.objects.select_for_update()
            .select_related("record__patient")
            .filter(record=record, doctor=actor, status__in=OPEN)
            .first()
        )
        if designation is not None and designation.status == DesignationStatus.ACTIVE:
            raise Conflict(_("Vous avez déjà les droits du médecin traitant sur ce DMP."))
        if designation is None:
            designation = Designation(record=record, doctor=actor, kind=kind, status=DesignationStatus.PROPOSED)
            designation.save()
        designation.kind = kind
        designation.in_person = True
        designation.save(update_fields=["kind"])
        _bring_into_force(designation, now)
        _trace(actor, DmpAction.DESIGNATION_ACCEPT, decision.mode, designation, reason=f"{kind},patient_present")
        notify_patient(
            record,
            NotificationKind.DESIGNATION,
            _(
                "%(d)s a enregistré que vous l'avez désigné comme %(what)s en consultation : il voit tout votre "
                "DMP, documents masqués compris. Vous pouvez retirer cette désignation à tout moment."
            )
            % {"d": actor.display_name, "what": _label(designation)},
        )
    return designation


def designation_remove(*, actor, designation_id) -> Designation:
    """The patient withdraws a designation (or a proposal), or the doctor steps down: the rights end at once."""
    designation = _designation(designation_id)
    record = designation.record
    if designation.doctor_id == getattr(actor, "pk", None):
        mode = Mode.GP if designation.status == DesignationStatus.ACTIVE else ""
    else:
        _record, decision = managed_record(actor, record.patient.public_id, DmpAction.DESIGNATION_END, OBJECT_TYPE)
        mode = decision.mode
    with transaction.atomic():
        locked = Designation.objects.select_for_update().select_related("record__patient").get(pk=designation.pk)
        if locked.status not in OPEN:
            raise Conflict(_("Cette désignation est déjà terminée."))
        locked.doctor = designation.doctor
        _end(locked, by=actor, now=timezone.now())
        _trace(actor, DmpAction.DESIGNATION_END, mode, locked)
        if designation.doctor_id == actor.pk:
            notify_patient(
                record,
                NotificationKind.DESIGNATION,
                _("%(d)s n'a plus les droits du médecin traitant sur votre DMP (à sa demande).")
                % {"d": actor.display_name},
            )
        else:
            notify(
                recipient=designation.doctor,
                kind=NotificationKind.DESIGNATION,
                message=_(
                    "%(p)s a retiré votre désignation : vous n'avez plus les droits du médecin traitant sur son DMP."
                )
                % {"p": record.patient.display_name},
                record=record,
            )
    return locked


def designations_list(*, actor, patient_id=None) -> list[Designation]:
    """The patient's designations, in force and pending first, then ended ones; one trace."""
    record, decision = managed_record(actor, patient_id, Action.LIST, OBJECT_TYPE)

    def load() -> list[Designation]:
        rows = list(
            Designation.objects.filter(record=record)
            .select_related("doctor__professional_profile")
            .order_by("status", "-proposed_at")
        )
        return sorted(rows, key=lambda d: (d.status not in OPEN, d.status != DesignationStatus.ACTIVE))

    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=record.patient.public_id,
        object_type=OBJECT_TYPE,
        load=load,
        shown=lambda rows: [d.public_id for d in rows],
    )


def designations_to_answer(*, actor) -> list[Designation]:
    """The proposals waiting for this doctor's answer (his inbox; patients' names only)."""
    return list(
        Designation.objects.filter(doctor=actor, status=DesignationStatus.PROPOSED)
        .select_related("record__patient")
        .order_by("-proposed_at")
    )
