"""The insert-only trace table and the seals that make it tamper-evident."""

import datetime
import hashlib
import json
import uuid

from django.db import models
from django.utils import timezone

from .constants import Mode, Outcome


class InsertOnlyQuerySet(models.QuerySet):
    """Traces and seals are never updated or deleted through the ORM (retention uses SQL)."""

    def update(self, **kwargs):
        raise PermissionError("the audit trail is insert-only")

    def delete(self):
        raise PermissionError("the audit trail is insert-only")


class InsertOnlyModel(models.Model):
    objects = InsertOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("the audit trail is insert-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit trail is insert-only")


class AuditEvent(InsertOnlyModel):
    """One access to patient data, allowed or refused (FHIR AuditEvent / IHE BALP fields)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Filled on PostgreSQL by a trigger with the inserting transaction's id: the sealer only
    # seals rows whose transactions have all finished (docs/architecture.md, "The audit trail and sealing").
    txid = models.BigIntegerField(null=True, blank=True, editable=False, db_index=True)
    # Who: references only, so that audit imports no domain app.
    actor_id = models.UUIDField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_name = models.CharField(max_length=300, blank=True)
    actor_role = models.CharField(max_length=40, blank=True)
    actor_rpps = models.CharField(max_length=11, blank=True)
    # What.
    patient_id = models.UUIDField(null=True, blank=True)
    # An open vocabulary (audit.constants.Action and each app's own actions): no choices, no migration per action.
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_ids = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    mode = models.CharField(max_length=30, choices=Mode.choices, blank=True)
    reason = models.TextField(blank=True)
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=60, blank=True)
    # Where.
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient_id", "at"], name="audit_patient_at"),
            models.Index(fields=["actor_id", "at"], name="audit_actor_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(outcome__in=Outcome.values), name="audit_outcome_valid"),
            models.CheckConstraint(
                condition=~models.Q(flagged=True) | ~models.Q(flag_reason=""), name="audit_flag_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action} {self.outcome}"

    def canonical(self) -> bytes:
        """The content the seal hashes: every field but the database-assigned txid."""
        at = self.at.astimezone(datetime.UTC) if timezone.is_aware(self.at) else self.at
        content = {
            "id": self.pk,
            "public_id": str(self.public_id),
            "at": at.isoformat(timespec="microseconds"),
            "actor_id": str(self.actor_id) if self.actor_id else None,
            "actor_username": self.actor_username,
            "actor_name": self.actor_name,
            "actor_role": self.actor_role,
            "actor_rpps": self.actor_rpps,
            "patient_id": str(self.patient_id) if self.patient_id else None,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_ids": list(self.object_ids or []),
            "outcome": self.outcome,
            "mode": self.mode,
            "reason": self.reason,
            "flagged": bool(self.flagged),
            "flag_reason": self.flag_reason,
            "ip": self.ip,
            "request_id": self.request_id,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical()).digest()


class AuditSeal(InsertOnlyModel):
    """A signed head over a batch of traces, chained to the previous seal.

    `entries` packs (trace id, SHA-256 of the trace) for every trace of the batch, so a
    verification names the exact trace that was edited or removed.
    """

    sealed_at = models.DateTimeField(default=timezone.now)
    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    count = models.PositiveIntegerField()
    # PostgreSQL: every trace with txid below this horizon is sealed by this seal or an earlier one.
    txid_horizon = models.BigIntegerField(null=True, blank=True)
    entries = models.BinaryField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(count__gt=0), name="audit_seal_not_empty"),
            models.CheckConstraint(
                condition=models.Q(first_event_id__lte=models.F("last_event_id")), name="audit_seal_range"
            ),
        ]

    def __str__(self) -> str:
        return f"seal {self.pk}: {self.count} traces up to {self.last_event_id}"


class AuditReview(InsertOnlyModel):
    """The DPO's review of a flagged trace, with a comment (a trace is never edited).

    One review per trace; retention removes it together with the segment of its trace.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="review")
    reviewed_at = models.DateTimeField(default=timezone.now)
    reviewer_id = models.UUIDField()
    reviewer_name = models.CharField(max_length=300)
    # The flag reasons the reviewer saw, kept as they were (thresholds are settings and may change).
    flag_reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField()

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(comment=""), name="audit_review_has_comment")]

    def __str__(self) -> str:
        return f"review of trace {self.event_id} by {self.reviewer_name}"


class AuditCheckpoint(InsertOnlyModel):
    """What retention removed: the hash of the last removed seal, which the first kept seal chains to."""

    removed_at = models.DateTimeField(default=timezone.now)
    last_seal_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    txid_horizon = models.BigIntegerField(null=True, blank=True)
    seals_removed = models.PositiveIntegerField()
    events_removed = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"checkpoint after seal {self.last_seal_id}"


class AuditVerification(InsertOnlyModel):
    """The result of one verification of the chain (the console shows the last one)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Empty for the periodic verification run by Celery beat or the command.
    actor_id = models.UUIDField(null=True, blank=True)
    actor_name = models.CharField(max_length=300, blank=True)
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField()
    unsealed = models.PositiveBigIntegerField(default=0)
    first_broken_id = models.BigIntegerField(null=True, blank=True)
    first_broken_public_id = models.UUIDField(null=True, blank=True)
    problem = models.CharField(max_length=200, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"verification {self.at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'BROKEN'}"
