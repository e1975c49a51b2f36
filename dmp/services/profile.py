"""The patient's medical profile (allergies, treatments, history) in her DMP."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import Decision, InvalidInput
from chu_portal.ids import get_by_public_id_or_404

from .. import access
from ..constants import DmpAction, ProfileKind
from ..models import MedicalProfileEntry, SharedRecord
from .notifications import note_reader
from .records import managed_record, own_record, parse_date, record_by_patient_id


def profile_list(*, actor, patient_id=None) -> tuple[SharedRecord, list[MedicalProfileEntry]]:
    """Profile entries: the patient and GP-level doctors all; other professionals who read the DMP, the kinds the
    profile matrix opens to their profession (an author-only access reads none)."""
    record = record_by_patient_id(patient_id) if patient_id is not None else own_record(actor)
    decision = access.record_decision(actor, record)
    if decision.allowed and decision.mode not in access.RECORD_READ_MODES:
        decision = Decision.deny("forbidden", _("Le profil médical n'est visible qu'avec un accès au DMP."))
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=decision,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_PROFILE,
        )

    def load() -> list[MedicalProfileEntry]:
        note_reader(actor, record, decision)
        kinds = access.profile_kinds_q(actor, decision.mode)
        return list(record.profile_entries.filter(deleted_at__isnull=True).filter(kinds))

    entries = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=record.patient.public_id,
        object_type=ObjectType.DMP_PROFILE,
        load=load,
        shown=lambda entries: [e.public_id for e in entries],
    )
    return record, entries


def profile_add(*, actor, patient_id=None, kind: str, label: str, date=None, note: str = "") -> MedicalProfileEntry:
    record, decision = managed_record(actor, patient_id, Action.CREATE, ObjectType.DMP_PROFILE, open_only=True)
    label = " ".join((label or "").split())
    errors = {}
    if kind not in ProfileKind.values:
        errors["kind"] = _("Catégorie inconnue.")
    if not label:
        errors["label"] = _("Le libellé est obligatoire.")
    elif len(label) > 200:
        errors["label"] = _("Le libellé ne doit pas dépasser 200 caractères.")
    if errors:
        raise InvalidInput(" ".join(errors.values()), fields=errors)
    date = parse_date(date)
    with transaction.atomic():
        entry = MedicalProfileEntry.objects.create(
            record=record, kind=kind, label=label, date=date, note=(note or "").strip()
        )
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_PROFILE,
            object_id=entry.public_id,
        )
    return entry


def profile_delete(*, actor, entry_id) -> None:
    entry = get_by_public_id_or_404(
        MedicalProfileEntry.objects.select_related("record__patient").filter(deleted_at__isnull=True),
        entry_id,
        _("Élément introuvable."),
    )
    decision = access.decide_manage_open(actor, entry.record)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=DmpAction.DELETE,
            decision=decision
            if decision.code == "dmp_closed"
            else Decision.deny("not_found", _("Élément introuvable."), status=404),
            patient_id=entry.record.patient.public_id,
            object_type=ObjectType.DMP_PROFILE,
            object_id=entry.public_id,
        )
    with transaction.atomic():
        MedicalProfileEntry.objects.filter(pk=entry.pk).update(deleted_at=timezone.now())
        audit.record(
            actor=actor,
            action=DmpAction.DELETE,
            mode=decision.mode,
            patient_id=entry.record.patient.public_id,
            object_type=ObjectType.DMP_PROFILE,
            object_id=entry.public_id,
        )
