"""A request for a copy of the hospital record, its answer (the PDF bundle) and the doctors' secure inbox."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from records.models import Patient, Representation, Stay

from .constants import Delivery, HeirReason, RefusalReason, RequesterKind, RequestStatus


class RecordRequest(models.Model):
    """One request for a copy of (part of) a patient's hospital record (CSP L.1111-7, R.1111-1 to R.1111-8).

    The deadlines are computed once, when the complete request is received (`deadlines.compute`), from the
    oldest requested information, and never move afterwards.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="record_requests")
    requester_kind = models.CharField(_("demandeur"), max_length=20, choices=RequesterKind.choices)
    # The account that asked (the patient, her representative) or the office's agent who recorded an heir's file.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="record_requests_made"
    )
    representation = models.ForeignKey(
        Representation, null=True, blank=True, on_delete=models.PROTECT, related_name="record_requests"
    )
    # An heir's request, recorded from the paper file (never opened online).
    heir_name = models.CharField(_("nom de l'ayant droit"), max_length=200, blank=True)
    heir_relation = models.CharField(_("lien avec le défunt"), max_length=100, blank=True)
    heir_reason = models.CharField(_("motif"), max_length=20, choices=HeirReason.choices, blank=True)
    death_date = models.DateField(_("date du décès"), null=True, blank=True)
    # All the stays, or the chosen ones; frozen at receipt in `stays` either way.
    all_stays = models.BooleanField(_("tout le dossier"), default=True)
    stays = models.ManyToManyField(Stay, related_name="record_requests", blank=True)
    delivery = models.CharField(_("forme de la communication"), max_length=10, choices=Delivery.choices)
    named_doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="record_requests_named",
        verbose_name=_("médecin désigné"),
    )
    # Deadlines (record_requests/deadlines.py), fixed at receipt of the complete request.
    received_at = models.DateTimeField(_("demande complète reçue le"), default=timezone.now, db_index=True)
    oldest_information_at = models.DateTimeField(null=True, blank=True)
    long_delay = models.BooleanField(default=False)
    earliest_release_at = models.DateTimeField()
    due_on = models.DateField(_("à communiquer au plus tard le"), db_index=True)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.RECEIVED)
    # The doctor's validation (mode record_request): what goes into the copy.
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    include_handover_notes = models.BooleanField(_("inclure les transmissions"), default=False)
    refusal_reason = models.CharField(max_length=30, choices=RefusalReason.choices, blank=True)
    refusal_note = models.TextField(_("précision"), blank=True)
    refused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refused_at = models.DateTimeField(null=True, blank=True)
    # The answer: released (available to download, or sent) once made and past the reflection period.
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "received_at", "id"]
        indexes = [models.Index(fields=["status", "due_on"], name="record_request_queue")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="record_request_status_valid"),
            models.CheckConstraint(
                condition=Q(requester_kind__in=RequesterKind.values), name="record_request_requester_valid"
            ),
            models.CheckConstraint(condition=Q(delivery__in=Delivery.values), name="record_request_delivery_valid"),
            # A copy for a named doctor names him; an heir states one of the three reasons of L.1110-4.
            models.CheckConstraint(
                condition=~Q(delivery=Delivery.DOCTOR) | Q(named_doctor__isnull=False),
                name="record_request_doctor_named",
            ),
            models.CheckConstraint(
                condition=~Q(requester_kind=RequesterKind.HEIR)
                | (Q(heir_reason__in=HeirReason.values) & ~Q(heir_name="") & Q(death_date__isnull=False)),
                name="record_request_heir_complete",
            ),
            models.CheckConstraint(
                condition=~Q(requester_kind=RequesterKind.REPRESENTATIVE) | Q(representation__isnull=False),
                name="record_request_representation",
            ),
            models.CheckConstraint(
                condition=~Q(status=RequestStatus.REFUSED) | ~Q(refusal_reason=""),
                name="record_request_refusal_reason",
            ),
            models.CheckConstraint(
                condition=Q(earliest_release_at__gte=models.F("received_at")),
                name="record_request_release_after_receipt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} ({self.get_status_display()}, {self.due_on:%Y-%m-%d})"


class RecordBundle(models.Model):
    """The copy: a PDF rendered from the record by a Celery task, stored like a document, kept for a while."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request = models.OneToOneField(RecordRequest, on_delete=models.PROTECT, related_name="bundle")
    # 0 to 100 while the task renders it; `made_at` once the file is stored.
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(default=0)
    # What the copy holds, for the answer's history: stays, signed reports, handover notes left out or in.
    contents = models.JSONField(default=dict, blank=True)
    made_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="record_bundle_progress_percent"),
            models.CheckConstraint(
                condition=Q(made_at__isnull=True) | (~Q(file="") & ~Q(sha256="")), name="record_bundle_made_has_file"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request} — {self.progress} %"


class SecureMessage(models.Model):
    """A message in a doctor's secure inbox: the local stand-in for MSSanté (record_requests/mailbox.py).

    Only its recipient reads it; a copy of a hospital record sent to a named doctor arrives here, never
    through the DMP.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="secure_messages")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    bundle = models.ForeignKey(RecordBundle, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["recipient", "sent_at"], name="secure_message_inbox")]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject}"
