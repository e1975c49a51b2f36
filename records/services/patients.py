"""Patients in the hospital record: search, the care team's list, identity, the record opened, identity qualified."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput

from .. import access, ins, selectors
from ..access import RecordAction
from ..constants import IdentityAction, InsStatus
from ..models import (
    Patient,
    Stay,
)
from ..signals import identity_qualified, report_feed_states
from .base import patient_by_id, refuse

SEARCH_LIMIT = 50


def patient_search(*, actor, query: str, page: int = 1, page_size: int = SEARCH_LIMIT) -> tuple[list[Patient], int]:
    """CHU staff search identities; one trace names the patients shown. Returns (page, total)."""
    decision = access.decide(actor, None, RecordAction.SEARCH)
    if not decision.allowed:
        refuse(actor, Action.SEARCH, decision, patient=None, object_type=ObjectType.PATIENT)
    found = selectors.patient_search_queryset(query)
    start = (max(page, 1) - 1) * page_size

    def load() -> tuple[list[Patient], int]:
        ordered = access.with_access_flags(found, actor).order_by("birth_name", "first_names", "birth_date", "pk")
        return list(ordered[start : start + page_size]), found.count()

    patients, total = audit.list_traced(
        actor=actor,
        action=Action.SEARCH,
        mode=decision.mode,
        object_type=ObjectType.PATIENT,
        load=load,
        shown=lambda result: [p.public_id for p in result[0]],
    )
    return patients, total


def care_team_patients(*, actor, limit: int = 200) -> list[Patient]:
    """Patients whose record `actor` may read now (care team or emergency), newest stay first; traced."""
    decision = access.decide(actor, None, RecordAction.SEARCH)
    if not decision.allowed:
        refuse(actor, Action.LIST, decision, patient=None, object_type=ObjectType.PATIENT)
    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        object_type=ObjectType.PATIENT,
        load=lambda: list(selectors.patients_in_care(actor)[:limit]),
        shown=lambda patients: [p.public_id for p in patients],
    )


def patient_get(*, actor, patient_id: uuid.UUID | str) -> Patient:
    """A patient's identity (CHU staff); read, decided and traced in one transaction."""
    patient, _decision = audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.PATIENT_IDENTITY,
        load=lambda: patient_by_id(patient_id),
        decide=lambda patient: access.decide(actor, patient, RecordAction.READ_IDENTITY),
        describe=lambda patient: (patient.public_id, patient.public_id),
    )
    return patient


@dataclass
class HospitalRecord:
    patient: Patient
    stays: list[Stay]
    decision: Decision
    # report pk -> what became of it after signing (the DMP's feed state), when asked for.
    feed_states: dict = field(default_factory=dict)

    @property
    def report_ids(self) -> list[uuid.UUID]:
        return [r.public_id for s in self.stays for r in s.reports.all()]


def record_open(*, actor, patient_id: uuid.UUID | str, feed_states: bool = False) -> HospitalRecord:
    """A patient's hospital record for `actor`: one trace naming every stay and report shown.

    `feed_states`: also what became of each signed report after signing (waiting for the identity,
    delivered, held from the patient, released, withdrawn), answered by the DMP's receiver of
    `report_feed_states` (records never imports dmp), in a bounded number of queries.
    """
    patient = patient_by_id(patient_id)
    decision = access.decide(actor, patient, RecordAction.READ_RECORD)
    if not decision.allowed:
        refuse(
            actor,
            Action.READ,
            decision,
            patient=patient,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=patient.public_id,
        )
    with transaction.atomic():
        stays = list(selectors.record_stays(actor, patient))
        record = HospitalRecord(patient=patient, stays=stays, decision=decision)
        if feed_states:
            signed = [r for s in stays for r in s.reports.all() if r.is_signed]
            for _receiver, states in report_feed_states.send(sender=Patient, actor=actor, reports=signed):
                record.feed_states.update(states or {})
            for stay in stays:
                for report in stay.reports.all():
                    report.feed_state = record.feed_states.get(report.pk)
        audit.record(
            actor=actor,
            action=Action.READ,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.HOSPITAL_RECORD,
            object_id=patient.public_id,
            object_ids=[s.public_id for s in stays] + record.report_ids,
        )
    return record


def _refuse_identity(actor, action, decision, patient) -> None:
    refuse(
        actor,
        action,
        decision,
        patient=patient,
        object_type=ObjectType.PATIENT_IDENTITY,
        object_id=patient.public_id,
    )


def _retrieval_failed(actor, patient: Patient, code: str, message: str, reason: str = "") -> Conflict:
    """A retrieval that changed nothing: traced as a refusal naming why (in its own transaction), answered 409."""
    audit.record_refusal(
        actor=actor,
        action=IdentityAction.RETRIEVE_INS,
        code=code,
        patient_id=patient.public_id,
        object_type=ObjectType.PATIENT_IDENTITY,
        object_id=patient.public_id,
        reason=reason,
    )
    return Conflict(message)


def identity_retrieve_ins(*, actor, patient_id: uuid.UUID | str) -> Patient:
    """Identity vigilance: ask the INSi seam (records/ins.py) for the patient's INS by her traits.

    The national traits must equal the local ones exactly (`ins.differences`); then the matricule and OID
    returned are recorded and the identity becomes `retrieved`, or `qualified` when the ID document was
    already checked (`validated`): what waited for it goes. Not found, a mismatch or a matricule already
    held by another patient change nothing and are traced (409 with the reason).
    """
    patient = patient_by_id(patient_id)
    decision = access.decide(actor, patient, RecordAction.RETRIEVE_INS)
    if not decision.allowed:
        _refuse_identity(actor, IdentityAction.RETRIEVE_INS, decision, patient)
    if patient.ins_retrieved_at is not None:
        raise Conflict(_("L'INS de ce patient a déjà été récupérée auprès du téléservice INSi."))
    traits = ins.Traits.of(patient)
    # The national service is asked outside any transaction (a network call in real life).
    found = ins.client().retrieve(traits)
    if found is None:
        raise _retrieval_failed(
            actor,
            patient,
            "ins_not_found",
            _(
                "Le téléservice INSi ne trouve aucune identité unique pour ces traits (nom de naissance, premier "
                "prénom, sexe, date de naissance). L'identité n'a pas changé : vérifiez ces traits sur une pièce "
                "d'identité officielle, corrigez-les s'il le faut, puis recommencez."
            ),
        )
    differing = ins.differences(traits, found.traits)
    if differing:
        national = found.traits.normalised()
        detail = ", ".join(
            f"{ins.TRAIT_LABELS[name]} (INSi : {_shown_trait(national, name) or '—'})" for name in differing
        )
        raise _retrieval_failed(
            actor,
            patient,
            "ins_traits_mismatch",
            _(
                "Les traits renvoyés par le téléservice INSi diffèrent de l'identité du patient : %(traits)s. "
                "L'identité n'a pas changé : vérifiez-la sur une pièce d'identité officielle avant toute correction."
            )
            % {"traits": detail},
            reason=",".join(differing),
        )
    held_by = Patient.objects.filter(nir=found.nir).exclude(pk=patient.pk).values_list("ipp", flat=True).first()
    if held_by:
        raise _retrieval_failed(
            actor,
            patient,
            "ins_duplicate",
            _(
                "Ce matricule INS est déjà celui du patient IPP %(ipp)s : doublon possible. L'identité n'a pas "
                "changé ; signalez-le à la cellule d'identitovigilance."
            )
            % {"ipp": held_by},
        )
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if locked.ins_retrieved_at is not None or ins.Traits.of(locked) != traits:
            raise Conflict(_("L'identité de ce patient a changé entre-temps : recommencez."))
        now = timezone.now()
        locked.nir, locked.ins_oid, locked.ins_retrieved_at = found.nir, found.oid, now
        locked.ins_status = InsStatus.RETRIEVED
        if locked.identity_document_checked:
            locked.ins_status, locked.identity_qualified_at = InsStatus.QUALIFIED, now
        locked.save(update_fields=["nir", "ins_oid", "ins_retrieved_at", "ins_status", "identity_qualified_at"])
        audit.record(
            actor=actor,
            action=IdentityAction.RETRIEVE_INS,
            mode=decision.mode,
            patient_id=locked.public_id,
            object_type=ObjectType.PATIENT_IDENTITY,
            object_id=locked.public_id,
        )
        if locked.ins_status == InsStatus.QUALIFIED:
            _qualified(actor, decision, locked)
    return locked


def _shown_trait(traits: ins.Traits, name: str) -> str:
    value = getattr(traits, name)
    return value.strftime("%d/%m/%Y") if name == "birth_date" else str(value)


def _qualified(actor, decision: Decision, patient: Patient) -> None:
    """Inside the qualifying transaction: the trace, and what waited for the qualified identity goes after commit."""
    audit.record(
        actor=actor,
        action=Action.QUALIFY_IDENTITY,
        mode=decision.mode,
        patient_id=patient.public_id,
        object_type=ObjectType.PATIENT_IDENTITY,
        object_id=patient.public_id,
    )
    identity_qualified.send(sender=Patient, patient=patient)


def identity_qualify(*, actor, patient_id: uuid.UUID | str, document_checked: bool) -> Patient:
    """Identity vigilance: staff checked an official ID document.

    A `retrieved` identity (its INS came through the INSi seam) becomes `qualified`; a `provisional` one becomes
    `validated` (still never fed: its INS must be retrieved, which then qualifies it). A typed NIR alone never
    qualifies an identity.
    """
    patient = patient_by_id(patient_id)
    decision = access.decide(actor, patient, RecordAction.QUALIFY_IDENTITY)
    if not decision.allowed:
        _refuse_identity(actor, Action.QUALIFY_IDENTITY, decision, patient)
    if not document_checked:
        raise InvalidInput(
            _("La qualification exige la vérification d'une pièce d'identité officielle."),
            fields={"document_checked": _("Cochez la case après avoir vérifié la pièce d'identité.")},
        )
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if locked.ins_status == InsStatus.QUALIFIED:
            raise Conflict(_("L'identité de ce patient est déjà qualifiée."))
        if locked.identity_document_checked:
            raise Conflict(
                _(
                    "La pièce d'identité a déjà été vérifiée : récupérez l'INS auprès du téléservice INSi pour "
                    "qualifier l'identité."
                )
            )
        locked.identity_document_checked = True
        if locked.ins_status == InsStatus.RETRIEVED and locked.ins_retrieved_at is not None:
            locked.ins_status = InsStatus.QUALIFIED
            locked.identity_qualified_at = timezone.now()
        else:
            locked.ins_status = InsStatus.VALIDATED
        locked.save(update_fields=["identity_document_checked", "ins_status", "identity_qualified_at"])
        if locked.ins_status == InsStatus.QUALIFIED:
            _qualified(actor, decision, locked)
        else:
            audit.record(
                actor=actor,
                action=IdentityAction.VALIDATE_IDENTITY,
                mode=decision.mode,
                patient_id=locked.public_id,
                object_type=ObjectType.PATIENT_IDENTITY,
                object_id=locked.public_id,
            )
    return locked


def identity_next_step(patient: Patient) -> str:
    """What identity vigilance still has to do for this patient (the record page's sentence); empty when qualified."""
    if patient.ins_status == InsStatus.QUALIFIED:
        return ""
    steps = []
    if patient.ins_retrieved_at is None:
        steps.append(_("Récupérer l'INS auprès du téléservice INSi"))
    if not patient.identity_document_checked:
        steps.append(_("Vérifier la pièce d'identité"))
    return " ; ".join(steps)


def own_patient(user) -> Patient:
    """The signed-in account's own patient record (404 when it has none)."""
    patient = Patient.objects.filter(account=user).first() if getattr(user, "is_authenticated", False) else None
    if patient is None:
        raise AccessDenied(Decision.deny("not_found", _("Aucun dossier n'est rattaché à ce compte."), status=404))
    return patient
