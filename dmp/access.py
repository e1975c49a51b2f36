"""The one place that decides who reads the DMP, and its SQL scopes (docs/domain.md, "The DMP", with the CSP articles).

Who sees what (each rule's article is in docs/domain.md):
- the patient: every document of her DMP but those "invisible to the patient", whatever the status;
- a doctor with GP-level rights (her médecin traitant, or another doctor she gave the same rights;
  L.1111-16): every document, masked ones and invisible-to-patient ones included;
- a health professional with a live grant of his own (consent, in-person consent; L.1111-17), a CHU
  professional whose colleague of the patient's care-team unit holds such a grant (team consent,
  R.1111-46), or an emergency/SAMU access: the documents that are not masked (any version masked
  masks them all) and whose type the access matrix opens to his profession (R.1111-46, R.1111-49);
- the author of a document: that document alone, masked or not (R.1111-49), never the record;
- a blocked professional: nothing; a closed DMP: nothing for anybody, the patient included
  (`dmp_closed`; she may reopen it); an opposed DMP: nothing for anybody but the patient
  (`dmp_opposed`); a medical secretary or any account without a health profession: nothing.
A document the caller may not see is absent from lists and counts, and fetching it answers 404.
Every decision is one SQL query whatever the number of grants, designations and windows.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import HEALTH_PROFESSIONS, PROFESSIONAL_ROLES, Profession, Role, Unit
from audit.constants import Mode
from chu_portal.errors import Decision
from records import access as records_access
from records.constants import RepresentationKind
from records.models import Patient, Report, Stay

from . import matrix
from .constants import (
    MATRIX_PATIENT_DOCUMENTS,
    DocumentClass,
    DocumentSource,
    DocumentStatus,
    ObjectionStatus,
    RecordStatus,
)
from .models import (
    AccessGrant,
    BlockedProfessional,
    DmpEmergencyAccess,
    DocumentObjection,
    ProfileMatrixEntry,
    SharedDocument,
    SharedRecord,
    SharedRecordUserObjectPermission,
)

# The guardian permission (codename on SharedRecord) that carries GP-level rights.
GP_RIGHTS = "gp_rights"
CHU_ROLES = (Role.CHU_CLINICIAN, Role.CHU_COLLABORATOR)


class DocAction(StrEnum):
    READ = "read"
    MASK = "mask"
    DELETE = "delete"
    MAKE_VISIBLE = "make_visible"


# Modes in which the access matrix and masking apply.
MATRIX_MODES = frozenset({Mode.CONSENT, Mode.IN_PERSON_CONSENT, Mode.TEAM_CONSENT, Mode.EMERGENCY, Mode.SAMU})
# Someone acting for the patient (a parent, a guardian; a trusted representative reads only).
REPRESENTATIVE_MODES = frozenset({Mode.REPRESENTATIVE, Mode.TRUSTED_REPRESENTATIVE})
# The patient's own rights: herself, or her legal representative acting for her.
PATIENT_MODES = frozenset({Mode.SELF, Mode.REPRESENTATIVE})
# Modes that read the whole DMP (profile included), not only one's own documents.
RECORD_READ_MODES = MATRIX_MODES | REPRESENTATIVE_MODES | {Mode.SELF, Mode.GP}
# Modes that only read: nothing that lasts or that changes what others see is done from them.
EMERGENCY_MODES = frozenset({Mode.EMERGENCY, Mode.SAMU})

NOT_FOUND_DOCUMENT = Decision.deny("not_found", "Document introuvable.", status=404)


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated)


def _not_found_patient() -> Decision:
    return Decision.deny("not_found", _("Patient introuvable."), status=404)


def is_health_professional(user) -> bool:
    """A professional account with a health profession (a medical secretary is not one)."""
    if not _authenticated(user) or user.role not in PROFESSIONAL_ROLES:
        return False
    profile = user.professional
    return bool(profile and profile.profession in HEALTH_PROFESSIONS)


def _not_health_professional() -> Decision:
    return Decision.deny(
        "forbidden",
        _(
            "Le DMP n'est accessible qu'aux professionnels de santé : votre profession ne permet ni de le "
            "consulter, ni de l'alimenter, ni d'en demander l'accès."
        ),
    )


def live_grants(now=None) -> QuerySet[AccessGrant]:
    """Grants honoured now: started, not expired, not revoked."""
    now = now or timezone.now()
    return AccessGrant.objects.filter(revoked_at__isnull=True, starts__lte=now, expires__gt=now)


def live_grant(user, record: SharedRecord, now=None) -> AccessGrant | None:
    """The user's own grant honoured now on this record, the longest first."""
    return live_grants(now).filter(record=record, professional=user).order_by("-expires").first()


def gp_rights_holders(record_ref) -> QuerySet:
    """Users holding GP-level rights on a record (`record_ref` a record or its pk), from guardian's table."""
    return SharedRecordUserObjectPermission.objects.filter(
        content_object=record_ref, permission__codename=GP_RIGHTS, permission__content_type__app_label="dmp"
    )


def gp_rights_holders_in(record_ids) -> QuerySet:
    """gp_rights_holders over several records at once (the feed's batches): rows carry `content_object_id`."""
    return SharedRecordUserObjectPermission.objects.filter(
        content_object__in=record_ids, permission__codename=GP_RIGHTS, permission__content_type__app_label="dmp"
    )


def has_gp_rights(user, record: SharedRecord) -> bool:
    return _authenticated(user) and gp_rights_holders(record).filter(user=user).exists()


def records_with_gp_rights(user) -> QuerySet:
    """The ids of the DMPs on which `user` holds GP-level rights (a subquery)."""
    return SharedRecordUserObjectPermission.objects.filter(
        user=user, permission__codename=GP_RIGHTS, permission__content_type__app_label="dmp"
    ).values("content_object_id")


def team_grants(user, record_ref, patient_ref, now=None) -> QuerySet[AccessGrant]:  # refs: a record and patient, or pks
    """Live grants to a colleague of `user` in a unit of the patient's care team (CSP R.1111-46).

    The colleague is a CHU professional; the unit is one of `user`'s that holds the patient's open or
    recent stay (records.access.care_team_units, the hospital record's window).
    """
    shared_units = records_access.care_team_units(patient_ref, now).filter(staff__user=user).values("pk")
    return (
        live_grants(now)
        .filter(record=record_ref, professional__role__in=CHU_ROLES)
        .exclude(professional=user)
        .filter(professional__professional_profile__units__in=shared_units)
    )


def _windows(user, record_ref, mode: str, now) -> QuerySet[DmpEmergencyAccess]:
    return DmpEmergencyAccess.objects.filter(
        record=record_ref, professional=user, mode=mode, starts__lte=now, expires__gt=now
    )


def emergency_mode(user, record: SharedRecord, now=None) -> str | None:
    """Mode.EMERGENCY or Mode.SAMU while such an access to this record is open for `user`, else None.

    Checked at every use, not only when opening: a patient who opposes meanwhile, or a regulation
    flag withdrawn, ends the window at once.
    """
    now = now or timezone.now()
    if record.emergency_access_allowed and _windows(user, record, Mode.EMERGENCY, now).exists():
        return Mode.EMERGENCY
    if record.samu_access_allowed and _is_regulator(user) and _windows(user, record, Mode.SAMU, now).exists():
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


def _access_flags(user, record: SharedRecord, now) -> dict:
    """Everything a professional's decision needs about this record, in one query."""
    record_ref, patient_ref = record.pk, record.patient_id
    own = live_grants(now).filter(record=record_ref, professional=user).order_by("-expires")
    return (
        SharedRecord.objects.filter(pk=record.pk)
        .annotate(
            is_blocked=Exists(BlockedProfessional.objects.filter(record=record_ref, professional=user)),
            is_gp_rights=Exists(gp_rights_holders(record_ref).filter(user=user)),
            is_grant_source=Subquery(own.values("source")[:1]),
            is_team=Exists(team_grants(user, record_ref, patient_ref, now))
            if user.role in CHU_ROLES
            else Exists(AccessGrant.objects.none()),
            is_emergency=Exists(_windows(user, record_ref, Mode.EMERGENCY, now)),
            is_samu=Exists(_windows(user, record_ref, Mode.SAMU, now)),
        )
        .values("is_blocked", "is_gp_rights", "is_grant_source", "is_team", "is_emergency", "is_samu")[0]
    )


def representative_mode(user, record: SharedRecord, now=None) -> str | None:
    """Mode.REPRESENTATIVE or Mode.TRUSTED_REPRESENTATIVE while `user` represents the record's patient, else None.

    The representation is read in SQL at every decision (records.access.representations_in_force): a
    parent's access ends by itself at the patient's majority, a guardian's at the court decision's end.
    """
    representation = records_access.representation_of(user, record.patient_id, now)
    if representation is None:
        return None
    if representation.kind == RepresentationKind.TRUSTED:
        return Mode.TRUSTED_REPRESENTATIVE
    return Mode.REPRESENTATIVE


def _patient_side(user, record: SharedRecord, now=None, *, closed_ok: bool = False) -> Decision:
    """A patient account on a DMP: her own (self), one she represents (representative), or none (404).

    A closed DMP is read by nobody, its holder and her representatives included (`dmp_closed`); `closed_ok`
    for what stays theirs while it is closed (its settings, to reopen it; the holder's access history)."""
    if record.patient.account_id == user.pk:
        mode = Mode.SELF
    else:
        mode = representative_mode(user, record, now)
        if mode is None:
            return _not_found_patient()
        if record.status == RecordStatus.OPPOSED:
            # An opposed DMP is the patient's alone: her representative reads nothing of it either.
            return Decision.deny(
                "dmp_opposed", _("Le patient s'est opposé à l'alimentation et à la consultation de son DMP.")
            )
    if record.status == RecordStatus.CLOSED and not closed_ok:
        return closed_to_patient()
    return Decision.allow(mode)


def representative_read_only() -> Decision:
    return Decision.deny(
        "forbidden",
        _("Un représentant de confiance consulte le DMP sans rien y changer : seul le patient agit."),
    )


def record_decision(user, record: SharedRecord, now=None) -> Decision:
    """May `user` open `record` (the DMP) now, and in which mode? One query for a professional."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT:
        return _patient_side(user, record, now)
    if user.role not in PROFESSIONAL_ROLES:
        return Decision.deny("forbidden", _("Le DMP n'est accessible qu'au patient et aux professionnels de santé."))
    if not is_health_professional(user):
        return _not_health_professional()
    now = now or timezone.now()
    flags = _access_flags(user, record, now)
    if flags["is_blocked"]:
        return _blocked()
    refusal = _status_refusal(record)
    if refusal is not None:
        return refusal
    if flags["is_gp_rights"]:
        return Decision.allow(Mode.GP)
    if flags["is_grant_source"]:
        return Decision.allow(flags["is_grant_source"])
    if flags["is_team"]:
        return Decision.allow(Mode.TEAM_CONSENT)
    if flags["is_emergency"] and record.emergency_access_allowed:
        return Decision.allow(Mode.EMERGENCY)
    if flags["is_samu"] and record.samu_access_allowed and _is_regulator(user):
        return Decision.allow(Mode.SAMU)
    return Decision.deny(
        "forbidden",
        _(
            "Vous n'avez pas accès au DMP de ce patient. La consultation exige son autorisation "
            "(demandée en consultation ou dans le portail) ou d'être son médecin traitant."
        ),
    )


def matrix_keys(user) -> list[str]:
    """Document keys (LOINC types, "90") the user's profession may read, from the editable matrix (read through
    its cache, forgotten on every committed change: dmp/matrix.py)."""
    profile = user.professional
    if profile is None:
        return []
    return list(matrix.allowed_keys(profile.profession))


def _matrix_q(user) -> Q:
    keys = matrix_keys(user)
    allowed = Q(type_code__in=[k for k in keys if k != MATRIX_PATIENT_DOCUMENTS]) & ~Q(
        class_code=DocumentClass.PATIENT_EXPRESSION
    )
    if MATRIX_PATIENT_DOCUMENTS in keys:
        allowed |= Q(class_code=DocumentClass.PATIENT_EXPRESSION)
    return allowed


def in_masked_lineage() -> Exists:
    """Whether a version of the document's lineage (all versions of one document) is masked: a mask covers them all.

    Correlated on the indexed `lineage`, so that it reads the few versions of each listed document; an
    uncorrelated `lineage IN (every masked document)` scanned the whole document table on every list (the
    benchmark's p95 doubled from 1,000 to 100,000 documents, docs/benchmarks.md)."""
    return Exists(SharedDocument.objects.filter(lineage=OuterRef("lineage"), masked=True))


def document_scope(user, mode: str) -> Q:
    """The documents (of a record already decided) that `user` sees in `mode`, as a SQL condition."""
    # A withdrawn document has left every read channel, for everybody (kept for the DPO and the traces).
    alive = Q(deleted_at__isnull=True) & ~Q(status=DocumentStatus.WITHDRAWN)
    if mode == Mode.SELF:
        return alive & Q(visible_to_patient=True)
    if mode in REPRESENTATIVE_MODES:
        # The minor's secret (CSP L.1111-5, R.1111-50): never to her representatives.
        return alive & Q(visible_to_patient=True, secret_from_representatives=False)
    if mode == Mode.GP:
        return alive
    if mode == Mode.AUTHOR:
        return alive & Q(author=user)
    if mode in MATRIX_MODES:
        unmasked = Q(masked=False) & ~Q(in_masked_lineage())
        return alive & ((unmasked & _matrix_q(user)) | Q(author=user))
    return Q(pk__in=[])


def documents_in(user, record: SharedRecord, mode: str, *, include_superseded: bool = False) -> QuerySet:
    """The documents of `record` that `user` sees in `mode`, with their author joined once."""
    queryset = SharedDocument.objects.filter(record=record).filter(document_scope(user, mode))
    if not include_superseded:
        queryset = queryset.filter(status=DocumentStatus.CURRENT)
    return queryset.select_related("author__professional_profile", "record__patient")


def documents_visible_to(user, patient: Patient, *, include_superseded: bool = False, now=None) -> QuerySet:
    """Every document of `patient`'s DMP that `user` may list now (empty when refused)."""
    record = SharedRecord.objects.filter(patient=patient).select_related("patient").first()
    if record is None:
        return SharedDocument.objects.none()
    decision = record_decision(user, record, now)
    if not decision.allowed:
        return SharedDocument.objects.none()
    return documents_in(user, record, decision.mode, include_superseded=include_superseded)


def _document_access(user, document: SharedDocument, now) -> Decision:
    """The record's decision, or the author's own reading of this one document (it opens nothing else)."""
    decision = record_decision(user, document.record, now)
    if decision.allowed or decision.status == 401:
        return decision
    if decision.code == "dmp_closed" and user.role == Role.PATIENT:
        return decision  # her own closed DMP: she is told it is closed (and may reopen it)
    if document.author_id == user.pk and is_health_professional(user):
        if decision.code in ("blocked", "dmp_closed", "dmp_opposed"):
            return decision  # the author knows the document exists: say why
        return Decision.allow(Mode.AUTHOR)
    return NOT_FOUND_DOCUMENT


def decide_document(user, document: SharedDocument, action: DocAction = DocAction.READ, now=None) -> Decision:
    """May `user` do `action` on `document`? A document they may not see is answered 404."""
    if action == DocAction.MAKE_VISIBLE and (document.held or document.released_at is not None):
        return decide_release(user, document, now)  # a CHU report held until the announcement consultation
    decision = _document_access(user, document, now)
    if not decision.allowed:
        return decision
    in_scope = (
        SharedDocument.objects.filter(pk=document.pk, record=document.record)
        .filter(document_scope(user, decision.mode))
        .exists()
    )
    if not in_scope:
        return NOT_FOUND_DOCUMENT
    if action == DocAction.READ:
        return decision
    if decision.mode == Mode.TRUSTED_REPRESENTATIVE:
        return representative_read_only()
    if action == DocAction.MASK:
        if decision.mode not in PATIENT_MODES:
            return Decision.deny("forbidden", _("Seul le patient masque ou démasque ses documents."))
        return decision
    if action == DocAction.DELETE:
        if decision.mode not in PATIENT_MODES:
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
        if decision.mode in PATIENT_MODES:
            return Decision.deny("forbidden", _("Seul un professionnel rend un document visible du patient."))
        if decision.mode in EMERGENCY_MODES:
            return emergency_read_only()
        if document.visible_to_patient:
            return Decision.deny("conflict", _("Ce document est déjà visible du patient."), status=409)
        return decision
    return Decision.deny("forbidden", _("Action non autorisée."))


def emergency_read_only() -> Decision:
    return Decision.deny(
        "forbidden",
        _(
            "Un accès d'urgence ne permet que de lire : rien de durable ni rien qui change ce que voient les "
            "autres ne se fait dans ce mode."
        ),
    )


def decide_add(user, record: SharedRecord) -> Decision:
    """May `user` add a document? Patients to their own active DMP; any professional without authorisation."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT:
        decision = _patient_side(user, record)
        if not decision.allowed:
            return decision
        if decision.mode == Mode.TRUSTED_REPRESENTATIVE:
            return representative_read_only()
        mode = decision.mode
    elif user.role in PROFESSIONAL_ROLES:
        if not is_health_professional(user):
            return _not_health_professional()
        mode = Mode.AUTHOR
    else:
        return Decision.deny("forbidden", _("Seuls le patient et les professionnels de santé alimentent le DMP."))
    if record.status == RecordStatus.OPPOSED:
        return Decision.deny("dmp_opposed", _("Le DMP fait l'objet d'une opposition : il n'est pas alimenté."))
    if record.status == RecordStatus.CLOSED:
        return Decision.deny("dmp_closed", _("Le DMP est fermé : il n'est plus alimenté."))
    return Decision.allow(mode)


def decide_manage(user, record: SharedRecord) -> Decision:
    """Settings, blocks, profile writing, notifications and access history: the patient, or her legal
    representative acting for her (a trusted representative reads only)."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT:
        decision = _patient_side(user, record, closed_ok=True)
        if decision.allowed and decision.mode == Mode.TRUSTED_REPRESENTATIVE:
            return representative_read_only()
        return decision
    return Decision.deny("forbidden", _("Seul le patient gère les paramètres de son DMP."))


def decide_history(user, record: SharedRecord) -> Decision:
    """The DMP's access history: the patient, and the doctors with GP-level rights (CSP R.1111-43)."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT:
        # A trusted representative reads the history too; the holder reads hers while her DMP is closed.
        return _patient_side(user, record, closed_ok=record.patient.account_id == user.pk)
    decision = record_decision(user, record)
    if decision.allowed and decision.mode == Mode.GP:
        return decision
    if not decision.allowed and decision.code in ("blocked", "dmp_closed", "dmp_opposed", "not_authenticated"):
        return decision
    return Decision.deny(
        "forbidden",
        _("L'historique des accès au DMP est réservé au patient et à son médecin traitant."),
    )


def profile_kinds_q(user, mode: str) -> Q:
    """The profile entries `user` reads in `mode`: all for the patient and GP-level rights, else the profile matrix."""
    if mode in (Mode.SELF, Mode.GP) or mode in REPRESENTATIVE_MODES:
        return Q()
    if mode not in MATRIX_MODES:
        return Q(pk__in=[])
    profile = user.professional
    allowed = ProfileMatrixEntry.objects.filter(profession=profile.profession if profile else "", allowed=True)
    return Q(kind__in=allowed.values("kind"))


def decide_lookup(user) -> Decision:
    """Finding a patient by exact INS and birth date: health professionals."""
    if is_health_professional(user):
        return Decision.allow(Mode.NONE)
    return Decision.deny("forbidden", _("La recherche d'un DMP est réservée aux professionnels de santé."))


def gp_new_documents(user, *, days: int, now=None) -> QuerySet:
    """New documents of the patients on whose DMP `user` holds GP-level rights (masked ones too)."""
    now = now or timezone.now()
    return (
        SharedDocument.objects.filter(
            record__in=records_with_gp_rights(user),
            record__status=RecordStatus.ACTIVE,
            deleted_at__isnull=True,
            status=DocumentStatus.CURRENT,
            created_at__gte=now - timedelta(days=days),
        )
        .exclude(record__blocked__professional=user)
        .select_related("author__professional_profile", "record__patient")
        .order_by("-created_at", "-id")
    )


def is_doctor(user) -> bool:
    profile = getattr(user, "professional", None)
    return bool(profile and profile.profession == Profession.MEDECIN and user.role in PROFESSIONAL_ROLES)


def decide_designation(user, record: SharedRecord, *, in_person: bool, now=None) -> Decision:
    """May `user` (a doctor) take GP-level rights on this DMP: accept the patient's proposal, or record
    one made with the patient present (in person: never from an emergency access, which only reads)?"""
    refusal = _professional_on_record(user, record)
    if refusal is not None:
        return refusal
    if not is_doctor(user):
        return Decision.deny("forbidden", _("Seul un médecin reçoit les droits du médecin traitant."))
    if in_person:
        current = record_decision(user, record, now)
        if current.allowed and current.mode in EMERGENCY_MODES:
            return emergency_read_only()
        return Decision.allow(Mode.IN_PERSON_CONSENT)
    return Decision.allow(Mode.CONSENT)


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


def _blocked() -> Decision:
    return Decision.deny("blocked", _("Le patient a bloqué votre accès à son DMP."))


def _status_refusal(record: SharedRecord) -> Decision | None:
    """What closes a DMP to every professional: the patient's opposition, or closing it."""
    if record.status == RecordStatus.OPPOSED:
        return Decision.deny(
            "dmp_opposed", _("Le patient s'est opposé à l'alimentation et à la consultation de son DMP.")
        )
    if record.status == RecordStatus.CLOSED:
        return Decision.deny("dmp_closed", _("Le patient a fermé son DMP : il n'est plus consultable."))
    return None


def _closed_to(user, record: SharedRecord) -> Decision | None:
    """What closes a DMP to a professional whatever their access: a block, the patient's opposition or closing."""
    if is_blocked(user, record):
        return _blocked()
    return _status_refusal(record)


def _professional_on_record(user, record: SharedRecord) -> Decision | None:
    """The refusals shared by consent and emergency: not a health professional (another patient: 404), or closed."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role == Role.PATIENT and record.patient.account_id != user.pk:
        return _not_found_patient()
    if user.role not in PROFESSIONAL_ROLES:
        return Decision.deny("forbidden", _("Réservé aux professionnels de santé."))
    if not is_health_professional(user):
        return _not_health_professional()
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


# --- The DMP's life: opposition, closing, reopening, deletion (issue 19, point 4) --------------


def closed_to_patient() -> Decision:
    """The patient's own closed DMP: unreadable to her too (CSP R.1111-36: archived), reopening offered."""
    return Decision.deny(
        "dmp_closed",
        _(
            "Votre DMP est fermé : personne ne peut le consulter, vous non plus. Vous pouvez le rouvrir depuis "
            "ses paramètres ; il retrouvera alors tout son contenu."
        ),
    )


def holds_documents(record: SharedRecord) -> bool:
    """Does the DMP hold any document (withdrawn or superseded included; deleted uploads excluded)?"""
    return SharedDocument.objects.filter(record=record, deleted_at__isnull=True).exists()


def may_oppose(record: SharedRecord) -> bool:
    """Opposition is for a DMP its holder has not activated and that holds no document (CSP L.1111-14, R.1111-36)."""
    return record.activated_at is None and not holds_documents(record)


OPPOSITION_TOO_LATE = "opposition_too_late"


def decide_status_change(user, record: SharedRecord, status: str) -> Decision:
    """May the patient move her DMP to `status`? (The caller has checked `decide_manage`.)

    active -> opposed: only while not activated and empty; afterwards she closes it instead (409
    `opposition_too_late`). active -> closed; closed -> active (reopen); opposed -> active (lift the
    opposition). A closed DMP is not opposed and an opposed one is not closed (409 `conflict`)."""
    current = record.status
    if status == current:
        return Decision.allow(Mode.SELF)
    if status == RecordStatus.OPPOSED:
        if current == RecordStatus.CLOSED:
            return Decision.deny(
                "conflict",
                _("Votre DMP est fermé : rouvrez-le d'abord, ou demandez sa suppression."),
                status=409,
            )
        if not may_oppose(record):
            return Decision.deny(
                OPPOSITION_TOO_LATE,
                _(
                    "Vous ne pouvez plus vous opposer à votre DMP : il est activé ou contient déjà des documents. "
                    "Vous pouvez en revanche le fermer : plus personne ne le consultera, vous non plus, et il ne "
                    "sera plus alimenté ; vous pourrez le rouvrir pendant %(years)s ans."
                )
                % {"years": settings.DMP_CLOSED_RETENTION_YEARS},
                status=409,
            )
        return Decision.allow(Mode.SELF)
    if status == RecordStatus.CLOSED and current == RecordStatus.OPPOSED:
        return Decision.deny(
            "conflict",
            _("Votre DMP fait l'objet d'une opposition : il est vide et n'est pas alimenté, il n'y a rien à fermer."),
            status=409,
        )
    return Decision.allow(Mode.SELF)


def decide_manage_open(user, record: SharedRecord) -> Decision:
    """The patient changes what her DMP holds or who reads it (profile, authorisations): not while it is closed."""
    decision = decide_manage(user, record)
    if decision.allowed and record.status == RecordStatus.CLOSED:
        return closed_to_patient()
    return decision


def decide_deletion_request(user, record: SharedRecord) -> Decision:
    """The patient asks that her closed DMP be deleted before its retention ends (409 unless closed)."""
    decision = decide_manage(user, record)
    if not decision.allowed:
        return decision
    if record.status != RecordStatus.CLOSED:
        return Decision.deny("conflict", _("Seul un DMP fermé peut être supprimé : fermez-le d'abord."), status=409)
    if record.deletion_requested_at is not None:
        return Decision.deny("conflict", _("La suppression de votre DMP est déjà demandée."), status=409)
    return decision


def decide_export(user, record: SharedRecord) -> Decision:
    """The whole DMP in one archive: its holder, while it is not closed (she reopens it first)."""
    decision = decide_manage(user, record)
    if decision.allowed and record.status == RecordStatus.CLOSED:
        return closed_to_patient()
    return decision


# --- Withdrawal and the patient's objection (issue 19, point 2; docs/domain.md, "Withdrawal and objection") ----


def is_care_team_doctor(user, patient_ref, now=None) -> bool:
    """A CHU doctor working in a unit of the patient's care team (records.access.care_team_units)."""
    if not (_authenticated(user) and user.role == Role.CHU_CLINICIAN and is_doctor(user)):
        return False
    return records_access.care_team_units(patient_ref, now).filter(staff__user=user).exists()


def decide_withdraw(user, document: SharedDocument, now=None) -> Decision:
    """May `user` withdraw this fed CHU document (wrong patient, wrong document)?

    Its author, or a doctor of the patient's care team (CSP L.1110-12), whatever his access to the DMP:
    withdrawing reads nothing. Anyone else learns nothing of the document (404) unless he may read it (403).
    """
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if document.deleted_at is not None:
        return NOT_FOUND_DOCUMENT
    if document.author_id == user.pk and is_health_professional(user):
        decision = Decision.allow(Mode.AUTHOR)
    elif is_care_team_doctor(user, document.record.patient, now):
        decision = Decision.allow(Mode.CARE_TEAM)
    else:
        if document.status != DocumentStatus.WITHDRAWN and decide_document(user, document, now=now).allowed:
            return Decision.deny(
                "forbidden",
                _("Seuls l'auteur du document et les médecins de l'équipe de soins du patient le retirent du DMP."),
            )
        return NOT_FOUND_DOCUMENT
    if document.source != DocumentSource.CHU or document.source_report_id is None:
        return Decision.deny("forbidden", _("Seuls les comptes rendus déposés par le CHU se retirent ici."))
    if document.status == DocumentStatus.WITHDRAWN:
        return Decision.deny("conflict", _("Ce document a déjà été retiré du DMP."), status=409)
    return decision


def decide_objection(user, document: SharedDocument, now=None) -> Decision:
    """May the patient object to this document (CSP R.1111-47)? Her own DMP's CHU documents she sees."""
    decision = decide_document(user, document, DocAction.READ, now)
    if not decision.allowed:
        return decision
    if decision.mode != Mode.SELF:
        return Decision.deny("forbidden", _("Seul le patient s'oppose à un document de son DMP."))
    if document.source != DocumentSource.CHU or document.source_report_id is None:
        return Decision.deny(
            "forbidden",
            _(
                "L'opposition s'adresse au CHU pour ses comptes rendus. Vous pouvez masquer ce document aux "
                "professionnels, ou supprimer vos propres dépôts."
            ),
        )
    if DocumentObjection.objects.filter(document=document, status=ObjectionStatus.OPEN).exists():
        return Decision.deny("conflict", _("Une opposition à ce document attend déjà la réponse du CHU."), status=409)
    return decision


def _objections_of(user) -> QuerySet[DocumentObjection]:
    """Objections addressed to the user's units, or about his own documents (any status); doctors only."""
    if not (_authenticated(user) and user.role in PROFESSIONAL_ROLES and is_doctor(user)):
        return DocumentObjection.objects.none()
    units = Unit.objects.filter(staff__user=user).values("pk")
    return DocumentObjection.objects.filter(Q(unit__in=units) | Q(document__author=user))


def objections_to_answer(user) -> QuerySet[DocumentObjection]:
    """Open objections addressed to the user's units (his doctors answer them), or to his own documents."""
    return _objections_of(user).filter(status=ObjectionStatus.OPEN)


def decide_objection_answer(user, objection: DocumentObjection) -> Decision:
    """A doctor of the unit the objection went to (or the document's author) answers it; anyone else: 404."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if not _objections_of(user).filter(pk=objection.pk).exists():
        return Decision.deny("not_found", _("Opposition introuvable."), status=404)
    if objection.status != ObjectionStatus.OPEN:
        return Decision.deny("conflict", _("Cette opposition a déjà reçu une réponse."), status=409)
    return Decision.allow(Mode.AUTHOR if objection.document.author_id == user.pk else Mode.CARE_TEAM)


# --- Held reports: fed "after the announcement consultation" (issue 19, docs/domain.md "Held reports") ---------


def release_grounds(user, record: SharedRecord, now=None) -> dict:
    """What lets `user` release the held reports of `record` besides authorship (a few queries, once per record):
    `gp` (GP-level rights), `care_team` (a doctor of her care team) and `refusal` (a block, a closed or opposed
    DMP: nobody releases then)."""
    if not is_health_professional(user):
        return {"gp": False, "care_team": False, "refusal": _not_health_professional()}
    return {
        "gp": has_gp_rights(user, record),
        "care_team": is_care_team_doctor(user, record.patient_id, now),
        "refusal": _closed_to(user, record),
    }


def release_mode(user, document: SharedDocument, grounds: dict) -> str | None:
    """The ground on which `user` releases this held report (author, GP-level rights, care team), or None."""
    if document.author_id == user.pk:
        return Mode.AUTHOR
    if grounds["gp"]:
        return Mode.GP
    if grounds["care_team"]:
        return Mode.CARE_TEAM
    return None


def decide_release(user, document: SharedDocument, now=None) -> Decision:
    """May `user` release a CHU report held from the patient until the announcement consultation?

    Its author, a doctor of the patient's care team in the CHU (the units of her open or recent stays,
    records.access.care_team_units) or a doctor with GP-level rights (who may announce it in his practice,
    CSP L.1111-16): not a professional who reads the DMP by consent or in an emergency (announcing a diagnosis
    belongs to those who treat her, CSP L.1111-2). Not through a block, nor on a closed or opposed DMP.
    Someone who may not see the document is answered as for reading it (404 when it must not be revealed).
    """
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if not is_health_professional(user):
        reading = decide_document(user, document, DocAction.READ, now)
        if reading.allowed:  # the patient herself, on a report already released
            return Decision.deny("forbidden", _("Seul un professionnel rend un document visible du patient."))
        return reading
    grounds = release_grounds(user, document.record, now)
    mode = release_mode(user, document, grounds)
    if mode is None:
        reading = decide_document(user, document, DocAction.READ, now)
        if not reading.allowed:
            return reading
        return Decision.deny(
            "forbidden",
            _(
                "Ce compte rendu attend la consultation d'annonce : seuls son auteur, un médecin de l'équipe de "
                "soins du patient au CHU ou un médecin ayant les droits du médecin traitant le rendent visible "
                "du patient."
            ),
        )
    if grounds["refusal"] is not None:
        return grounds["refusal"]
    if document.status == DocumentStatus.WITHDRAWN:
        return Decision.deny("conflict", _("Ce document a été retiré du DMP."), status=409)
    if not document.held:
        return Decision.deny("conflict", _("Ce document est déjà visible du patient."), status=409)
    return Decision.allow(mode)


def held_reports_scope(user, now=None) -> QuerySet:
    """The held reports of `user`'s units (stays that passed through one of them) that `user` may release:
    his own, and, for a doctor, those of the patients his units treat now. Oldest first."""
    if not _authenticated(user) or user.role not in CHU_ROLES or not is_health_professional(user):
        return SharedDocument.objects.none()
    now = now or timezone.now()
    units = Unit.objects.filter(staff__user=user).values("pk")
    of_units = Report.objects.filter(Q(stay__unit__in=units) | Q(stay__movements__unit__in=units))
    mine = Q(author=user)
    if is_doctor(user):
        treated = Stay.objects.open_or_recent(now).filter(Q(unit__in=units) | Q(movements__unit__in=units))
        mine |= Q(record__patient__in=treated.values("patient_id"))
    return (
        SharedDocument.objects.filter(
            held=True,
            deleted_at__isnull=True,
            status=DocumentStatus.CURRENT,
            record__status=RecordStatus.ACTIVE,
            source_report_id__in=of_units.values("public_id"),
        )
        .filter(mine)
        .exclude(record__blocked__professional=user)
        .select_related("author__professional_profile", "record__patient")
        .order_by("created_at", "id")
    )


def decide_held_list(user) -> Decision:
    """The list of held reports: CHU health professionals (each sees those he may release)."""
    if not _authenticated(user):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role in CHU_ROLES and is_health_professional(user):
        return Decision.allow(Mode.CARE_TEAM)
    return Decision.deny(
        "forbidden", _("La liste des comptes rendus en attente d'annonce est réservée aux soignants du CHU.")
    )


# --- Representatives (issue 21) ---------------------------------------------------------------


def secret_document_ids(record_ref) -> QuerySet:
    """The public ids of a DMP's documents kept secret from the legal representatives (a subquery)."""
    return SharedDocument.objects.filter(record=record_ref, secret_from_representatives=True).values("public_id")


def decide_secret_flag(user, record: SharedRecord, now=None) -> Decision:
    """May a document be filed "secret from the legal representatives" (CSP L.1111-5)? A health
    professional, for a minor (at the minor's request)."""
    if not is_health_professional(user):
        return Decision.deny("forbidden", _("Seul un professionnel de santé classe un document secret."))
    if not records_access.is_minor(record.patient, now):
        return Decision.deny(
            "invalid",
            _("Le secret vis-à-vis des représentants légaux ne concerne que les patients mineurs."),
            status=400,
        )
    return Decision.allow(Mode.AUTHOR)
