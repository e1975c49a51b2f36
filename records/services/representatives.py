"""Representatives: a parent or guardian recorded at the admission desk, a trusted representative named by the
adult patient, their end (by hand, or by itself at majority or at the court decision's end); each traced."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import throttling
from accounts.models import Role
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import Conflict, Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404

from .. import access
from ..constants import RepresentationAction, RepresentationKind
from ..models import Patient, Representation
from .base import patient_by_id, refuse


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _as_moment(value, field: str) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, datetime.date):
        return _start_of(value)
    try:
        return _start_of(datetime.date.fromisoformat(str(value)))
    except ValueError as exc:
        raise InvalidInput(_("Date invalide (AAAA-MM-JJ attendu)."), fields={field: _("Date invalide.")}) from exc


def _representative_account(username: str, patient: Patient):
    """The representative's account: an account of role patient, not the patient's own."""
    account = get_user_model().objects.filter(username=(username or "").strip(), role=Role.PATIENT).first()
    if account is None or account.pk == patient.account_id:
        raise InvalidInput(
            _("Aucun compte patient ne porte cet identifiant."),
            fields={"representative": _("Compte introuvable.")},
        )
    return account


def majority_moment(patient: Patient) -> datetime.datetime:
    """The start of the patient's 18th birthday, local time: a parent's representation ends then."""
    return _start_of(access.majority_date(patient))


def representation_record(
    *,
    actor,
    patient_id=None,
    patient: Patient | None = None,
    representative: str,
    kind: str,
    relation: str = "",
    starts=None,
    ends=None,
    identity_checked: bool = False,
) -> Representation:
    """CHU staff record a parent or guardian, identity and quality checked (traced, mode none).

    A parent's representation ends at the patient's majority (never later); a guardian's at the end of
    the court decision's measure when it has one.
    """
    patient = patient or patient_by_id(patient_id)
    if kind not in (RepresentationKind.PARENT, RepresentationKind.GUARDIAN):
        raise InvalidInput(_("Qualité inconnue."), fields={"kind": _("Parent ou tuteur.")})
    decision = access.decide_representation_record(actor, patient, kind)
    if not decision.allowed:
        refuse(actor, RepresentationAction.RECORD, decision, patient=patient, object_type=ObjectType.REPRESENTATION)
    if not identity_checked:
        raise InvalidInput(
            _(
                "Vérifiez l'identité du représentant et sa qualité (livret de famille, jugement) avant de l'enregistrer."
            ),
            fields={"identity_checked": _("Vérification requise.")},
        )
    account = _representative_account(representative, patient)
    starts = _as_moment(starts, "starts") or timezone.now()
    ends = _as_moment(ends, "ends")
    if kind == RepresentationKind.PARENT:
        majority = majority_moment(patient)
        ends = min(ends, majority) if ends else majority
    if ends is not None and ends <= starts:
        raise InvalidInput(_("La fin doit suivre le début."), fields={"ends": _("Date de fin invalide.")})
    relation = " ".join((relation or "").split())[:40]
    with transaction.atomic():
        if Representation.objects.filter(representative=account, patient=patient, ended_at__isnull=True).exists():
            raise Conflict(_("Ce représentant est déjà enregistré pour ce patient."))
        representation = Representation.objects.create(
            representative=account,
            patient=patient,
            kind=kind,
            relation=relation,
            starts=starts,
            ends=ends,
            recorded_by=actor,
            identity_checked=True,
        )
        audit.record(
            actor=actor,
            action=RepresentationAction.RECORD,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.REPRESENTATION,
            object_id=representation.public_id,
        )
    return representation


def trusted_representative_name(*, actor, representative: str, ends=None) -> Representation:
    """The adult patient names a trusted representative herself: reads her DMP only, revocable (traced)."""
    patient = Patient.objects.filter(account=actor).first() if getattr(actor, "is_authenticated", False) else None
    if patient is None:
        refuse(
            actor,
            RepresentationAction.NAME_TRUSTED,
            Decision.deny("not_found", _("Aucun dossier n'est rattaché à ce compte."), status=404),
            patient=None,
            object_type=ObjectType.REPRESENTATION,
        )
    decision = access.decide_trusted_naming(actor, patient)
    if not decision.allowed:
        refuse(
            actor, RepresentationAction.NAME_TRUSTED, decision, patient=patient, object_type=ObjectType.REPRESENTATION
        )
    # Every attempt counts, found or not: "no such account" must not become a way to list the portal's accounts.
    throttling.limit(throttling.TRUSTED_NAMING, actor.pk, actor=actor)
    account = _representative_account(representative, patient)
    now = timezone.now()
    ends = _as_moment(ends, "ends")
    if ends is not None and ends <= now:
        raise InvalidInput(_("La fin doit être à venir."), fields={"ends": _("Date de fin invalide.")})
    with transaction.atomic():
        if Representation.objects.filter(representative=account, patient=patient, ended_at__isnull=True).exists():
            raise Conflict(_("Cette personne vous représente déjà."))
        representation = Representation.objects.create(
            representative=account,
            patient=patient,
            kind=RepresentationKind.TRUSTED,
            starts=now,
            ends=ends,
            recorded_by=actor,
        )
        audit.record(
            actor=actor,
            action=RepresentationAction.NAME_TRUSTED,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.REPRESENTATION,
            object_id=representation.public_id,
        )
    return representation


def representation_end(*, actor, representation_id) -> Representation:
    """End a representation now: staff, the representative herself, or the patient for her trusted one (traced)."""
    representation = get_by_public_id_or_404(
        Representation.objects.select_related("patient", "representative"),
        representation_id,
        _("Représentation introuvable."),
    )
    decision = access.decide_representation_end(actor, representation)
    if not decision.allowed:
        refuse(
            actor,
            RepresentationAction.END,
            decision,
            patient=representation.patient if decision.status != 404 else None,
            object_type=ObjectType.REPRESENTATION,
            object_id=representation.public_id,
        )
    with transaction.atomic():
        locked = Representation.objects.select_for_update().get(pk=representation.pk)
        if locked.ended_at is not None:
            raise Conflict(_("Cette représentation a déjà pris fin."))
        locked.ended_at, locked.ended_by = timezone.now(), actor
        locked.save(update_fields=["ended_at", "ended_by"])
        audit.record(
            actor=actor,
            action=RepresentationAction.END,
            mode=decision.mode,
            patient_id=representation.patient.public_id,
            object_type=ObjectType.REPRESENTATION,
            object_id=representation.public_id,
        )
    locked.patient, locked.representative = representation.patient, representation.representative
    return locked


@dataclass
class Ended:
    representation: Representation
    at_majority: bool


def representations_end_due(now=None) -> list[Ended]:
    """Close every representation past its end (a parent's at majority, a guardian's at the court's date), each traced.

    Access already stopped at `ends` (checked in SQL at every decision): this writes down that it ended,
    with the system as actor. Run daily by Celery beat; idempotent.
    """
    now = now or timezone.now()
    ended = []
    due = Representation.objects.filter(ended_at__isnull=True, ends__lte=now).select_related("patient")
    for representation in due.order_by("pk"):
        with transaction.atomic():
            locked = Representation.objects.select_for_update().filter(pk=representation.pk, ended_at__isnull=True)
            if not locked.update(ended_at=representation.ends):
                continue
            at_majority = representation.kind == RepresentationKind.PARENT
            audit.record(
                actor=None,
                action=RepresentationAction.MAJORITY if at_majority else RepresentationAction.END,
                mode=Mode.NONE,
                patient_id=representation.patient.public_id,
                object_type=ObjectType.REPRESENTATION,
                object_id=representation.public_id,
            )
        ended.append(Ended(representation, at_majority))
    return ended


def representations_list(*, actor, patient_id) -> list[Representation]:
    """A patient's representations, newest first, ended ones included: CHU staff, or the patient herself (traced)."""
    patient = patient_by_id(patient_id)
    decision = access.decide_representations_list(actor, patient)
    if not decision.allowed:
        refuse(actor, Action.LIST, decision, patient=patient, object_type=ObjectType.REPRESENTATION)
    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=patient.public_id,
        object_type=ObjectType.REPRESENTATION,
        load=lambda: list(
            Representation.objects.filter(patient=patient)
            .select_related("representative", "patient")
            .order_by("-starts", "-id")
        ),
        shown=lambda rows: [r.public_id for r in rows],
    )
