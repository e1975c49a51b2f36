"""Delivery of an outbox item: the report filed in the DMP under the item's lock, or the attempt counted and retried."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from chu_portal.errors import ServiceError
from records.models import Patient, Report, Stay

from ..constants import FeedReason, FeedStatus
from ..models import FeedItem, SharedDocument, SharedRecord
from ..services.documents import (
    Filing,
    chu_document_create,
    chu_documents_create_many,
    chu_documents_filable,
    stay_secret_of,
)
from ..services.records import shared_record_for

logger = logging.getLogger(__name__)


def sweep_grace() -> timedelta:
    """How late a pending item's next attempt may be before the sweep resends it."""
    return timedelta(seconds=settings.DMP_FEED_SWEEP_GRACE_SECONDS)


class DeliveryError(Exception):
    """A delivery attempt failed and may be retried after `countdown` seconds."""

    def __init__(self, message: str, countdown: float):
        super().__init__(message)
        self.countdown = countdown


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(attempts-1))]."""
    return get_exponential_backoff_interval(
        factor=settings.DMP_FEED_RETRY_BACKOFF_SECONDS,
        retries=max(attempts - 1, 0),
        maximum=settings.DMP_FEED_RETRY_BACKOFF_MAX_SECONDS,
        full_jitter=True,
    )


def _columns(model, alias: str, exclude: tuple[str, ...] = ()) -> tuple[list[str], str]:
    fields = [f for f in model._meta.concrete_fields if f.name not in exclude]
    return [f.attname for f in fields], ", ".join(f'{alias}."{f.column}"' for f in fields)


# The delivery's one read, written once from the models' own columns (Django's ORM spends more
# time compiling a select_related query than PostgreSQL spends running it, on the feed's hot
# path): the outbox row locked, its report without the body (the PDF rendered at signing holds
# it), the patient, the patient's DMP and the document already filed for that report version, if
# any; and whether the report's stay is kept secret from a minor's legal representatives (CSP L.1111-5), under a
# key-share lock of the stay that orders the filing with records.services.secret.stay_secret_set (which locks
# the stay for update, then flags the documents already filed). Rows become model instances through
# Model.from_db (psycopg returns the Python types of these columns; other databases take the ORM path below).
_ITEM_FIELDS, _ITEM_SQL = _columns(FeedItem, "f")


_REPORT_FIELDS, _REPORT_SQL = _columns(Report, "r", exclude=("body",))


_RECORD_FIELDS, _RECORD_SQL = _columns(SharedRecord, "s")


_PATIENT_FIELDS, _PATIENT_SQL = _columns(Patient, "p")


_FROM_SQL = (
    f'SELECT {_ITEM_SQL}, {_REPORT_SQL}, {_PATIENT_SQL}, {_RECORD_SQL}, d."id", st."secret_from_representatives"'  # noqa: S608  # nosec B608 - columns from _meta
    f" FROM {FeedItem._meta.db_table} f"
    f' JOIN {Report._meta.db_table} r ON r."id" = f."report_id"'
    f' JOIN {Stay._meta.db_table} st ON st."id" = r."stay_id"'
    f' JOIN {Patient._meta.db_table} p ON p."id" = f."patient_id"'
    f' LEFT JOIN {SharedRecord._meta.db_table} s ON s."patient_id" = p."id"'
    f' LEFT JOIN {SharedDocument._meta.db_table} d ON d."source_report_id" = r."public_id"'
)


_LOCK_SQL = _FROM_SQL + ' WHERE f."{key}" = %s FOR UPDATE OF f FOR KEY SHARE OF st'


# The relay's claim (feed_relay): the message's own item if still pending, and other pending items never
# attempted yet (an item that failed waits for its own retry), oldest first, up to the batch size; rows
# another relay holds are skipped, not waited for. Under READ COMMITTED, PostgreSQL re-checks the WHERE
# clause on the newest version of each row it locks: an item another relay delivered and committed
# meanwhile is no longer pending, and is not taken.
_CLAIM_SQL = (
    _FROM_SQL + ' WHERE f."status" = %s AND (f."id" = %s OR f."attempts" = 0)'
    ' ORDER BY f."id" = %s DESC, f."id" LIMIT %s FOR UPDATE OF f SKIP LOCKED FOR KEY SHARE OF st'
)


def _item_from_row(row) -> FeedItem:
    db, parts, start = connection.alias, [], 0
    for fields in (_ITEM_FIELDS, _REPORT_FIELDS, _PATIENT_FIELDS, _RECORD_FIELDS):
        parts.append(row[start : start + len(fields)])
        start += len(fields)
    item = FeedItem.from_db(db, _ITEM_FIELDS, parts[0])
    report = Report.from_db(db, _REPORT_FIELDS, parts[1])
    patient = Patient.from_db(db, _PATIENT_FIELDS, parts[2])
    item.report, item.patient = report, patient
    record_row = parts[3]
    if record_row[0] is not None:
        record = SharedRecord.from_db(db, _RECORD_FIELDS, record_row)
        record.patient = patient
        patient.shared_record = record
    item.filed_document_id, item.stay_secret = row[-2], bool(row[-1])
    return item


def _lock_item(*, key: str = "id", value) -> FeedItem | None:
    """Lock one outbox row (by `id` or `report_id`) and load what filing it needs, in one statement."""
    if connection.vendor != "postgresql":
        return _lock_item_orm(key=key, value=value)  # the embedded SQLite mode: speed does not matter
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL.format(key=key), [value])
        row = cursor.fetchone()
    return None if row is None else _item_from_row(row)


def _claim(*, item_id: int, limit: int) -> list[FeedItem]:
    """Lock up to `limit` pending items (the message's own first) and load what filing them needs, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [FeedStatus.PENDING, item_id, item_id, limit])
        rows = cursor.fetchall()
    return [_item_from_row(row) for row in rows]


def _lock_item_orm(*, key: str, value) -> FeedItem | None:
    """The same as _lock_item through the ORM (any database; tests compare the two on PostgreSQL)."""
    item = (
        FeedItem.objects.select_for_update(of=("self",))
        .select_related("report", "patient__shared_record")
        .defer("report__body")
        .filter(**{key: value})
        .first()
    )
    if item is not None:
        item.filed_document_id = (
            SharedDocument.objects.filter(source_report_id=item.report.public_id).values_list("pk", flat=True).first()
        )
        item.stay_secret = stay_secret_of(item.report)
    return item


def _record_of(patient: Patient) -> SharedRecord:
    try:
        record = patient.shared_record
    except SharedRecord.DoesNotExist:
        return shared_record_for(patient)
    record.patient = patient
    return record


def _file_locked(item: FeedItem) -> None:
    """File the item's report (the caller holds the item's row lock and an open transaction).

    An amendment supersedes the previous version's document, so a previous version still
    undelivered goes first (locks are taken newest version first, always in that order).
    """
    report = item.report
    if report.replaces_id:
        previous = _lock_item(key="report_id", value=report.replaces_id)
        if previous is not None and previous.status in (FeedStatus.PENDING, FeedStatus.FAILED):
            _file_locked(previous)
    now = timezone.now()
    if item.filed_document_id:
        # Filed already by another path (the demo seed files directly): link it, file nothing.
        item.document_id = item.filed_document_id
        item.status, item.reason, item.delivered_at, item.last_error = FeedStatus.DELIVERED, "", now, ""
    else:
        try:
            item.document = chu_document_create(
                report=report, record=_record_of(item.patient), content=item.content, stay_secret=item.stay_secret
            )
        except ServiceError as exc:
            if exc.code not in ("dmp_opposed", "dmp_closed"):
                raise
            # Opposed or closed since the signing: never sent (docs/domain.md), whatever comes next.
            item.status = FeedStatus.SKIPPED
            item.reason = FeedReason.DMP_OPPOSED if exc.code == "dmp_opposed" else FeedReason.DMP_CLOSED
        else:
            item.status, item.reason, item.delivered_at, item.last_error = FeedStatus.DELIVERED, "", now, ""
    item.updated_at, item.content = now, None
    item.save(
        update_fields=[
            "document",
            "status",
            "reason",
            "delivered_at",
            "last_error",
            "updated_at",
            "attempts",
            "redeliveries",
            "relayed",
            "content",
        ]
    )


def feed_item_deliver(*, item_id: int, redelivered: bool = False, own_message: bool = True) -> FeedItem | None:
    """Deliver one item exactly once: the row lock serialises concurrent messages, the unique keys
    (one item per report, one document per report version) make a repeated message a no-op.

    The delivery is one transaction (no savepoint): if filing fails, all of it is rolled back and
    the failed attempt is recorded in a transaction of its own. Raises DeliveryError when the
    attempt failed and may be retried; after DMP_FEED_MAX_ATTEMPTS attempts the item is
    `failed` and nothing is raised. `own_message=False` when a relay delivers the item for another
    item's message (its own message is still to come: expected, not a redelivery).
    """
    try:
        with transaction.atomic():
            item = _lock_item(value=item_id)
            if item is None:
                return None
            if item.status != FeedStatus.PENDING:
                if item.status == FeedStatus.DELIVERED and own_message:
                    if item.relayed:
                        item.relayed = False  # the message a relay was ahead of: expected, now arrived
                    else:
                        item.redeliveries += 1
                    item.save(update_fields=["redeliveries", "relayed"])
                return item
            item.attempts += 1
            if redelivered:
                item.redeliveries += 1
            item.relayed = not own_message
            _file_locked(item)
            return item
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the item, then retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
    return _attempt_failed(item_id=item_id, redelivered=redelivered, error=error)


@dataclass
class RelayOutcome:
    """What one relay did: items delivered, and the failed attempts that wait for a retry."""

    # Items found delivered once this relay was done with them (its batch, or one by one).
    delivered: list[int] = field(default_factory=list)
    # Other items whose attempt failed, with the countdown of their own retry (the task sends it).
    retries: list[tuple[int, float]] = field(default_factory=list)
    # The message's own item failed and may be retried (the task retries its message).
    own_error: DeliveryError | None = None


def _mark_delivered(items: list[FeedItem], now) -> None:
    """One UPDATE for the batch: what is the same for every item as constants, the rest from a VALUES list."""
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(items))
    params = [FeedStatus.DELIVERED, now, now]
    for item in items:
        params += [item.pk, item.document_id, item.attempts, item.redeliveries, item.relayed]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FeedItem._meta.db_table} f SET status = %s, reason = '', delivered_at = %s, "  # noqa: S608  # nosec B608 - placeholders only
            "last_error = '', updated_at = %s, content = NULL, document_id = v.document_id, "
            "attempts = v.attempts, redeliveries = v.redeliveries, relayed = v.relayed "
            f"FROM (VALUES {values}) AS v(id, document_id, attempts, redeliveries, relayed) WHERE f.id = v.id",
            params,
        )


def feed_relay(*, item_id: int, redelivered: bool = False, batch_size: int | None = None) -> RelayOutcome:
    """The outbox relay: a message for one item delivers a batch of pending items (docs/architecture.md,
    "The automatic feed").

    One transaction locks the message's own item and up to DMP_FEED_BATCH_SIZE - 1 other pending items
    never attempted yet (FOR UPDATE SKIP LOCKED: several workers drain the outbox side by side, each on
    rows no other holds, and a row is re-checked once locked so that none is delivered twice), writes
    their files, then inserts their documents, traces and notifications in bulk and updates the items;
    amendments and other rare cases are filed one by one inside the same transaction. If anything in
    the batch fails, the batch is rolled back whole (its files removed) and each of its items is
    delivered on its own (feed_item_deliver): the others go at once, the failing one counts its attempt
    and waits for its own retry. The message's own item, if another relay holds it or it is delivered
    already, goes through feed_item_deliver too (waits for that relay, counts a duplicate message).
    Other databases (the embedded SQLite mode) deliver the one item.
    """
    outcome = RelayOutcome()
    if connection.vendor != "postgresql":
        _deliver_one(outcome, item_id, redelivered=redelivered, own=True)
        return outcome
    limit = max(batch_size or settings.DMP_FEED_BATCH_SIZE, 1)
    claimed: list[int] = []
    try:
        with transaction.atomic():
            items = _claim(item_id=item_id, limit=limit)
            claimed = [item.pk for item in items]
            delivered = _file_batch(items, item_id=item_id, redelivered=redelivered)
    except Exception as exc:  # noqa: BLE001 - the batch is rolled back whole; each item goes on its own
        logger.warning(
            "feed: a batch of %s items failed (%s: %s); each goes on its own", len(claimed), type(exc).__name__, exc
        )
        for pk in claimed or [item_id]:
            _deliver_one(outcome, pk, redelivered=redelivered and pk == item_id, own=pk == item_id)
        return outcome
    outcome.delivered.extend(delivered)
    if item_id not in claimed:
        if _late_message(item_id):
            outcome.delivered.append(item_id)
        else:
            _deliver_one(outcome, item_id, redelivered=redelivered, own=True)
    return outcome


def _late_message(item_id: int) -> bool:
    """The message of an item delivered already (most often by a relay ahead of it): one statement, which
    waits for a relay still holding the row. The message a relay was ahead of is expected (the flag is
    cleared); any other is a duplicate (counted). False if the item is not delivered."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FeedItem._meta.db_table} SET relayed = false, "  # noqa: S608  # nosec B608 - placeholders only
            "redeliveries = redeliveries + CASE WHEN relayed THEN 0 ELSE 1 END "
            "WHERE id = %s AND status = %s RETURNING id",
            [item_id, FeedStatus.DELIVERED],
        )
        return cursor.fetchone() is not None


def _deliver_one(outcome: RelayOutcome, item_id: int, *, redelivered: bool, own: bool) -> None:
    try:
        item = feed_item_deliver(item_id=item_id, redelivered=redelivered, own_message=own)
    except DeliveryError as exc:
        if own:
            outcome.own_error = exc
        else:
            outcome.retries.append((item_id, exc.countdown))
        return
    if item is not None and item.status == FeedStatus.DELIVERED and item.pk not in outcome.delivered:
        outcome.delivered.append(item.pk)


def _file_batch(items: list[FeedItem], *, item_id: int, redelivered: bool) -> list[int]:
    """File the claimed items (the caller holds their row locks in an open transaction); their pks delivered."""
    if not items:
        return []
    now = timezone.now()
    bulk: list[FeedItem] = []
    filings: list[Filing] = []
    one_by_one: list[FeedItem] = []
    for item in items:
        item.attempts += 1
        if redelivered and item.pk == item_id:
            item.redeliveries += 1
        item.relayed = item.pk != item_id
        # The claim's join loaded the DMP if there is one (no query here when there is none).
        record = item.patient.shared_record if Patient.shared_record.is_cached(item.patient) else None
        if item.filed_document_id is None and chu_documents_filable(item.report, record):
            bulk.append(item)
            filings.append(
                Filing(report=item.report, record=record, content=item.content, stay_secret=item.stay_secret)
            )
        else:
            one_by_one.append(item)
    for item, document in zip(bulk, chu_documents_create_many(filings), strict=True):
        item.document = document
        item.status = FeedStatus.DELIVERED
    if bulk:
        _mark_delivered(bulk, now)
    # Amendments (their previous version first), documents filed by another path, a DMP opposed, closed
    # or not yet created: one by one, in version order, each re-read under its lock (an amendment filed
    # just before may have filed its previous version already).
    for item in sorted(one_by_one, key=lambda i: i.pk):
        fresh = _lock_item(value=item.pk)
        if fresh is None or fresh.status != FeedStatus.PENDING:
            continue
        fresh.attempts, fresh.redeliveries, fresh.relayed = item.attempts, item.redeliveries, item.relayed
        _file_locked(fresh)
        item.status = fresh.status
    return [item.pk for item in items if item.status == FeedStatus.DELIVERED]


def _attempt_failed(*, item_id: int, redelivered: bool, error: str) -> FeedItem | None:
    """Record a failed attempt (the delivery's transaction was rolled back) and schedule the next."""
    with transaction.atomic():
        item = FeedItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None or item.status != FeedStatus.PENDING:
            return item  # delivered by a concurrent message meanwhile, or gone
        now = timezone.now()
        item.attempts += 1
        if redelivered:
            item.redeliveries += 1
        item.last_error, item.updated_at = error, now
        countdown = backoff_seconds(item.attempts)
        if item.attempts >= settings.DMP_FEED_MAX_ATTEMPTS:
            item.status, item.reason = FeedStatus.FAILED, FeedReason.ERROR
        else:
            item.next_attempt_at = now + timedelta(seconds=countdown) + sweep_grace()
        item.save(
            update_fields=[
                "attempts",
                "redeliveries",
                "last_error",
                "updated_at",
                "status",
                "reason",
                "next_attempt_at",
            ]
        )
    logger.warning("feed: item %s attempt %s failed: %s", item.public_id, item.attempts, error)
    if item.status == FeedStatus.FAILED:
        return item
    raise DeliveryError(error, countdown)


def feed_due_ids(*, now=None, limit: int | None = None) -> list[int]:
    """Pending items no task took care of in time (broker down at commit, message lost or held)."""
    now = now or timezone.now()
    limit = limit or settings.DMP_FEED_SWEEP_BATCH
    return list(
        FeedItem.objects.filter(status=FeedStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def feed_deliver_pending() -> int:
    """Deliver every pending item in this process (the demo seed; embedded mode has no beat)."""
    delivered = 0
    for item_id in FeedItem.objects.filter(status=FeedStatus.PENDING).order_by("pk").values_list("pk", flat=True):
        try:
            item = feed_item_deliver(item_id=item_id)
        except DeliveryError:
            continue
        delivered += bool(item and item.status == FeedStatus.DELIVERED)
    return delivered
