"""Codes of a record request: who asks, the form of the answer, its states and the refusals the law allows."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _

# The unit whose staff run the medical records office (docs/decisions.md, "The medical records office").
RECORDS_OFFICE_UNIT_NAME = "Archives médicales"


class RequesterKind(models.TextChoices):
    PATIENT = "patient", _("La personne elle-même")
    REPRESENTATIVE = "representative", _("Son représentant légal")
    HEIR = "heir", _("Un ayant droit (patient décédé)")


class Delivery(models.TextChoices):
    """The form of the answer (CSP R.1111-2): a copy in the portal, or sent to a doctor the requester names."""

    DOWNLOAD = "download", _("Téléchargement dans le portail")
    DOCTOR = "doctor", _("Envoi à un médecin que je désigne")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Reçue")
    VALIDATED = "validated", _("Validée, copie en préparation")
    READY = "ready", _("Copie prête, délai de réflexion en cours")
    AVAILABLE = "available", _("Mise à disposition")
    SENT = "sent", _("Envoyée au médecin désigné")
    REFUSED = "refused", _("Refusée")
    EXPIRED = "expired", _("Copie expirée")


OPEN_STATUSES = frozenset({RequestStatus.RECEIVED, RequestStatus.VALIDATED, RequestStatus.READY})
ANSWERED_STATUSES = frozenset({RequestStatus.AVAILABLE, RequestStatus.SENT, RequestStatus.EXPIRED})


class RefusalReason(models.TextChoices):
    """The grounds on which the CHU may decline to communicate (CSP L.1111-7, L.1110-4 V, R.1111-1)."""

    # R.1111-1: the recipient checks the requester's identity and, for an intermediary, his quality of doctor.
    IDENTITY_NOT_ESTABLISHED = "identity_not_established", _("Identité ou qualité du demandeur non établie")
    # L.1111-7: only the person, her representative, her heirs or a doctor she names.
    NOT_ENTITLED = "not_entitled", _("Le demandeur n'a pas qualité pour demander ce dossier")
    # L.1110-4 V: heirs receive what they need to know the cause of death, defend the memory or assert their rights.
    HEIR_REASON_NOT_ALLOWED = "heir_reason_not_allowed", _("Motif de l'ayant droit non prévu par la loi")
    # L.1110-4 V: unless the person objected during her lifetime.
    DECEASED_OBJECTED = "deceased_objected", _("Opposition exprimée par le patient de son vivant")
    # L.1111-7: the CHU holds no information on the requested stays that can be communicated.
    NOTHING_HELD = "nothing_held", _("Aucune information communicable détenue pour cette demande")


class HeirReason(models.TextChoices):
    """The three purposes for which an heir may receive information (CSP L.1110-4 V)."""

    CAUSE_OF_DEATH = "cause_of_death", _("Connaître les causes de la mort")
    DEFEND_MEMORY = "defend_memory", _("Défendre la mémoire du défunt")
    ASSERT_RIGHTS = "assert_rights", _("Faire valoir ses droits")


class RecordRequestAction(StrEnum):
    """Trace actions of record requests that the audit vocabulary does not name."""

    VALIDATE = "validate"
    REFUSE = "refuse"
    MAKE_BUNDLE = "make_bundle"
    RELEASE = "release"
    DOWNLOAD = "download"
    SEND = "send"
    EXPIRE = "expire"
