"""The trace vocabulary in words: a label for every action, object type, mode and outcome that traces carry.

Traces store codes (`AuditEvent.action`, `object_type`, `mode`, `outcome`); people read these labels (the DPO's
console, the professional's pages) and the sentences of the patient's access history (dmp/services/history.py).
The vocabulary is open (apps above audit add their own actions): a code missing here is shown as a neutral
"other action" label, never raw, and tests/audit/test_labels.py fails on it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Every action a trace may carry, the apps' own included (records' care actions, the DMP's, the feed's).
ACTION_LABELS = {
    "list": _("Consultation d'une liste"),
    "read": _("Consultation"),
    "search": _("Recherche"),
    "create": _("Création"),
    "update": _("Modification"),
    "sign": _("Signature"),
    "amend": _("Correction"),
    "emergency_access": _("Accès d'urgence (bris de glace)"),
    "qualify_identity": _("Qualification de l'identité"),
    "verify": _("Vérification d'intégrité"),
    "login_lockout": _("Blocage de connexion"),
    "enrol_second_factor": _("Activation de la double authentification"),
    "reset_second_factor": _("Réinitialisation de la double authentification"),
    "export": _("Export"),
    "review": _("Revue par le DPO"),
    "admin_add": _("Ajout par l'administration"),
    "admin_change": _("Modification par l'administration"),
    "admin_delete": _("Suppression par l'administration"),
    "invite": _("Invitation d'un nouveau compte"),
    "rate_limited": _("Limite de fréquence atteinte"),
    "account_recovery": _("Récupération de compte"),
    # Care across units (records).
    "transfer": _("Transfert de séjour"),
    "request_opinion": _("Demande d'avis"),
    "answer_opinion": _("Réponse à une demande d'avis"),
    "close_opinion": _("Clôture d'une demande d'avis"),
    "minor_secret": _("Séjour d'un mineur gardé secret vis-à-vis de ses représentants"),
    "minor_secret_lift": _("Levée du secret d'un séjour d'un mineur"),
    # Identity vigilance (records).
    "retrieve_ins": _("Récupération de l'INS (téléservice INSi)"),
    "validate_identity": _("Validation de l'identité (pièce d'identité vérifiée)"),
    # The DMP.
    "lookup": _("Recherche d'un DMP"),
    "download": _("Téléchargement"),
    "mask": _("Masquage d'un document"),
    "unmask": _("Démasquage d'un document"),
    "delete": _("Suppression"),
    "make_visible": _("Document rendu visible au patient"),
    "release": _("Compte rendu rendu visible au patient après la consultation d'annonce"),
    "hold_reminder": _("Rappel à l'auteur d'un compte rendu en attente d'annonce"),
    "update_settings": _("Modification des paramètres du DMP"),
    "block": _("Blocage d'un professionnel"),
    "unblock": _("Déblocage d'un professionnel"),
    "grant": _("Autorisation d'accès"),
    "revoke": _("Retrait d'une autorisation"),
    "activate_account": _("Activation de l'espace patient"),
    "issue_activation_code": _("Remise d'un code d'activation"),
    "consent_request": _("Demande d'accès au DMP"),
    "consent_approve": _("Acceptation d'une demande d'accès"),
    "consent_deny": _("Refus d'une demande d'accès"),
    "designation_propose": _("Proposition de médecin traitant"),
    "designation_accept": _("Acceptation de la désignation de médecin traitant"),
    "designation_decline": _("Refus de la désignation de médecin traitant"),
    "designation_end": _("Fin de la désignation de médecin traitant"),
    # The DMP's life (issue 19).
    "dmp_oppose": _("Opposition au DMP"),
    "dmp_lift_opposition": _("Levée de l'opposition au DMP"),
    "dmp_close": _("Fermeture du DMP"),
    "dmp_reopen": _("Réouverture du DMP"),
    "dmp_deletion_request": _("Demande de suppression du DMP"),
    "dmp_export": _("Téléchargement de tout le DMP"),
    "dmp_purge": _("Suppression d'un DMP fermé"),
    "withdraw": _("Retrait d'un document du DMP"),
    "objection_create": _("Opposition du patient à un document"),
    "objection_uphold": _("Opposition acceptée (document retiré)"),
    "objection_decline": _("Opposition refusée avec une réponse"),
    # The feed of signed reports to the DMP.
    "feed_dashboard": _("Consultation du tableau des envois au DMP"),
    "feed_retry": _("Relance d'un envoi au DMP"),
    "remove_orphan_files": _("Suppression de fichiers orphelins"),
    # Representatives (parents, guardians, trusted representatives).
    "representation_record": _("Enregistrement d'un représentant légal"),
    "representation_name": _("Désignation d'un représentant de confiance"),
    "representation_end": _("Fin d'une représentation"),
    "representation_majority": _("Fin de la représentation à la majorité"),
    # Requests for a copy of the hospital record (record_requests/).
    "validate": _("Validation d'une demande de copie du dossier"),
    "refuse": _("Refus d'une demande de copie du dossier"),
    "make_bundle": _("Préparation de la copie du dossier"),
    "send": _("Envoi de la copie au médecin désigné"),
    "expire": _("Expiration de la copie du dossier"),
}

OBJECT_LABELS = {
    "": _("—"),
    "account": _("Compte"),
    "activation_code": _("Code d'activation"),
    "audit_chain": _("Journal des accès"),
    "audit_event": _("Trace d'accès"),
    "dmp": _("DMP"),
    "dmp_blocked": _("Professionnels bloqués (DMP)"),
    "dmp_consent_request": _("Demande d'accès au DMP"),
    "dmp_designation": _("Désignation de médecin traitant"),
    "dmp_document": _("Document du DMP"),
    "dmp_document_content": _("Fichier d'un document du DMP"),
    "dmp_objection": _("Opposition à un document du DMP"),
    "dmp_grant": _("Autorisation d'accès au DMP"),
    "dmp_profile": _("Profil médical (DMP)"),
    "dmp_settings": _("Paramètres du DMP"),
    "feed": _("Envois au DMP"),
    "feed_item": _("Envoi d'un compte rendu au DMP"),
    "handover_note": _("Transmission"),
    "hospital_record": _("Dossier du CHU"),
    "identity_incident": _("Incident d'identitovigilance"),
    "opinion_request": _("Demande d'avis"),
    "patient": _("Patient"),
    "patient_identity": _("Identité du patient"),
    "report": _("Compte rendu"),
    "representation": _("Représentant du patient"),
    "stay": _("Séjour"),
    "storage_file": _("Fichier stocké"),
    "record_request": _("Demande de copie du dossier du CHU"),
    "record_bundle": _("Copie du dossier du CHU"),
    "secure_message": _("Message de la messagerie sécurisée"),
    # A trace of a refusal before the object was known.
    "access_grant": _("Autorisation d'accès au DMP"),
}

MODE_LABELS = {
    "": _("—"),
    "self": _("Le patient lui-même"),
    "care_team": _("Équipe de soins du CHU"),
    "opinion_request": _("Avis demandé par l'équipe de soins"),
    "gp": _("Médecin traitant"),
    "author": _("Auteur du document"),
    "consent": _("Autorisation du patient"),
    "in_person_consent": _("Autorisation donnée en consultation"),
    "team_consent": _("Équipe de soins autorisée par le patient"),
    "emergency": _("Urgence (bris de glace)"),
    "samu": _("Régulation du SAMU"),
    "feed": _("Envoi automatique du CHU"),
    "dpo_review": _("Contrôle par le DPO"),
    "admin": _("Administration"),
    "representative": _("Représentant légal du patient"),
    "trusted_representative": _("Représentant de confiance du patient"),
    "record_request": _("Demande de copie du dossier du CHU"),
}

OUTCOME_LABELS = {"allowed": _("Autorisé"), "denied": _("Refusé")}

# The actor's role as traced (accounts' roles: audit imports no app above it).
ROLE_LABELS = {
    "patient": _("Patient"),
    "chu_clinician": _("Médecin du CHU"),
    "chu_collaborator": _("Collaborateur du CHU"),
    "external_professional": _("Professionnel de santé (hors CHU)"),
    "dpo": _("Délégué à la protection des données"),
    "admin": _("Administrateur"),
    "system": _("Système"),
}

OTHER = _("Autre")


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, OTHER)


def object_label(code: str) -> str:
    return OBJECT_LABELS.get(code, OTHER)


def mode_label(code: str) -> str:
    return MODE_LABELS.get(code or "", OTHER)


def role_label(code: str) -> str:
    return ROLE_LABELS.get(code, OTHER)


def outcome_label(code: str) -> str:
    return OUTCOME_LABELS.get(code, OTHER)
