"""Codes of the hospital record: report types (LOINC), stay kinds, INS status, the INS OIDs."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _

# INS object identifiers (docs/domain.md, "Identifiers"): synthetic identities always carry the test OID.
INS_OID_PRODUCTION = "1.2.250.1.213.1.4.8"
INS_OID_TEST = "1.2.250.1.213.1.4.10"


class ReportType(models.TextChoices):
    DISCHARGE_LETTER = "11490-0", _("Lettre de liaison à la sortie d'un établissement de soins")
    OPERATIVE_REPORT = "34874-8", _("Compte rendu opératoire")
    EMERGENCY_VISIT = "15507-7", _("Compte rendu de passage aux urgences")
    IMAGING_REPORT = "18748-4", _("Compte rendu d'imagerie médicale")
    LAB_REPORT = "11502-2", _("Compte rendu d'examens biologiques")
    CONSULTATION_REPORT = "11488-4", _("Compte rendu de consultation")


class StayKind(models.TextChoices):
    HOSPITALISATION = "hospitalisation", _("Hospitalisation")
    EMERGENCY = "emergency", _("Passage aux urgences")
    CONSULTATION = "consultation", _("Consultation")


class InsStatus(models.TextChoices):
    PROVISIONAL = "provisional", _("Provisoire")
    RETRIEVED = "retrieved", _("Récupérée")
    VALIDATED = "validated", _("Validée")
    QUALIFIED = "qualified", _("Qualifiée")


class Sex(models.TextChoices):
    FEMALE = "F", _("Féminin")
    MALE = "M", _("Masculin")
    UNKNOWN = "I", _("Indéterminé")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    SIGNED = "signed", _("Signé")


class CareAction(StrEnum):
    """Trace actions of care across units that the audit vocabulary does not name."""

    TRANSFER = "transfer"
    REQUEST_OPINION = "request_opinion"
    ANSWER_OPINION = "answer_opinion"
    CLOSE_OPINION = "close_opinion"
    # A minor's stay kept secret from her legal representatives at her request, or the secret lifted (CSP L.1111-5).
    MINOR_SECRET = "minor_secret"
    MINOR_SECRET_LIFT = "minor_secret_lift"


class IdentityAction(StrEnum):
    """Trace actions of identity vigilance besides the audit vocabulary's `qualify_identity`."""

    RETRIEVE_INS = "retrieve_ins"
    VALIDATE_IDENTITY = "validate_identity"


class RepresentationKind(models.TextChoices):
    """Who acts for a patient (docs/domain.md, "Representatives"): CSP L.1111-2, L.1111-5, L.1111-6, C. civ. 371-1, 459."""

    PARENT = "parent", _("Parent (autorité parentale)")
    GUARDIAN = "guardian", _("Tuteur (mesure de protection)")
    # Named by the adult patient herself: reads only, revocable by her at any time.
    TRUSTED = "trusted", _("Représentant de confiance (lecture seule)")


class RepresentationAction(StrEnum):
    """Trace actions of representations (the audit vocabulary is open)."""

    RECORD = "representation_record"
    NAME_TRUSTED = "representation_name"
    END = "representation_end"
    MAJORITY = "representation_majority"


# The age of majority (C. civ. art. 414): parents' representation ends on the 18th birthday.
MAJORITY_AGE = 18
