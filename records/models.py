"""The hospital record: patients and their identity (INS), stays, CIM-10 diagnoses, CCAM procedures, reports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir as stdnum_nir

from accounts.models import Unit

from .constants import INS_OID_TEST, InsStatus, ReportStatus, ReportType, RepresentationKind, Sex, StayKind

CIM10_PATTERN = r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$"
CCAM_PATTERN = r"^[A-Z]{4}[0-9]{3}$"
NIR_PATTERN = r"^[12378][0-9]{4}(2A|2B|[0-9]{2})[0-9]{8}$"


def validate_nir(value: str) -> None:
    """NIR/INS: 13 characters + 2-digit key (97 - number mod 97; Corsica 2A/2B as 19/18)."""
    try:
        stdnum_nir.validate(value)
    except StdnumError as exc:
        raise ValidationError(_("Le NIR (matricule INS) est invalide : %(why)s"), params={"why": exc.message}) from exc


class Patient(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ipp = models.CharField(_("IPP"), max_length=20, unique=True)
    birth_name = models.CharField(_("nom de naissance"), max_length=100)
    used_name = models.CharField(_("nom utilisé"), max_length=100, blank=True)
    first_names = models.CharField(_("prénoms"), max_length=200)
    birth_date = models.DateField(_("date de naissance"))
    sex = models.CharField(_("sexe"), max_length=1, choices=Sex.choices)
    birth_place = models.CharField(_("lieu de naissance (code INSEE)"), max_length=5, blank=True)
    nir = models.CharField(
        _("matricule INS (NIR)"), max_length=15, unique=True, null=True, blank=True, validators=[validate_nir]
    )
    ins_oid = models.CharField(max_length=40, default=INS_OID_TEST)
    ins_status = models.CharField(
        _("statut de l'identité"), max_length=20, choices=InsStatus.choices, default=InsStatus.PROVISIONAL
    )
    identity_document_checked = models.BooleanField(_("pièce d'identité vérifiée"), default=False)
    # When the INS came back from the national service through the INSi seam (records/ins.py); a typed NIR has none.
    ins_retrieved_at = models.DateTimeField(_("INS récupérée auprès du téléservice INSi le"), null=True, blank=True)
    identity_qualified_at = models.DateTimeField(null=True, blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="patient"
    )

    class Meta:
        ordering = ["birth_name", "first_names"]
        indexes = [models.Index(fields=["birth_name", "birth_date"], name="patient_name_birth")]
        constraints = [
            models.CheckConstraint(
                condition=Q(nir__isnull=True) | Q(nir__regex=NIR_PATTERN), name="patient_nir_format"
            ),
            models.CheckConstraint(condition=Q(ins_status__in=InsStatus.values), name="patient_ins_status_valid"),
            # An INS retrieved (or qualified) has its number; validated or qualified means the ID was checked.
            models.CheckConstraint(
                condition=~Q(ins_status__in=[InsStatus.RETRIEVED, InsStatus.QUALIFIED]) | Q(nir__isnull=False),
                name="patient_retrieved_ins_has_nir",
            ),
            models.CheckConstraint(
                condition=~Q(ins_status__in=[InsStatus.VALIDATED, InsStatus.QUALIFIED])
                | Q(identity_document_checked=True),
                name="patient_validated_identity_checked",
            ),
            models.CheckConstraint(
                condition=~Q(ins_status=InsStatus.QUALIFIED) | Q(identity_qualified_at__isnull=False),
                name="patient_qualified_has_date",
            ),
            # Retrieved or qualified only through a retrieval (the INSi seam), never from a typed NIR alone.
            models.CheckConstraint(
                condition=~Q(ins_status__in=[InsStatus.RETRIEVED, InsStatus.QUALIFIED])
                | Q(ins_retrieved_at__isnull=False),
                name="patient_retrieved_ins_has_retrieval",
            ),
            models.CheckConstraint(
                condition=Q(ins_status__in=[InsStatus.RETRIEVED, InsStatus.QUALIFIED])
                | Q(ins_retrieved_at__isnull=True),
                name="patient_retrieval_sets_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.ipp})"

    @property
    def display_name(self) -> str:
        return f"{(self.used_name or self.birth_name).upper()} {self.first_names}"

    @property
    def first_name(self) -> str:
        return self.first_names.split()[0] if self.first_names else ""

    @property
    def ins_is_qualified(self) -> bool:
        return self.ins_status == InsStatus.QUALIFIED


class InsRegistryEntry(models.Model):
    """One identity of the national INS reference (RNIV), as the INSi teleservice would return it.

    Stands for the national service behind the seam (records/ins.py, `LocalRegistryClient`): the demo seeds it,
    the tests fill it. Traits are kept as the national service writes them (upper case, no accents).
    """

    nir = models.CharField(_("matricule INS (NIR)"), max_length=15, unique=True, validators=[validate_nir])
    oid = models.CharField(_("OID de l'INS"), max_length=40, default=INS_OID_TEST)
    birth_name = models.CharField(_("nom de naissance"), max_length=100)
    first_names = models.CharField(_("prénoms de naissance"), max_length=200)
    birth_date = models.DateField(_("date de naissance"))
    sex = models.CharField(_("sexe"), max_length=1, choices=Sex.choices)
    birth_place = models.CharField(_("lieu de naissance (code INSEE)"), max_length=5, blank=True)

    class Meta:
        verbose_name = _("identité du référentiel INS (local)")
        verbose_name_plural = _("identités du référentiel INS (local)")
        indexes = [models.Index(fields=["birth_date", "sex"], name="ins_registry_birth_sex")]
        constraints = [models.CheckConstraint(condition=Q(nir__regex=NIR_PATTERN), name="ins_registry_nir_format")]

    def __str__(self) -> str:
        return f"{self.birth_name} {self.first_names} ({self.birth_date:%Y-%m-%d})"


class StayQuerySet(models.QuerySet):
    def open_or_recent(self, now=None):
        """Stays still open, or discharged within RECORDS_RECENT_STAY_DAYS."""
        now = now or timezone.now()
        since = now - timezone.timedelta(days=settings.RECORDS_RECENT_STAY_DAYS)
        return self.filter(Q(discharged_at__isnull=True) | Q(discharged_at__gte=since), admitted_at__lte=now)


class Stay(models.Model):
    """A séjour: hospitalisation, emergency visit or consultation in one unit."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="stays")
    kind = models.CharField(_("type de séjour"), max_length=20, choices=StayKind.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="stays")
    admitted_at = models.DateTimeField(_("admission"))
    discharged_at = models.DateTimeField(_("sortie"), null=True, blank=True)
    # Care a minor keeps secret from her legal representatives (CSP L.1111-5): never shown or copied to them,
    # and the reports it feeds to the DMP are filed secret from them (CSP R.1111-50).
    secret_from_representatives = models.BooleanField(
        _("secret du mineur vis-à-vis de ses représentants"), default=False
    )

    objects = StayQuerySet.as_manager()

    class Meta:
        ordering = ["-admitted_at"]
        indexes = [models.Index(fields=["unit", "patient", "discharged_at"], name="stay_unit_patient")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=StayKind.values), name="stay_kind_valid"),
            models.CheckConstraint(
                condition=Q(discharged_at__isnull=True) | Q(discharged_at__gte=models.F("admitted_at")),
                name="stay_discharge_after_admission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.unit} {self.admitted_at:%Y-%m-%d}"


class Diagnosis(models.Model):
    """A diagnosis coded in CIM-10 (ICD-10), tied to a stay."""

    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="diagnoses")
    code = models.CharField(_("code CIM-10"), max_length=8)
    label = models.CharField(_("libellé"), max_length=255)
    principal = models.BooleanField(_("diagnostic principal"), default=False)

    class Meta:
        ordering = ["-principal", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=CIM10_PATTERN), name="diagnosis_cim10_format"),
            models.UniqueConstraint(
                fields=["stay"], condition=Q(principal=True), name="diagnosis_one_principal_per_stay"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class Procedure(models.Model):
    """A procedure coded in CCAM, tied to a stay."""

    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="procedures")
    code = models.CharField(_("code CCAM"), max_length=7)
    label = models.CharField(_("libellé"), max_length=255)
    performed_at = models.DateTimeField(_("réalisé le"), null=True, blank=True)

    class Meta:
        ordering = ["performed_at", "code"]
        constraints = [models.CheckConstraint(condition=Q(code__regex=CCAM_PATTERN), name="procedure_ccam_format")]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class SignedReportIsImmutable(Exception):
    """A signed report never changes: a correction is an amendment (a new version)."""


class Report(models.Model):
    """A report written in the CHU: draft, then signed (immutable); an amendment is a new version."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="reports")
    type_code = models.CharField(_("type (LOINC)"), max_length=10, choices=ReportType.choices)
    title = models.CharField(_("titre"), max_length=200)
    body = models.TextField(_("texte"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports")
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    version = models.PositiveIntegerField(default=1)
    # One amendment per version: the chain of versions is a line, never a tree.
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by")
    created_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    # Chosen at signing: the fed document stays invisible to the patient until the announcement
    # consultation (default per type: DMP_FEED_HOLD_TYPES; docs/domain.md, "Held reports").
    hold_from_patient = models.BooleanField(_("visible du patient après la consultation d'annonce"), default=False)

    class Meta:
        ordering = ["stay", "type_code", "-version"]
        constraints = [
            models.CheckConstraint(condition=Q(type_code__in=ReportType.values), name="report_type_valid"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="report_status_valid"),
            models.CheckConstraint(
                condition=(Q(status=ReportStatus.SIGNED) & Q(signed_at__isnull=False))
                | (Q(status=ReportStatus.DRAFT) & Q(signed_at__isnull=True)),
                name="report_signed_has_date",
            ),
            models.CheckConstraint(
                condition=(Q(version=1) & Q(replaces__isnull=True)) | (Q(version__gt=1) & Q(replaces__isnull=False)),
                name="report_version_chain",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="report_title_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version} ({self.status})"

    def save(self, *args, **kwargs):
        if not self._state.adding and self.pk:
            stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == ReportStatus.SIGNED:
                raise SignedReportIsImmutable(f"report {self.public_id} is signed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == ReportStatus.SIGNED:
            raise SignedReportIsImmutable(f"report {self.public_id} is signed")
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.status == ReportStatus.SIGNED


class EmergencyAccess(models.Model):
    """Bris de glace on the hospital record: one professional, one patient, a reason, a short window."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="emergency_accesses")
    reason = models.TextField(_("motif"))
    starts = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "patient", "expires"], name="emergency_user_patient")]
        constraints = [
            models.CheckConstraint(condition=Q(expires__gt=models.F("starts")), name="emergency_window_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="emergency_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.user} -> {self.patient} until {self.expires:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.starts <= timezone.now() < self.expires


class StayMovement(models.Model):
    """A transfer within a stay: from `at` on, the patient is in `unit` (urgences -> cardiologie -> réanimation)."""

    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="movements")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="movements")
    at = models.DateTimeField(_("entrée dans l'unité"))

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["unit", "stay"], name="movement_unit_stay")]
        constraints = [models.UniqueConstraint(fields=["stay", "at"], name="movement_one_per_instant")]

    def __str__(self) -> str:
        return f"{self.stay} -> {self.unit} at {self.at:%Y-%m-%d %H:%M}"


class OpinionStatus(models.TextChoices):
    OPEN = "open", _("En attente de réponse")
    ANSWERED = "answered", _("Répondue")
    CLOSED = "closed", _("Close sans réponse")


# Shown, not stored: an open request past OPINION_MAX_DAYS (records.access.opinions_giving_access).
OPINION_EXPIRED = "expired"
OPINION_EXPIRED_LABEL = _("Expirée sans réponse")


class OpinionRequest(models.Model):
    """Demande d'avis: a care-team doctor asks a colleague (or a unit) of another specialty for an opinion.

    While open, and for OPINION_GRACE_HOURS after it is answered or closed, the consulted doctor
    (or the consulted unit's doctors) read the patient's hospital record in mode opinion_request.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="opinion_requests")
    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="opinion_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opinion_requests_sent"
    )
    consulted_doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opinion_requests_received",
    )
    consulted_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="opinion_requests_received"
    )
    question = models.TextField(_("question posée"))
    status = models.CharField(max_length=10, choices=OpinionStatus.choices, default=OpinionStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="opinions_given"
    )
    answer = models.OneToOneField(
        Report, null=True, blank=True, on_delete=models.PROTECT, related_name="opinion_request"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["consulted_doctor", "status", "finished_at"], name="opinion_doctor"),
            models.Index(fields=["consulted_unit", "status", "finished_at"], name="opinion_unit"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OpinionStatus.values), name="opinion_status_valid"),
            models.CheckConstraint(
                condition=Q(consulted_doctor__isnull=False) | Q(consulted_unit__isnull=False),
                name="opinion_has_someone_to_ask",
            ),
            models.CheckConstraint(
                condition=(Q(status=OpinionStatus.OPEN) & Q(finished_at__isnull=True))
                | (~Q(status=OpinionStatus.OPEN) & Q(finished_at__isnull=False)),
                name="opinion_finished_when_not_open",
            ),
            models.CheckConstraint(
                condition=~Q(status=OpinionStatus.ANSWERED) | Q(answer__isnull=False), name="opinion_answered_has_note"
            ),
            models.CheckConstraint(condition=~Q(question=""), name="opinion_question_required"),
        ]

    def __str__(self) -> str:
        return f"opinion on {self.patient} ({self.status})"

    @property
    def expires_at(self):
        """When an unanswered request stops giving access (then the grace period): `OPINION_MAX_DAYS` after it."""
        return self.created_at + timezone.timedelta(days=settings.OPINION_MAX_DAYS)

    @property
    def is_expired(self) -> bool:
        return self.status == OpinionStatus.OPEN and self.expires_at <= timezone.now()

    @property
    def shown_status(self) -> str:
        """The status as pages and the API show it: `expired` is derived at read time, never stored."""
        return OPINION_EXPIRED if self.is_expired else self.status

    def get_shown_status_display(self) -> str:
        return OPINION_EXPIRED_LABEL if self.is_expired else self.get_status_display()


class HandoverNote(models.Model):
    """Transmissions between teams on a patient: part of the hospital record, care-team rule."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="handover_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handover_notes")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="handover_notes")
    body = models.TextField(_("transmission"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="handover_body_required")]

    def __str__(self) -> str:
        return f"handover on {self.stay} by {self.author}"


class IdentityIncident(models.Model):
    """An identity-vigilance incident: a report filed in the DMP of the wrong patient, withdrawn for that reason.

    Recorded by the DMP's withdrawal (dmp/services/withdrawal.py) in its transaction; the DPO lists them
    (records/services/incidents.py). The report may then be written and signed again on the right patient.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="identity_incidents")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The DMP document withdrawn (records does not import the DMP: its public id).
    document_id = models.UUIDField(null=True, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("précision"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"identity incident on {self.patient} ({self.created_at:%Y-%m-%d})"


class RepresentationQuerySet(models.QuerySet):
    def in_force(self, now=None):
        """Honoured now: started, not past its end, not ended (the one definition; records.access uses it)."""
        now = now or timezone.now()
        return self.filter(ended_at__isnull=True, starts__lte=now).filter(Q(ends__isnull=True) | Q(ends__gt=now))


class Representation(models.Model):
    """An account (role patient) acting for another patient: a parent, a guardian, or a trusted representative.

    In force while `starts <= now < ends` (no `ends`: until ended) and not `ended_at`: the access modules
    check it in SQL at every decision (records.access.representations_in_force), like the DMP's grants.
    A parent's `ends` is the patient's 18th birthday; a guardian's the court decision's end.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="representations"
    )
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="representatives")
    kind = models.CharField(_("qualité"), max_length=20, choices=RepresentationKind.choices)
    # How the history names her ("mère", "père", "tuteur"); the kind's word when empty.
    relation = models.CharField(_("lien"), max_length=40, blank=True)
    starts = models.DateTimeField(_("début"), default=timezone.now)
    ends = models.DateTimeField(_("fin"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    identity_checked = models.BooleanField(_("identité et qualité vérifiées"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RepresentationQuerySet.as_manager()

    class Meta:
        ordering = ["patient", "starts"]
        indexes = [models.Index(fields=["representative", "patient"], name="representation_pair")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RepresentationKind.values), name="representation_kind_valid"),
            models.CheckConstraint(
                condition=Q(ends__isnull=True) | Q(ends__gt=F("starts")), name="representation_dates"
            ),
            # Parents and guardians are recorded at the desk after checking identity and quality.
            models.CheckConstraint(
                condition=Q(kind=RepresentationKind.TRUSTED) | Q(identity_checked=True),
                name="representation_legal_checked",
            ),
            models.UniqueConstraint(
                fields=["representative", "patient"],
                condition=Q(ended_at__isnull=True),
                name="representation_one_open_per_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.representative} -> {self.patient} ({self.kind})"

    @property
    def relation_label(self) -> str:
        return self.relation or {
            RepresentationKind.PARENT: _("parent"),
            RepresentationKind.GUARDIAN: _("tuteur"),
            RepresentationKind.TRUSTED: _("représentant de confiance"),
        }.get(self.kind, "")

    def in_force(self, now=None) -> bool:
        now = now or timezone.now()
        return self.ended_at is None and self.starts <= now and (self.ends is None or now < self.ends)
