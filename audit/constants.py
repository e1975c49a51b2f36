"""The vocabulary of traces: actions, outcomes, access modes and object types (docs/domain.md, "Access modes")."""

from enum import StrEnum

from django.db import models


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "allowed"
    DENIED = "denied", "denied"


class Mode(models.TextChoices):
    """Access modes, the `mode` of a trace and of a decision."""

    NONE = "", "none"
    SELF = "self", "self"
    CARE_TEAM = "care_team", "care team"
    OPINION_REQUEST = "opinion_request", "opinion request"
    GP = "gp", "GP"
    AUTHOR = "author", "author"
    CONSENT = "consent", "consent"
    IN_PERSON_CONSENT = "in_person_consent", "in-person consent"
    # A grant to a colleague of the patient's care-team unit covers the team (CSP R.1111-46).
    TEAM_CONSENT = "team_consent", "team consent"
    EMERGENCY = "emergency", "emergency"
    SAMU = "samu", "SAMU"
    FEED = "feed", "feed"
    DPO_REVIEW = "dpo_review", "DPO review"
    ADMIN = "admin", "admin"
    # A parent or guardian acting for the patient (CSP L.1111-2; never the minor's secret, L.1111-5).
    REPRESENTATIVE = "representative", "representative"
    # A representative the adult patient named herself: reads only.
    TRUSTED_REPRESENTATIVE = "trusted_representative", "trusted representative"
    # A copy of the hospital record (CSP L.1111-7): the office's queue, the doctor's validation, the named doctor.
    RECORD_REQUEST = "record_request", "record request"


class Action(models.TextChoices):
    LIST = "list", "list"
    READ = "read", "read"
    SEARCH = "search", "search"
    CREATE = "create", "create"
    UPDATE = "update", "update"
    SIGN = "sign", "sign"
    AMEND = "amend", "amend"
    EMERGENCY_ACCESS = "emergency_access", "emergency access"
    QUALIFY_IDENTITY = "qualify_identity", "qualify identity"
    VERIFY = "verify", "verify"
    LOGIN_LOCKOUT = "login_lockout", "login lockout"
    ENROL_SECOND_FACTOR = "enrol_second_factor", "enrol second factor"
    RESET_SECOND_FACTOR = "reset_second_factor", "reset second factor"
    EXPORT = "export", "export"
    REVIEW = "review", "review"
    # An administrator's change in /admin/ (mode admin): the access matrix, roles, units, accounts.
    ADMIN_ADD = "admin_add", "admin add"
    ADMIN_CHANGE = "admin_change", "admin change"
    ADMIN_DELETE = "admin_delete", "admin delete"
    # An invitation link sent to a new staff account (sets its own password, then enrols).
    INVITE = "invite", "invite"
    # A request refused by a rate limit (accounts/throttling.py): a burst against an oracle.
    RATE_LIMITED = "rate_limited", "rate limited"
    # An activation code issued for an account already active: an account recovery.
    ACCOUNT_RECOVERY = "account_recovery", "account recovery"


class ObjectType(StrEnum):
    """What a trace is about (`AuditEvent.object_type`): every writer and reader of traces names it from here.

    An open vocabulary like the actions (no `choices`, no migration); the DMP's types start with `dmp`
    (a doctor with GP-level rights reads those of the access history only).
    """

    ACCOUNT = "account"
    ACTIVATION_CODE = "activation_code"
    AUDIT_CHAIN = "audit_chain"
    AUDIT_EVENT = "audit_event"
    DMP = "dmp"
    DMP_BLOCKED = "dmp_blocked"
    DMP_CONSENT_REQUEST = "dmp_consent_request"
    DMP_DESIGNATION = "dmp_designation"
    DMP_DOCUMENT = "dmp_document"
    DMP_DOCUMENT_CONTENT = "dmp_document_content"
    DMP_OBJECTION = "dmp_objection"
    DMP_GRANT = "dmp_grant"
    DMP_PROFILE = "dmp_profile"
    DMP_SETTINGS = "dmp_settings"
    FEED = "feed"
    FEED_ITEM = "feed_item"
    HANDOVER_NOTE = "handover_note"
    HOSPITAL_RECORD = "hospital_record"
    IDENTITY_INCIDENT = "identity_incident"
    OPINION_REQUEST = "opinion_request"
    PATIENT = "patient"
    PATIENT_IDENTITY = "patient_identity"
    RECORD_BUNDLE = "record_bundle"
    RECORD_REQUEST = "record_request"
    REPORT = "report"
    REPRESENTATION = "representation"
    SECURE_MESSAGE = "secure_message"
    STAY = "stay"
    STORAGE_FILE = "storage_file"


# Modes whose traces the DPO reviews first (bris de glace, SAMU regulation).
FLAGGED_MODES = {Mode.EMERGENCY: "emergency_access", Mode.SAMU: "samu_access"}
# Security events the DPO sees flagged whatever their mode.
FLAGGED_ACTIONS = {
    Action.LOGIN_LOCKOUT: "login_lockout",
    Action.RESET_SECOND_FACTOR: "second_factor_reset",
    Action.ADMIN_ADD: "admin_change",
    Action.ADMIN_CHANGE: "admin_change",
    Action.ADMIN_DELETE: "admin_change",
    Action.RATE_LIMITED: "rate_limited",
    Action.ACCOUNT_RECOVERY: "account_recovery",
}
