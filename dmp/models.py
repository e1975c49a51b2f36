"""Models of the shared record (DMP): the record, its documents, grants, blocks, profile, notifications, the matrix."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Profession, Unit
from records.models import Patient, Report

from .constants import (
    ConsentStatus,
    DesignationKind,
    DesignationStatus,
    DocumentClass,
    DocumentSource,
    DocumentStatus,
    DocumentType,
    EmergencyMode,
    FeedReason,
    FeedStatus,
    GrantSource,
    NotificationKind,
    ObjectionStatus,
    ProfileKind,
    RecordStatus,
    WithdrawalReason,
)


class SharedRecord(models.Model):
    """One DMP per patient, with the patient's choices (emergency and SAMU access, e-mails).

    The médecin traitant and the other doctors with the same rights are not a column: they are
    `Designation` rows, and the right itself is the guardian object permission `GP_RIGHTS`
    (docs/domain.md, "GP-level rights").
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="shared_record")
    status = models.CharField(_("statut"), max_length=10, choices=RecordStatus.choices, default=RecordStatus.ACTIVE)
    emergency_access_allowed = models.BooleanField(_("accès d'urgence autorisé"), default=True)
    samu_access_allowed = models.BooleanField(_("accès SAMU autorisé"), default=True)
    notify_by_email = models.BooleanField(_("notifications par e-mail"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # The patient activated her DMP (the activation code's use, the seam standing for the Assurance
    # Maladie's letter; or lifting her opposition): from then on she closes it, she no longer opposes
    # (docs/decisions.md, "The DMP's life").
    activated_at = models.DateTimeField(_("activé le"), null=True, blank=True)
    # A closed DMP: when closed (kept DMP_CLOSED_RETENTION_YEARS, then purged), and the patient's
    # request to delete it sooner (done after DMP_DELETION_DELAY_DAYS); cleared when reopened.
    closed_at = models.DateTimeField(_("fermé le"), null=True, blank=True)
    deletion_requested_at = models.DateTimeField(_("suppression demandée le"), null=True, blank=True)
    # The purge removed its documents' files and contents (the rows and the traces stay).
    purged_at = models.DateTimeField(_("purgé le"), null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(status__in=RecordStatus.values), name="dmp_status_valid")]
        permissions = [("gp_rights", "GP-level rights on the DMP (médecin traitant DMP)")]

    def __str__(self) -> str:
        return f"DMP {self.patient}"

    @property
    def is_active(self) -> bool:
        return self.status == RecordStatus.ACTIVE

    @property
    def is_closed(self) -> bool:
        return self.status == RecordStatus.CLOSED


class SharedRecordUserObjectPermission(UserObjectPermissionBase):
    """Guardian's direct-FK object permissions on a DMP: the GP-level rights, written by dmp/services/designations.py."""

    content_object = models.ForeignKey(SharedRecord, on_delete=models.CASCADE)


class SharedRecordGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(SharedRecord, on_delete=models.CASCADE)


def document_storage_name(instance, filename: str) -> str:
    """A random storage name: the name the user gave is metadata only (docs/domain.md, "Uploads")."""
    ext = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(instance.mime_type, "")
    return f"dmp/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{ext}"


_TYPE_LABELS = dict(DocumentType.choices)


class SharedDocument(models.Model):
    """A DMP document (IHE XDS / FHIR DocumentReference metadata) and its file in storage."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(SharedRecord, on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(_("titre"), max_length=200)
    type_code = models.CharField(_("type (LOINC)"), max_length=10, choices=DocumentType.choices)
    class_code = models.CharField(_("classe"), max_length=4, choices=DocumentClass.choices)
    source = models.CharField(_("origine"), max_length=15, choices=DocumentSource.choices)
    # The professional who wrote it, or the patient's own account for their uploads.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="dmp_documents"
    )
    event_date = models.DateField(_("date de l'acte"), null=True, blank=True)
    created_at = models.DateTimeField(_("date de dépôt"), default=timezone.now, db_index=True)
    file = models.FileField(upload_to=document_storage_name, max_length=200)
    original_filename = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=50)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.CURRENT)
    masked = models.BooleanField(_("masqué aux professionnels"), default=False)
    visible_to_patient = models.BooleanField(_("visible du patient"), default=True)
    # A CHU report fed "after the announcement consultation": invisible to the patient until a
    # doctor allowed to announce it releases it (docs/domain.md, "Held reports").
    held = models.BooleanField(_("retenu jusqu'à la consultation d'annonce"), default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    # When the author was reminded that it is still held (DMP_HOLD_REMINDER_DAYS; once per document).
    hold_reminded_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.CharField(
        _("motif du retrait"), max_length=20, choices=WithdrawalReason.choices, blank=True, default=""
    )
    withdrawal_note = models.TextField(_("précision sur le retrait"), blank=True)
    # The minor's secret (CSP L.1111-5, R.1111-50): filed at the minor's request, never shown to her
    # legal representatives, nor any trace or notification about it (docs/domain.md, "Representatives").
    secret_from_representatives = models.BooleanField(_("secret vis-à-vis des représentants légaux"), default=False)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by")
    # Every version of one document shares its first version's lineage: a mask covers them all.
    lineage = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    # The feed (records -> DMP) files one document per signed report version: its idempotency key.
    source_report_id = models.UUIDField(null=True, blank=True, unique=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["record", "status", "deleted_at", "created_at"], name="dmp_doc_record_list")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="dmp_doc_status_valid"),
            models.CheckConstraint(condition=Q(source__in=DocumentSource.values), name="dmp_doc_source_valid"),
            models.CheckConstraint(condition=Q(type_code__in=DocumentType.values), name="dmp_doc_type_valid"),
            models.CheckConstraint(condition=Q(size__gt=0), name="dmp_doc_not_empty"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="dmp_doc_sha256_format"),
            models.CheckConstraint(
                condition=~Q(source=DocumentSource.PATIENT)
                | (Q(class_code=DocumentClass.PATIENT_EXPRESSION) & Q(visible_to_patient=True)),
                name="dmp_doc_patient_upload_class_90",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="dmp_doc_title_not_empty"),
            # Held means invisible to the patient until released; a withdrawn document says why and when.
            models.CheckConstraint(
                condition=~Q(held=True) | Q(visible_to_patient=False), name="dmp_doc_held_invisible"
            ),
            models.CheckConstraint(
                condition=~Q(status=DocumentStatus.WITHDRAWN)
                | (Q(withdrawn_at__isnull=False) & ~Q(withdrawal_reason="")),
                name="dmp_doc_withdrawn_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_type_code_display()})"

    def get_type_code_display(self) -> str:
        """The type's label by a dict lookup: Django's generated method hashes every lazy label of
        the choices on each call (a gettext each), which cost about half a millisecond per document
        in a 50-document list (bench/, docs/benchmarks.md)."""
        return str(_TYPE_LABELS.get(self.type_code, self.type_code))

    @property
    def is_patient_upload(self) -> bool:
        return self.source == DocumentSource.PATIENT


class AccessGrant(models.Model):
    """The patient's authorisation for one professional, checked in SQL by dmp/access.py at every decision.

    Created only by dmp.consent.grants.grant_create (consent workflow, in-person consent, tests, seed).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(SharedRecord, on_delete=models.PROTECT, related_name="grants")
    professional = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dmp_grants")
    source = models.CharField(max_length=20, choices=GrantSource.choices)
    purpose = models.TextField(blank=True)
    starts = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["professional", "record", "expires"], name="dmp_grant_lookup")]
        constraints = [
            models.CheckConstraint(condition=Q(expires__gt=models.F("starts")), name="dmp_grant_window_positive"),
            models.CheckConstraint(condition=Q(source__in=GrantSource.values), name="dmp_grant_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.professional} -> {self.record} ({self.source})"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.starts <= now < self.expires


class BlockedProfessional(models.Model):
    """A professional the patient blocked: sees nothing of the DMP, grant or emergency notwithstanding."""

    record = models.ForeignKey(SharedRecord, on_delete=models.CASCADE, related_name="blocked")
    professional = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_by")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "professional"], name="dmp_block_unique")]

    def __str__(self) -> str:
        return f"{self.professional} blocked on {self.record}"


class Designation(models.Model):
    """The patient gives a doctor GP-level rights: her médecin traitant (kind `gp`, one at a time) or another doctor.

    Proposed by the patient, in force once the doctor accepts it (or records it as made with the
    patient present), until either ends it. The right itself is the guardian permission GP_RIGHTS,
    granted and withdrawn with the designation by dmp/services/designations.py in one transaction.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(SharedRecord, on_delete=models.CASCADE, related_name="designations")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dmp_designations")
    kind = models.CharField(_("type"), max_length=10, choices=DesignationKind.choices)
    status = models.CharField(_("statut"), max_length=10, choices=DesignationStatus.choices)
    in_person = models.BooleanField(_("faite en consultation"), default=False)
    proposed_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DesignationKind.values), name="dmp_designation_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=DesignationStatus.values), name="dmp_designation_status_valid"
            ),
            # One médecin traitant in force per DMP; one open designation per doctor and DMP.
            models.UniqueConstraint(
                fields=["record"],
                condition=Q(kind=DesignationKind.GP, status=DesignationStatus.ACTIVE),
                name="dmp_designation_one_gp",
            ),
            models.UniqueConstraint(
                fields=["record", "doctor"],
                condition=Q(status__in=[DesignationStatus.PROPOSED, DesignationStatus.ACTIVE]),
                name="dmp_designation_one_open",
            ),
            models.CheckConstraint(
                condition=~Q(status=DesignationStatus.ACTIVE) | Q(accepted_at__isnull=False),
                name="dmp_designation_active_accepted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.kind} of {self.record} ({self.status})"


class DmpReader(models.Model):
    """Each professional who has read a DMP, once: the patient is told of the first read by a new professional."""

    record = models.ForeignKey(SharedRecord, on_delete=models.CASCADE, related_name="readers")
    professional = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_read_at = models.DateTimeField(default=timezone.now)
    first_mode = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "professional"], name="dmp_reader_unique")]

    def __str__(self) -> str:
        return f"{self.professional} read {self.record}"


class MedicalProfileEntry(models.Model):
    """An entry of the patient's medical profile: allergy, vaccination, treatment or history."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(SharedRecord, on_delete=models.PROTECT, related_name="profile_entries")
    kind = models.CharField(_("catégorie"), max_length=15, choices=ProfileKind.choices)
    label = models.CharField(_("libellé"), max_length=200)
    date = models.DateField(_("date"), null=True, blank=True)
    note = models.TextField(_("remarque"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-date", "label"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ProfileKind.values), name="dmp_profile_kind_valid"),
            models.CheckConstraint(condition=~Q(label=""), name="dmp_profile_label_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"


class Notification(models.Model):
    """A message in someone's portal inbox (and by e-mail when opted in); never medical content in e-mails."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    message = models.CharField(max_length=400)
    record = models.ForeignKey(SharedRecord, null=True, blank=True, on_delete=models.CASCADE)
    document = models.ForeignKey(SharedDocument, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "created_at"], name="dmp_notification_inbox")]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.message}"


class AccessMatrixEntry(models.Model):
    """One cell of the access matrix: may this profession read this document type (or class 90)?

    Data, not code (docs/domain.md, "The access matrix"): seeded with the default table by a migration, edited in the admin.
    """

    profession = models.CharField(_("profession"), max_length=30, choices=Profession.choices)
    document_key = models.CharField(
        _("type de document (LOINC) ou classe 90"),
        max_length=10,
        help_text=_("Code LOINC du type, ou « 90 » pour les documents déposés par le patient."),
    )
    allowed = models.BooleanField(_("lecture autorisée"), default=False)

    class Meta:
        ordering = ["document_key", "profession"]
        verbose_name = _("case de la matrice d'accès")
        verbose_name_plural = _("matrice d'accès")
        constraints = [
            models.UniqueConstraint(fields=["profession", "document_key"], name="dmp_matrix_unique"),
            models.CheckConstraint(condition=Q(profession__in=Profession.values), name="dmp_matrix_profession_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.profession} / {self.document_key}: {'✓' if self.allowed else '–'}"


class ProfileMatrixEntry(models.Model):
    """One cell of the profile matrix: may this profession read this kind of profile entry (allergies...)?

    Data like the document matrix (docs/domain.md, "The medical profile"): seeded by a migration, edited in the admin.
    """

    profession = models.CharField(_("profession"), max_length=30, choices=Profession.choices)
    kind = models.CharField(_("catégorie"), max_length=15, choices=ProfileKind.choices)
    allowed = models.BooleanField(_("lecture autorisée"), default=False)

    class Meta:
        ordering = ["kind", "profession"]
        verbose_name = _("case de la matrice du profil médical")
        verbose_name_plural = _("matrice du profil médical")
        constraints = [
            models.UniqueConstraint(fields=["profession", "kind"], name="dmp_profile_matrix_unique"),
            models.CheckConstraint(
                condition=Q(profession__in=Profession.values), name="dmp_profile_matrix_profession_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=ProfileKind.values), name="dmp_profile_matrix_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.profession} / {self.kind}: {'✓' if self.allowed else '–'}"


def _hash_code(raw: str) -> str:
    return hashlib.sha256(raw.strip().upper().encode()).hexdigest()


class ActivationCode(models.Model):
    """The code the CHU hands a patient to activate their space (stored hashed, single use, expiring)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="activation_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    hash_code = staticmethod(_hash_code)

    def __str__(self) -> str:
        return f"activation code of {self.patient}"


# --- Consent requests and DMP emergency access (the consent issue) ---------------------------


class ConsentRequest(models.Model):
    """A professional asks the patient for access to the DMP (purpose, duration); the patient answers in the portal."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(SharedRecord, on_delete=models.PROTECT, related_name="consent_requests")
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dmp_consent_requests"
    )
    purpose = models.TextField(_("motif"))
    duration_days = models.PositiveIntegerField(_("durée (jours)"))
    status = models.CharField(max_length=10, choices=ConsentStatus.choices, default=ConsentStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    grant = models.OneToOneField(
        AccessGrant, null=True, blank=True, on_delete=models.PROTECT, related_name="consent_request"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["record", "status", "created_at"], name="dmp_consent_inbox")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ConsentStatus.values), name="dmp_consent_status_valid"),
            models.CheckConstraint(condition=~Q(purpose=""), name="dmp_consent_purpose_required"),
            models.CheckConstraint(condition=Q(duration_days__gte=1), name="dmp_consent_duration_positive"),
            # One open question at a time per professional and patient.
            models.UniqueConstraint(
                fields=["record", "professional"],
                condition=Q(status=ConsentStatus.PENDING),
                name="dmp_consent_one_pending",
            ),
            models.CheckConstraint(
                condition=~Q(status=ConsentStatus.APPROVED) | Q(grant__isnull=False),
                name="dmp_consent_approved_has_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.professional} asks {self.record} ({self.status})"


class DmpEmergencyAccess(models.Model):
    """Bris de glace (or SAMU regulation) on one patient's DMP: a reason, a short window; the matrix still applies."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    record = models.ForeignKey(SharedRecord, on_delete=models.PROTECT, related_name="emergency_accesses")
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dmp_emergency_accesses"
    )
    mode = models.CharField(max_length=10, choices=EmergencyMode.choices)
    reason = models.TextField(_("motif"))
    starts = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["professional", "record", "expires"], name="dmp_emergency_lookup")]
        constraints = [
            models.CheckConstraint(condition=Q(expires__gt=models.F("starts")), name="dmp_emergency_window_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="dmp_emergency_reason_required"),
            models.CheckConstraint(condition=Q(mode__in=EmergencyMode.values), name="dmp_emergency_mode_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.professional} -> {self.record} ({self.mode}) until {self.expires:%Y-%m-%d %H:%M}"


class FeedItem(models.Model):
    """The outbox of the automatic feed (records -> DMP): one row per signed report version.

    Written in the signing transaction by dmp/feed/receivers.py; delivered after commit by dmp/feed/tasks.py, and
    resent by the beat sweep while still pending. The report is unique here and the document's
    `source_report_id` is unique too: a duplicate message can never file a second document.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    report = models.OneToOneField(Report, on_delete=models.PROTECT, related_name="feed_item")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="feed_items")
    type_code = models.CharField(_("type (LOINC)"), max_length=10, choices=DocumentType.choices)
    status = models.CharField(_("statut"), max_length=20, choices=FeedStatus.choices, default=FeedStatus.PENDING)
    reason = models.CharField(_("motif"), max_length=30, choices=FeedReason.choices, blank=True, default="")
    # Delivery attempts started (by a task, a retry, a sweep or an admin retry).
    attempts = models.PositiveIntegerField(default=0)
    # Messages that arrived for an item already delivered (duplicates, broker redeliveries).
    redeliveries = models.PositiveIntegerField(default=0)
    # Delivered by a relay that another item's message started (dmp/feed/delivery.py, feed_relay): its own
    # message, when it comes, is expected and not counted among the redeliveries (the flag is then cleared).
    relayed = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    document = models.ForeignKey(
        SharedDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="feed_items"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # The sweep resends a pending item once this time has passed (after-commit task or retry first).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The PDF rendered from the report in the signing transaction (the document as signed); the
    # delivery files these bytes and clears them. Empty for items that did not go at signing
    # (waiting for the identity, skipped): those are rendered when they go.
    content = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="dmp_feed_due"),
            models.Index(fields=["patient", "status"], name="dmp_feed_patient_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=FeedStatus.values), name="dmp_feed_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=FeedStatus.DELIVERED) | Q(document__isnull=False, delivered_at__isnull=False),
                name="dmp_feed_delivered_has_document",
            ),
        ]

    def __str__(self) -> str:
        return f"feed {self.public_id} ({self.status})"


# --- The patient's objection to a document (CSP R.1111-47; docs/domain.md, "Withdrawal and objection") ----


class DocumentObjection(models.Model):
    """The patient objects to a document for a legitimate reason; the author's unit withdraws it or answers why not.

    Written and answered only by dmp/services/withdrawal.py (traced both ways).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(SharedDocument, on_delete=models.PROTECT, related_name="objections")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The unit the request goes to: the unit of the stay the report was written in.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="dmp_objections")
    reason = models.TextField(_("motif"))
    status = models.CharField(_("statut"), max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN)
    answer = models.TextField(_("réponse"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["unit", "status", "created_at"], name="dmp_objection_inbox")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ObjectionStatus.values), name="dmp_objection_status_valid"),
            models.CheckConstraint(condition=~Q(reason=""), name="dmp_objection_reason_required"),
            models.CheckConstraint(
                condition=Q(status=ObjectionStatus.OPEN) | Q(answered_at__isnull=False, answered_by__isnull=False),
                name="dmp_objection_answered",
            ),
            models.CheckConstraint(
                condition=~Q(status=ObjectionStatus.DECLINED) | ~Q(answer=""), name="dmp_objection_decline_says_why"
            ),
            # One open objection per document at a time.
            models.UniqueConstraint(
                fields=["document"], condition=Q(status=ObjectionStatus.OPEN), name="dmp_objection_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"objection to {self.document_id} ({self.status})"
