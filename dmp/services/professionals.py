"""Professionals' entry points: a professional by RPPS, the INS lookup, the GP dashboard."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import throttling
from accounts.models import PROFESSIONAL_ROLES, ProfessionalProfile, User
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import Decision, InvalidInput, NotFound
from records.constants import InsStatus
from records.models import Patient

from .. import access
from ..constants import DmpAction
from ..models import SharedDocument
from .records import parse_date


def professional_by_rpps(rpps: str) -> User:
    rpps = "".join((rpps or "").split())
    profile = ProfessionalProfile.objects.select_related("user").filter(rpps=rpps).first()
    if profile is None or profile.user.role not in PROFESSIONAL_ROLES:
        raise InvalidInput(
            _("Aucun professionnel de santé ne porte ce numéro RPPS."), fields={"rpps": _("RPPS inconnu.")}
        )
    return profile.user


def patient_lookup(*, actor, ins: str, birth_date) -> Patient:
    """Exact INS + birth date, as with a Vitale card at the desk; traced, found or not."""
    decision = access.decide_lookup(actor)
    if not decision.allowed:
        audit.refuse(actor=actor, action=DmpAction.LOOKUP, decision=decision, object_type=ObjectType.PATIENT)
    ins = "".join((ins or "").split()).upper()
    try:
        birth = parse_date(birth_date)
    except InvalidInput:
        birth = None
    if not ins or birth is None:
        raise InvalidInput(_("Indiquez le matricule INS et la date de naissance."), fields={"ins": _("Obligatoire.")})
    # Rate limits per professional and per INS, found or not (a hit counts too): not an oracle.
    throttling.limit(throttling.LOOKUP_USER, actor.pk, actor=actor)
    throttling.limit(throttling.LOOKUP_INS, ins, actor=actor)
    # Only a qualified INS identifies a DMP (retrieved through INSi and checked against an identity document): a
    # NIR typed at the desk may be another person's, so it finds nobody, with the same answer as no match.
    patient = Patient.objects.filter(nir=ins, birth_date=birth, ins_status=InsStatus.QUALIFIED).first()
    if patient is None:
        audit.record_refusal(actor=actor, action=DmpAction.LOOKUP, code="not_found", object_type=ObjectType.PATIENT)
        raise NotFound(_("Aucun patient ne correspond à ce matricule INS et cette date de naissance."))
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=DmpAction.LOOKUP,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.PATIENT,
            object_id=patient.public_id,
        )
    return patient


def gp_dashboard(*, actor, limit: int = 100) -> list[SharedDocument]:
    """New documents of the GP's patients (masked ones too); one trace naming them."""
    if not (getattr(actor, "is_authenticated", False) and actor.role in PROFESSIONAL_ROLES):
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=Decision.deny("forbidden", _("Tableau de bord réservé aux médecins traitants.")),
            object_type=ObjectType.DMP_DOCUMENT,
        )
    return audit.list_traced(
        actor=actor,
        mode=Mode.GP,
        object_type=ObjectType.DMP_DOCUMENT,
        load=lambda: list(access.gp_new_documents(actor, days=settings.DMP_GP_DASHBOARD_DAYS)[:limit]),
        shown=lambda documents: [d.public_id for d in documents],
    )
