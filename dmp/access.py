"""The one place that decides who sees which DMP document, and its SQL scopes (docs/domain.md, "The DMP").

Who sees what:
- the patient: every document of their DMP but those "invisible to the patient", whatever the status;
- the GP (médecin traitant): every document, masked ones and invisible-to-patient ones included;
- the author of a document: that document, masked or not;
- a professional with a live grant (consent, in-person consent) or an emergency/SAMU access:
  the documents that are not masked and whose type the access matrix opens to their profession;
- a blocked professional: nothing; a closed DMP: nothing for professionals (`dmp_closed`);
  an opposed DMP: nothing for anybody but the patient (`dmp_opposed`).
A document the caller may not see is absent from lists and counts, and fetching it answers 404.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import PROFESSIONAL_ROLES, Role
from audit.constants import Mode
from chu_portal.errors import Decision
from records.models import Patient

from .constants import MATRIX_PATIENT_DOCUMENTS, DocumentClass, DocumentStatus, RecordStatus
from .models import (
    AccessGrant,
    AccessMatrixEntry,
    BlockedProfessional,
    DmpEmergencyAccess,
    SharedDocument,
    SharedRecord,
)


class DocAction(StrEnum):
    READ = "read"
    MASK = "mask"
    DELETE = "delete"
    MAKE_VISIBLE = "make_visible"


# Modes in which the access matrix and masking apply.
MATRIX_MODES = frozenset({Mode.CONSENT, Mode.IN_PERSON_CONSENT, Mode.EMERGENCY, Mode.SAMU})
# Modes that read the whole DMP (profile included), not only one's own documents.
RECORD_READ_MODES = MATRIX_MODES | {Mode.SELF, Mode.GP}

NOT_FOUND_DOCUMENT = Decision.deny("not_found", "Document introuvable.", status=404)


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated)


def _not_found_patient() -> Decision:
    return Decision.deny("not_found", _("Patient introuvable."), status=404)


def live_grant(user, record: SharedRecord, now=None) -> AccessGrant | None:
    """A grant honoured now: started, not expired, not revoked (whatever the guardian permissions say)."""
    now = now or timezone.now()
    return (
        AccessGrant.objects.filter(
            record=record, professional=user, revoked_at__isnull=True, starts__lte=now, expires__gt=now
        )
        .order_by("-expires")
        .first()
    )


def emergency_mode(user, record: SharedRecord, now=None) -> str | None:
    """Mode.EMERGENCY or Mode.SAMU while such an access to this record is open for `user`, else None.

    Checked at every use, not only when opening: a patient who opposes meanwhile, or a regulation
    flag withdrawn, ends the window at once.
    """
    now = now or timezone.now()
    modes = set(
        DmpEmergencyAccess.objects.filter(
            record=record, professional=user, starts__lte=now, expires__gt=now
        ).values_list("mode", flat=True)
    )
    if Mode.EMERGENCY in modes and record.emergency_access_allowed:
        return Mode.EMERGENCY
    if Mode.SAMU in modes and record.samu_access_allowed and _is_regulator(user):
        return Mode.SAMU
    return None


def live_emergency_accesses(user, now=None) -> QuerySet:
    """The user's open DMP emergency windows (for the banner shown on every page meanwhile)."""
    now = now or timezone.now()
    return (
        DmpEmergencyAccess.objects.filter(professional=user, starts__lte=now, expires__gt=now)
        .select_related("record__patient")
        .order_by("expires")
    )


def _is_regulator(user) -> bool:
    profile = user.professional
    return bool(profile and profile.regulation)


def is_blocked(user, record: SharedRecord) -> bool:
    return BlockedProfessional.objects.filter(record=record, professional=user).exists()


def record_decision(user, record: SharedRecord, now=None) -> Decision:
    """May `user` open `record` (the DMP) now, and in which mode?"""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT:
        if record.patient.account_id == user.pk:
            return Decision.allow(Mode.SELF)
        return _not_found_patient()
    if user.role not in PROFESSIONAL_ROLES:
        return Decision.deny("forbidden", _("Le DMP n'est accessible qu'au patient et aux professionnels de santé."))
    refusal = _closed_to(user, record)
    if refusal is not None:
        return refusal
    if record.gp_id == user.pk:
        return Decision.allow(Mode.GP)
    grant = live_grant(user, record, now)
    if grant is not None:
        return Decision.allow(grant.source)
    mode = emergency_mode(user, record, now)
    if mode:
        return Decision.allow(mode)
    if SharedDocument.objects.filter(record=record, author=user, deleted_at__isnull=True).exists():
        return Decision.allow(Mode.AUTHOR)
    return Decision.deny(
        "forbidden",
        _(
            "Vous n'avez pas accès au DMP de ce patient. La consultation exige son autorisation "
            "(demandée en consultation ou dans le portail) ou d'être son médecin traitant."
        ),
    )


def matrix_keys(user) -> list[str]:
    """Document keys (LOINC types, "90") the user's profession may read, from the editable matrix."""
    profile = user.professional
    if profile is None:
        return []
    return list(
        AccessMatrixEntry.objects.filter(profession=profile.profession, allowed=True).values_list(
            "document_key", flat=True
        )
    )


def _matrix_q(user) -> Q:
    keys = matrix_keys(user)
    allowed = Q(type_code__in=[k for k in keys if k != MATRIX_PATIENT_DOCUMENTS]) & ~Q(
        class_code=DocumentClass.PATIENT_EXPRESSION
    )
    if MATRIX_PATIENT_DOCUMENTS in keys:
        allowed |= Q(class_code=DocumentClass.PATIENT_EXPRESSION)
    return allowed


def document_scope(user, mode: str) -> Q:
    """The documents (of a record already decided) that `user` sees in `mode`, as a SQL condition."""
    alive = Q(deleted_at__isnull=True)
    if mode == Mode.SELF:
        return alive & Q(visible_to_patient=True)
    if mode == Mode.GP:
        return alive
    if mode == Mode.AUTHOR:
        return alive & Q(author=user)
    if mode in MATRIX_MODES:
        return alive & ((Q(masked=False) & _matrix_q(user)) | Q(author=user))
    return Q(pk__in=[])


def documents_in(user, record: SharedRecord, mode: str, *, include_superseded: bool = False) -> QuerySet:
    """The documents of `record` that `user` sees in `mode`, with their author joined once."""
    queryset = SharedDocument.objects.filter(record=record).filter(document_scope(user, mode))
    if not include_superseded:
        queryset = queryset.filter(status=DocumentStatus.CURRENT)
    return queryset.select_related("author__professional_profile", "record__patient")


def documents_visible_to(user, patient: Patient, *, include_superseded: bool = False, now=None) -> QuerySet:
    """Every document of `patient`'s DMP that `user` may see now (empty when refused)."""
    record = SharedRecord.objects.filter(patient=patient).select_related("patient").first()
    if record is None:
        return SharedDocument.objects.none()
    decision = record_decision(user, record, now)
    if not decision.allowed:
        return SharedDocument.objects.none()
    return documents_in(user, record, decision.mode, include_superseded=include_superseded)


def decide_document(user, document: SharedDocument, action: DocAction = DocAction.READ, now=None) -> Decision:
    """May `user` do `action` on `document`? A document they may not see is answered 404."""
    decision = record_decision(user, document.record, now)
    if not decision.allowed:
        if decision.code in ("blocked", "dmp_closed", "dmp_opposed") and document.author_id == getattr(
            user, "pk", None
        ):
            return decision  # the author knows the document exists: say why
        if decision.status == 401:
            return decision
        return NOT_FOUND_DOCUMENT
    in_scope = (
        SharedDocument.objects.filter(pk=document.pk, record=document.record)
        .filter(document_scope(user, decision.mode))
        .exists()
    )
    if not in_scope:
        return NOT_FOUND_DOCUMENT
    if action == DocAction.READ:
        return decision
    if action == DocAction.MASK:
        if decision.mode != Mode.SELF:
            return Decision.deny("forbidden", _("Seul le patient masque ou démasque ses documents."))
        return decision
    if action == DocAction.DELETE:
        if decision.mode != Mode.SELF:
            return Decision.deny("forbidden", _("Seul le patient supprime les documents qu'il a déposés."))
        if not document.is_patient_upload:
            return Decision.deny(
                "forbidden",
                _(
                    "Vous pouvez masquer ce document aux professionnels, mais pas le supprimer : seuls vos propres dépôts se suppriment."
                ),
            )
        return decision
    if action == DocAction.MAKE_VISIBLE:
        if decision.mode == Mode.SELF:
            return Decision.deny("forbidden", _("Seul un professionnel rend un document visible du patient."))
        if document.visible_to_patient:
            return Decision.deny("conflict", _("Ce document est déjà visible du patient."), status=409)
        return decision
    return Decision.deny("forbidden", _("Action non autorisée."))


def decide_add(user, record: SharedRecord) -> Decision:
    """May `user` add a document? Patients to their own active DMP; any professional without authorisation."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT:
        if record.patient.account_id != user.pk:
            return _not_found_patient()
        mode = Mode.SELF
    elif user.role in PROFESSIONAL_ROLES:
        mode = Mode.AUTHOR
    else:
        return Decision.deny("forbidden", _("Seuls le patient et les professionnels de santé alimentent le DMP."))
    if record.status == RecordStatus.OPPOSED:
        return Decision.deny("dmp_opposed", _("Le DMP fait l'objet d'une opposition : il n'est pas alimenté."))
    if record.status == RecordStatus.CLOSED:
        return Decision.deny("dmp_closed", _("Le DMP est fermé : il n'est plus alimenté."))
    return Decision.allow(mode)


def decide_manage(user, record: SharedRecord) -> Decision:
    """Settings, blocks, profile writing, notifications and access history: the patient only."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT:
        if record.patient.account_id == user.pk:
            return Decision.allow(Mode.SELF)
        return _not_found_patient()
    return Decision.deny("forbidden", _("Seul le patient gère les paramètres de son DMP."))


def decide_lookup(user) -> Decision:
    """Finding a patient by exact INS and birth date: health professionals."""
    if _authenticated(user) and user.role in PROFESSIONAL_ROLES:
        return Decision.allow(Mode.NONE)
    return Decision.deny("forbidden", _("La recherche d'un DMP est réservée aux professionnels de santé."))


def gp_new_documents(user, *, days: int, now=None) -> QuerySet:
    """New documents of the patients whose médecin traitant `user` is (masked ones too)."""
    now = now or timezone.now()
    return (
        SharedDocument.objects.filter(
            record__gp=user,
            record__status=RecordStatus.ACTIVE,
            deleted_at__isnull=True,
            status=DocumentStatus.CURRENT,
            created_at__gte=now - timedelta(days=days),
        )
        .exclude(record__blocked__professional=user)
        .select_related("author__professional_profile", "record__patient")
        .order_by("-created_at", "-id")
    )


def who_still_sees(document: SharedDocument) -> str:
    """One sentence for the patient: who still sees the document once masked (or again once unmasked)."""
    if document.masked:
        return _(
            "Ce document est masqué : seuls vous, votre médecin traitant et son auteur peuvent le voir. "
            "Les autres professionnels, même en accès d'urgence, ne le voient pas et ne savent pas qu'il existe."
        )
    return _(
        "Ce document est visible de votre médecin traitant, de son auteur et des professionnels que vous "
        "autorisez, selon leur profession."
    )


# --- Consent requests and emergency access (the consent issue) -------------------------------


def _closed_to(user, record: SharedRecord) -> Decision | None:
    """What closes a DMP to a professional whatever their access: a block, the patient's opposition or closing."""
    if is_blocked(user, record):
        return Decision.deny("blocked", _("Le patient a bloqué votre accès à son DMP."))
    if record.status == RecordStatus.OPPOSED:
        return Decision.deny(
            "dmp_opposed", _("Le patient s'est opposé à l'alimentation et à la consultation de son DMP.")
        )
    if record.status == RecordStatus.CLOSED:
        return Decision.deny("dmp_closed", _("Le patient a fermé son DMP : il n'est plus consultable."))
    return None


def _professional_on_record(user, record: SharedRecord) -> Decision | None:
    """The refusals shared by consent and emergency: not a professional (another patient: 404), or closed to them."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT and record.patient.account_id != user.pk:
        return _not_found_patient()
    if user.role not in PROFESSIONAL_ROLES:
        return Decision.deny("forbidden", _("Réservé aux professionnels de santé."))
    return _closed_to(user, record)


def decide_consent_request(user, record: SharedRecord, *, in_person: bool = False) -> Decision:
    """May `user` ask the patient's authorisation (or record it as given in person)?"""
    refusal = _professional_on_record(user, record)
    if refusal is not None:
        return refusal
    return Decision.allow(Mode.IN_PERSON_CONSENT if in_person else Mode.NONE)


def decide_consent_answer(user, consent_request) -> Decision:
    """Only the patient answers a request addressed to them (anyone else: 404)."""
    decision = decide_manage(user, consent_request.record)
    if not decision.allowed and decision.status != 401:
        return Decision.deny("not_found", _("Demande introuvable."), status=404)
    return decision


def decide_emergency(user, record: SharedRecord, mode: str) -> Decision:
    """May `user` break the glass on this DMP (mode `emergency`), or open it as SAMU regulation (`samu`)?

    The caller has checked that `mode` is one of the two (dmp.constants.EmergencyMode)."""
    refusal = _professional_on_record(user, record)
    if refusal is not None:
        return refusal
    if mode == Mode.SAMU:
        if not _is_regulator(user):
            return Decision.deny("forbidden", _("Le mode SAMU est réservé aux médecins régulateurs."))
        if not record.samu_access_allowed:
            return Decision.deny("emergency_opposed", _("Le patient s'est opposé à l'accès du SAMU à son DMP."))
        return Decision.allow(Mode.SAMU)
    if not record.emergency_access_allowed:
        return Decision.deny("emergency_opposed", _("Le patient s'est opposé à l'accès d'urgence à son DMP."))
    return Decision.allow(Mode.EMERGENCY)


# --- The feed dashboard (issue 5) -------------------------------------------------------------


def decide_feed_dashboard(user) -> Decision:
    """Administrators watch and retry the feed (it shows no medical content: ids, types, statuses, errors)."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connectez-vous."), status=401)
    if user.role == Role.ADMIN:
        return Decision.allow(Mode.ADMIN)
    return Decision.deny("forbidden", _("Le tableau de bord du flux est réservé aux administrateurs."))
