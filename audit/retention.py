"""Retention of traces (docs/domain.md, "The audit trail"): remove whole sealed segments past the policy, keep a checkpoint.

Policy, read from trace fields only (audit imports no domain app):
- a trace about a patient is care-related: it lives as long as the record it concerns, taken
  as AUDIT_RETENTION_CARE_YEARS after the patient's most recent trace (every stay and every
  report leaves traces, so that is never earlier than the record's own 20 years after the last
  stay); AUDIT_RETENTION_RECORD_HOLD may name patients whose record is kept longer (the 28th
  birthday rule), and their traces stay too;
- a trace without a patient is a technical log: AUDIT_RETENTION_TECHNICAL_DAYS, which is also
  the minimum age of anything removed.
Segments go in chain order only, and a segment goes only if every trace in it is past the
policy, so the oldest young trace stops the removal. Deletion runs on the maintenance
connection (alias `audit_maintenance`, AUDIT_MAINTENANCE_DATABASE_URL) with the session setting
`chu.audit_maintenance = 'on'` that the insert-only triggers ask for, under the sealer's lock.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .constants import Mode
from .integrity import SEAL_LOCK, unpack_seal, verify
from .models import AuditCheckpoint, AuditEvent, AuditReview, AuditSeal

MAINTENANCE_ALIAS = "audit_maintenance"


class RetentionError(RuntimeError):
    pass


@dataclass
class Segment:
    seal_id: int
    hash: str
    txid_horizon: int | None
    last_event_id: int
    event_ids: list[int]


@dataclass
class Plan:
    care_cutoff: datetime.datetime
    technical_cutoff: datetime.datetime
    segments: list[Segment] = field(default_factory=list)
    stopped_by: int | None = None  # the first seal kept

    @property
    def events(self) -> int:
        return sum(len(s.event_ids) for s in self.segments)


def _years_before(moment: datetime.datetime, years: int) -> datetime.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _hold():
    path = settings.AUDIT_RETENTION_RECORD_HOLD
    return import_string(path) if path else None


def plan(*, now: datetime.datetime | None = None) -> Plan:
    """Which sealed segments, from the start of the chain, are entirely past the policy."""
    now = now or timezone.now()
    result = Plan(
        care_cutoff=_years_before(now, settings.AUDIT_RETENTION_CARE_YEARS),
        technical_cutoff=now - datetime.timedelta(days=settings.AUDIT_RETENTION_TECHNICAL_DAYS),
    )
    hold = _hold()
    # The DPO reading or reviewing old traces does not keep a record alive.
    patient_still_active = AuditEvent.objects.filter(
        patient_id=OuterRef("patient_id"), at__gte=result.care_cutoff
    ).exclude(mode=Mode.DPO_REVIEW)
    # Nothing younger than the technical period goes, whatever it is about.
    young = Q(at__gte=result.technical_cutoff) | Q(Q(patient_id__isnull=False) & Exists(patient_still_active))
    seals = AuditSeal.objects.order_by("id").only("id", "hash", "txid_horizon", "last_event_id", "entries")
    for seal in seals.iterator(chunk_size=20):
        ids = [pk for pk, _digest in unpack_seal(bytes(seal.entries))]
        if AuditEvent.objects.filter(id__in=ids).filter(young).exists():
            result.stopped_by = seal.pk
            break
        if hold is not None:
            patients = set(
                AuditEvent.objects.filter(id__in=ids, patient_id__isnull=False)
                .values_list("patient_id", flat=True)
                .distinct()
            )
            if patients and hold(patients):
                result.stopped_by = seal.pk
                break
        result.segments.append(
            Segment(
                seal_id=seal.pk,
                hash=seal.hash,
                txid_horizon=seal.txid_horizon,
                last_event_id=seal.last_event_id,
                event_ids=ids,
            )
        )
    return result


def _delete_in(cursor, table: str, column: str, ids: list[int]) -> None:
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({','.join(['%s'] * len(chunk))})", chunk)  # noqa: S608  # nosec B608 - table names from _meta, ids as parameters


def apply(retention: Plan, *, using: str = MAINTENANCE_ALIAS) -> AuditCheckpoint | None:
    """Remove the planned segments through the maintenance connection and write the checkpoint."""
    if not retention.segments:
        return None
    if using not in settings.DATABASES:
        raise RetentionError("AUDIT_MAINTENANCE_DATABASE_URL is not set: retention needs the maintenance database.")
    check = verify(seal_first=False)
    if not check.ok:
        raise RetentionError(
            f"the trail does not verify (trace #{check.first_broken_id}: {check.problem}); nothing removed"
        )
    connection = connections[using]
    last = retention.segments[-1]
    events = AuditEvent._meta.db_table
    reviews = AuditReview._meta.db_table
    seals = AuditSeal._meta.db_table
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL chu.audit_maintenance = 'on'")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])
        cursor.execute(f"SELECT MIN(id) FROM {seals}")  # noqa: S608  # nosec B608 - table name from _meta
        if cursor.fetchone()[0] != retention.segments[0].seal_id:
            raise RetentionError("the chain changed since the plan was made; run retention again")
        for segment in retention.segments:
            _delete_in(cursor, reviews, "event_id", segment.event_ids)
            _delete_in(cursor, events, "id", segment.event_ids)
        cursor.execute(f"DELETE FROM {seals} WHERE id <= %s", [last.seal_id])  # noqa: S608  # nosec B608 - table name from _meta
        checkpoint = AuditCheckpoint(
            last_seal_id=last.seal_id,
            last_event_id=last.last_event_id,
            txid_horizon=last.txid_horizon,
            seals_removed=len(retention.segments),
            events_removed=retention.events,
            hash=last.hash,
        )
        checkpoint.save(using=using)
    return checkpoint
