"""Tamper evidence: sealing traces in batches chained by SHA-256, and verifying the chain."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from .models import AuditEvent, AuditSeal

GENESIS = "0" * 64
_ENTRY = struct.Struct(">Q32s")
# Arbitrary constant key of the advisory lock that keeps two sealers apart.
SEAL_LOCK = 7_244_113_001


def _seal_hash(prev_hash: str, count: int, entries: bytes) -> str:
    h = hashlib.sha256()
    h.update(bytes.fromhex(prev_hash))
    h.update(struct.pack(">Q", count))
    h.update(entries)
    return h.hexdigest()


def _pack(events: list[AuditEvent]) -> bytes:
    return b"".join(_ENTRY.pack(e.pk, e.digest()) for e in sorted(events, key=lambda e: e.pk))


def unpack_seal(entries: bytes) -> list[tuple[int, bytes]]:
    """The (trace id, SHA-256) pairs a seal lists."""
    return [_ENTRY.unpack_from(entries, off) for off in range(0, len(entries), _ENTRY.size)]


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _append_seal(events: list[AuditEvent], last: AuditSeal | None, horizon: int | None) -> AuditSeal:
    entries = _pack(events)
    prev_hash = last.hash if last else _checkpoint_hash()
    ids = [e.pk for e in events]
    seal = AuditSeal(
        first_event_id=min(ids),
        last_event_id=max(ids),
        count=len(events),
        txid_horizon=horizon,
        entries=entries,
        prev_hash=prev_hash,
        hash=_seal_hash(prev_hash, len(events), entries),
    )
    seal.save()
    return seal


def _checkpoint_hash() -> str:
    """The hash the first seal chains to: the last removed seal's, once retention removed any."""
    from .models import AuditCheckpoint

    return AuditCheckpoint.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS


def _next_batch_postgres(last: AuditSeal | None, horizon: int, limit: int) -> tuple[list[AuditEvent], int]:
    low = last.txid_horizon if last and last.txid_horizon is not None else 0
    rows = list(AuditEvent.objects.filter(txid__gte=low, txid__lt=horizon).order_by("txid", "id")[: limit + 1])
    if len(rows) <= limit:
        return rows, horizon
    cut = rows[limit].txid
    batch = [r for r in rows if r.txid < cut]
    if batch:
        return batch, cut
    # One transaction wrote more traces than a seal holds: seal that transaction whole.
    return list(AuditEvent.objects.filter(txid=cut).order_by("id")), cut + 1


def _finished_horizon(cursor) -> int:
    """A transaction id below which every transaction that could write traces here has finished.

    Like pg_snapshot_xmin(pg_current_snapshot()), but only over this database's sessions: a long
    transaction in another database of the cluster cannot write our traces and must not stall
    sealing. Our own xid is taken first, so any older writer is already published in
    pg_stat_activity when we read it.
    """
    cursor.execute("SELECT pg_current_xact_id()::text::bigint")
    mine = cursor.fetchone()[0]
    cursor.execute(
        "SELECT coalesce(max(age(backend_xid)), 0) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    )
    return mine - cursor.fetchone()[0]


def seal_pending() -> int:
    """Seal every trace whose writing transaction has finished; return how many were sealed."""
    limit = max(settings.AUDIT_SEAL_MAX_ROWS, 1)
    sealed = 0
    while True:
        with transaction.atomic():
            if _is_postgres():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK])
                    if not cursor.fetchone()[0]:
                        return sealed  # another sealer is at work
                    horizon = _finished_horizon(cursor)
                last = AuditSeal.objects.order_by("-id").first()
                events, seal_horizon = _next_batch_postgres(last, horizon, limit)
            else:
                last = AuditSeal.objects.order_by("-id").first()
                cutoff = timezone.now() - timedelta(seconds=settings.AUDIT_SEAL_LAG_SECONDS)
                after = last.last_event_id if last else 0
                events = list(AuditEvent.objects.filter(id__gt=after, at__lte=cutoff).order_by("id")[:limit])
                seal_horizon = None
            if not events:
                return sealed
            _append_seal(events, last, seal_horizon)
            sealed += len(events)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    unsealed: int
    first_broken: AuditEvent | None = None
    first_broken_id: int | None = None
    problem: str = ""


def verify(*, seal_first: bool = True) -> Verification:
    """Check every seal's chain and every sealed trace; name the first broken trace."""
    if seal_first:
        seal_pending()
    prev_hash = _checkpoint_hash()
    checked = 0
    broken: list[tuple[int, str]] = []
    last: AuditSeal | None = None
    for seal in AuditSeal.objects.order_by("id").iterator(chunk_size=50):
        entries = bytes(seal.entries)
        if seal.prev_hash != prev_hash or _seal_hash(seal.prev_hash, seal.count, entries) != seal.hash:
            broken.append((seal.first_event_id, f"seal {seal.pk} does not chain"))
        expected = dict(unpack_seal(entries))
        if len(expected) != seal.count:
            broken.append((seal.first_event_id, f"seal {seal.pk} count differs from its entries"))
        found = {e.pk: e for e in AuditEvent.objects.filter(id__in=list(expected))}
        for event_id, digest in sorted(expected.items()):
            event = found.get(event_id)
            if event is None:
                broken.append((event_id, "trace missing"))
            elif event.digest() != digest:
                broken.append((event_id, "trace altered"))
            checked += 1
        prev_hash = seal.hash
        last = seal
    # Rows the seals should cover but do not: forged insertions.
    covered = AuditSeal.objects.aggregate(n=Sum("count"))["n"] or 0
    missing = sum(1 for _, problem in broken if problem == "trace missing")
    if last is not None:
        if last.txid_horizon is not None:
            in_range = AuditEvent.objects.filter(txid__lt=last.txid_horizon)
        else:
            in_range = AuditEvent.objects.filter(id__lte=last.last_event_id)
        if in_range.count() != covered - missing:
            sealed_ids: set[int] = set()
            for seal in AuditSeal.objects.order_by("id").only("entries"):
                sealed_ids.update(pk for pk, _ in unpack_seal(bytes(seal.entries)))
            for pk in in_range.values_list("id", flat=True).order_by("id").iterator():
                if pk not in sealed_ids:
                    broken.append((pk, "trace not covered by any seal"))
                    break
        unsealed = AuditEvent.objects.count() - in_range.count()
    else:
        unsealed = AuditEvent.objects.count()
    if _is_postgres() and AuditEvent.objects.filter(txid__isnull=True).exists():
        pk = AuditEvent.objects.filter(txid__isnull=True).order_by("id").values_list("id", flat=True).first()
        broken.append((pk, "trace inserted around the database trigger"))
    if not broken:
        return Verification(ok=True, checked=checked, unsealed=unsealed)
    first_id, problem = min(broken)
    return Verification(
        ok=False,
        checked=checked,
        unsealed=unsealed,
        first_broken=AuditEvent.objects.filter(pk=first_id).first(),
        first_broken_id=first_id,
        problem=problem,
    )
