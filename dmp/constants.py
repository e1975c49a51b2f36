"""Codes of the shared record (DMP): record status, document types (LOINC), classes, sources, actions."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _

from records.constants import ReportType


class RecordStatus(models.TextChoices):
    ACTIVE = "active", _("Actif")
    CLOSED = "closed", _("Fermé")
    OPPOSED = "opposed", _("Opposé")


class DocumentType(models.TextChoices):
    """LOINC document types: the CHU's report types, plus what patients and professionals add."""

    DISCHARGE_LETTER = ReportType.DISCHARGE_LETTER.value, ReportType.DISCHARGE_LETTER.label
    OPERATIVE_REPORT = ReportType.OPERATIVE_REPORT.value, ReportType.OPERATIVE_REPORT.label
    EMERGENCY_VISIT = ReportType.EMERGENCY_VISIT.value, ReportType.EMERGENCY_VISIT.label
    IMAGING_REPORT = ReportType.IMAGING_REPORT.value, ReportType.IMAGING_REPORT.label
    LAB_REPORT = ReportType.LAB_REPORT.value, ReportType.LAB_REPORT.label
    CONSULTATION_REPORT = ReportType.CONSULTATION_REPORT.value, ReportType.CONSULTATION_REPORT.label
    VACCINATION = "11369-6", _("Historique des vaccinations")
    PRESCRIPTION = "57833-6", _("Ordonnance")
    OTHER = "34133-9", _("Autre document (synthèse)")


class DocumentClass(models.TextChoices):
    """XDS class codes (assumed values of the French DMP nomenclature)."""

    REPORT = "10", _("Compte rendu")
    PRESCRIPTION = "11", _("Prescription")
    PATIENT_EXPRESSION = "90", _("Expression du titulaire")


class DocumentSource(models.TextChoices):
    CHU = "chu", _("CHU")
    PROFESSIONAL = "professional", _("Professionnel de santé")
    PATIENT = "patient", _("Patient")


class DocumentStatus(models.TextChoices):
    CURRENT = "current", _("Actuel")
    SUPERSEDED = "superseded", _("Remplacé")
    ARCHIVED = "archived", _("Archivé")
    # Filed by mistake (wrong patient, wrong document) or on the patient's upheld objection: out of
    # every read channel, kept for the DPO and the traces (FHIR `entered-in-error`).
    WITHDRAWN = "withdrawn", _("Retiré")


class WithdrawalReason(models.TextChoices):
    """Why a fed document was withdrawn (docs/domain.md, "Withdrawal")."""

    WRONG_PATIENT = "wrong_patient", _("Document déposé sur le mauvais patient")
    WRONG_DOCUMENT = "wrong_document", _("Mauvais document")
    PATIENT_OBJECTION = "patient_objection", _("Opposition du patient pour un motif légitime")


class ObjectionStatus(models.TextChoices):
    """The patient's objection to a document (CSP R.1111-47), answered by the author's unit."""

    OPEN = "open", _("En attente de réponse")
    UPHELD = "upheld", _("Acceptée : document retiré")
    DECLINED = "declined", _("Refusée, avec la réponse de l'unité")


class GrantSource(models.TextChoices):
    CONSENT = "consent", _("Autorisation donnée dans le portail")
    IN_PERSON_CONSENT = "in_person_consent", _("Autorisation donnée en consultation")


class ConsentStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    APPROVED = "approved", _("Acceptée")
    DENIED = "denied", _("Refusée")
    # Left unanswered for DMP_CONSENT_REQUEST_EXPIRY_DAYS: closed, the professional may ask again.
    EXPIRED = "expired", _("Expirée")


class EmergencyMode(models.TextChoices):
    """The two emergency modes of the DMP (their values are the trace modes `emergency` and `samu`)."""

    EMERGENCY = "emergency", _("Accès d'urgence (bris de glace)")
    SAMU = "samu", _("Régulation SAMU")


class DesignationKind(models.TextChoices):
    """GP-level rights on a DMP: the médecin traitant (one), or another doctor the patient gives the same rights."""

    GP = "gp", _("Médecin traitant")
    GP_LEVEL = "gp_level", _("Médecin ayant les droits du médecin traitant")


class DesignationStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposée")
    ACTIVE = "active", _("En vigueur")
    DECLINED = "declined", _("Déclinée")
    ENDED = "ended", _("Terminée")


class ProfileKind(models.TextChoices):
    ALLERGY = "allergy", _("Allergie")
    VACCINATION = "vaccination", _("Vaccination")
    TREATMENT = "treatment", _("Traitement")
    HISTORY = "history", _("Antécédent")


class NotificationKind(models.TextChoices):
    NEW_DOCUMENT = "new_document", _("Nouveau document")
    NEW_ACCESS = "new_access", _("Nouvel accès")
    EMERGENCY_ACCESS = "emergency_access", _("Accès d'urgence")
    CONSENT_REQUEST = "consent_request", _("Demande d'autorisation")
    CONSENT_ANSWER = "consent_answer", _("Réponse à une demande d'autorisation")
    SETTINGS = "settings", _("Paramètres")
    DESIGNATION = "designation", _("Médecin traitant")
    # A document withdrawn from the DMP (never named), the patient's objection and its answer.
    WITHDRAWAL = "withdrawal", _("Document retiré")
    OBJECTION = "objection", _("Opposition à un document")
    # To the author of a report still held from the patient after DMP_HOLD_REMINDER_DAYS.
    HOLD_REMINDER = "hold_reminder", _("Compte rendu en attente d'annonce")
    # Each step of a request for a copy of the hospital record (record_requests/).
    RECORD_REQUEST = "record_request", _("Demande de copie du dossier du CHU")


# The matrix key of the patient's own documents (class 90) in the access matrix.
MATRIX_PATIENT_DOCUMENTS = DocumentClass.PATIENT_EXPRESSION.value

# Types a patient may choose for their own uploads (class 90).
PATIENT_UPLOAD_TYPES = [DocumentType.VACCINATION, DocumentType.PRESCRIPTION, DocumentType.OTHER]


class DmpAction(StrEnum):
    """Trace actions of the DMP that the spine's audit vocabulary does not name."""

    LOOKUP = "lookup"
    DOWNLOAD = "download"
    MASK = "mask"
    UNMASK = "unmask"
    DELETE = "delete"
    MAKE_VISIBLE = "make_visible"
    SETTINGS = "update_settings"
    BLOCK = "block"
    UNBLOCK = "unblock"
    GRANT = "grant"
    REVOKE = "revoke"
    ACTIVATE = "activate_account"
    ISSUE_ACTIVATION_CODE = "issue_activation_code"
    CONSENT_REQUEST = "consent_request"
    CONSENT_APPROVE = "consent_approve"
    CONSENT_DENY = "consent_deny"
    DESIGNATION_PROPOSE = "designation_propose"
    DESIGNATION_ACCEPT = "designation_accept"
    DESIGNATION_DECLINE = "designation_decline"
    DESIGNATION_END = "designation_end"
    # The DMP's life (issue 19, point 4; docs/domain.md "DMP statuses").
    DMP_OPPOSE = "dmp_oppose"
    DMP_LIFT_OPPOSITION = "dmp_lift_opposition"
    DMP_CLOSE = "dmp_close"
    DMP_REOPEN = "dmp_reopen"
    DMP_DELETION_REQUEST = "dmp_deletion_request"
    DMP_EXPORT = "dmp_export"
    DMP_PURGE = "dmp_purge"
    # A fed document withdrawn (wrong patient, wrong document, the patient's upheld objection).
    WITHDRAW = "withdraw"
    # The patient's objection to a document (CSP R.1111-47) and the unit's answer.
    OBJECTION_CREATE = "objection_create"
    OBJECTION_UPHOLD = "objection_uphold"
    OBJECTION_DECLINE = "objection_decline"
    # A held CHU report released to the patient after the announcement consultation; its author reminded.
    RELEASE = "release"
    HOLD_REMINDER = "hold_reminder"


class FeedStatus(models.TextChoices):
    """States of a feed item (docs/domain.md, "The automatic feed")."""

    PENDING = "pending", _("En attente d'envoi")
    DELIVERED = "delivered", _("Déposé")
    WAITING_IDENTITY = "waiting_identity", _("En attente de l'identité qualifiée")
    SKIPPED = "skipped", _("Non envoyé")
    FAILED = "failed", _("Échec")


class FeedReason(models.TextChoices):
    """Why a feed item waits, was skipped or failed."""

    NONE = "", _("—")
    IDENTITY_NOT_QUALIFIED = "identity_not_qualified", _("INS non qualifiée")
    TYPE_OFF = "type_off", _("Type de document non alimenté")
    DMP_OPPOSED = "dmp_opposed", _("Opposition au DMP")
    DMP_CLOSED = "dmp_closed", _("DMP fermé")
    ERROR = "error", _("Erreur de dépôt")


class FeedAction(StrEnum):
    """Trace actions of the feed dashboard."""

    DASHBOARD = "feed_dashboard"
    RETRY = "feed_retry"
    # The system removes stored files no document references (dmp/feed/orphans.py).
    REMOVE_ORPHAN_FILES = "remove_orphan_files"
