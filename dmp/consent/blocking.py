"""Blocked professionals: the patient shuts a professional out of her DMP."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import PROFESSIONAL_ROLES, Profession, Role, User
from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision

from .. import access
from ..constants import DmpAction
from ..models import BlockedProfessional
from ..services.professionals import professional_by_rpps
from ..services.records import managed_record


def professionals_search(*, actor, query: str, limit: int = 20) -> list[User]:
    """Patients find a professional by name, profession, specialty or RPPS (the public directory), e.g. to block
    or to authorise them."""
    if actor.role != Role.PATIENT:
        raise AccessDenied(Decision.deny("forbidden", _("Réservé aux patients.")))
    words = (query or "").split()
    if not words:
        return []
    condition = Q()
    for word in words:
        professions = [code for code, label in Profession.choices if word.lower() in str(label).lower()]
        condition &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(professional_profile__rpps=word)
            | Q(professional_profile__profession__in=professions)
            | Q(professional_profile__specialty__icontains=word)
        )
    return list(
        User.objects.filter(condition, role__in=PROFESSIONAL_ROLES, professional_profile__isnull=False, is_active=True)
        .select_related("professional_profile")
        .order_by("last_name", "first_name")[:limit]
    )


def blocked_list(*, actor, patient_id=None) -> list[BlockedProfessional]:
    record, decision = managed_record(actor, patient_id, Action.LIST, ObjectType.DMP_BLOCKED)
    return audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=record.patient.public_id,
        object_type=ObjectType.DMP_BLOCKED,
        load=lambda: list(record.blocked.select_related("professional__professional_profile").order_by("-created_at")),
        shown=lambda rows: [b.professional.public_id for b in rows],
    )


def professional_block(*, actor, patient_id=None, rpps: str) -> BlockedProfessional:
    """The patient blocks a professional: they see nothing of the DMP, grant or emergency notwithstanding."""
    record, decision = managed_record(actor, patient_id, DmpAction.BLOCK, ObjectType.DMP_BLOCKED)
    professional = professional_by_rpps(rpps)
    if access.has_gp_rights(professional, record):
        # CSP L.1111-16: the médecin traitant reads the whole DMP; the patient withdraws the rights first.
        raise Conflict(
            _(
                "Ce médecin a les droits du médecin traitant sur votre DMP : retirez d'abord sa désignation "
                "(rubrique « Médecin traitant »), puis bloquez-le si vous le souhaitez."
            )
        )
    with transaction.atomic():
        block, _created = BlockedProfessional.objects.get_or_create(record=record, professional=professional)
        audit.record(
            actor=actor,
            action=DmpAction.BLOCK,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_BLOCKED,
            object_id=professional.public_id,
        )
    return block


def professional_unblock(*, actor, patient_id=None, rpps: str) -> None:
    record, decision = managed_record(actor, patient_id, DmpAction.UNBLOCK, ObjectType.DMP_BLOCKED)
    professional = professional_by_rpps(rpps)
    with transaction.atomic():
        deleted, _rows = BlockedProfessional.objects.filter(record=record, professional=professional).delete()
        if not deleted:
            raise AccessDenied(Decision.deny("not_found", _("Ce professionnel n'est pas bloqué."), status=404))
        audit.record(
            actor=actor,
            action=DmpAction.UNBLOCK,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_BLOCKED,
            object_id=professional.public_id,
        )
