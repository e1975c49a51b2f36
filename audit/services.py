"""The one module that writes traces: allowed accesses inside the caller's transaction, refusals in their own."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol, TypeVar

from django.conf import settings
from django.db import connection, transaction

from chu_portal.errors import AccessDenied, Decision

from . import context
from .constants import FLAGGED_ACTIONS, FLAGGED_MODES, Action, Mode, ObjectType, Outcome
from .models import AuditEvent

T = TypeVar("T")


class Actor(Protocol):
    """What a trace needs of whoever acts (accounts.User provides it; audit imports no app)."""

    public_id: uuid.UUID
    username: str

    @property
    def role(self) -> str: ...

    @property
    def rpps(self) -> str | None: ...

    def get_full_name(self) -> str: ...


class TraceOutsideTransaction(RuntimeError):
    """An allowed access must be traced inside the transaction that reads the data."""


def _event(
    *,
    actor: Actor | None,
    action: Action | str,
    outcome: Outcome,
    mode: Mode | str,
    patient_id: uuid.UUID | None,
    object_type: str,
    object_id: str | uuid.UUID | None,
    object_ids: Iterable[str | uuid.UUID],
    reason: str,
) -> AuditEvent:
    ctx = context.current()
    flag_reason = FLAGGED_MODES.get(mode, "") or FLAGGED_ACTIONS.get(action, "")
    return AuditEvent(
        actor_id=getattr(actor, "public_id", None),
        actor_username=getattr(actor, "username", "") or "",
        actor_name=actor.get_full_name() if actor is not None else "",
        actor_role=getattr(actor, "role", "") or "",
        actor_rpps=(getattr(actor, "rpps", None) or "") if actor is not None else "",
        patient_id=patient_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
        object_ids=[str(i) for i in object_ids],
        outcome=outcome,
        mode=mode,
        reason=reason,
        flagged=bool(flag_reason),
        flag_reason=flag_reason,
        ip=ctx.ip,
        request_id=ctx.request_id,
    )


def record(
    *,
    actor: Actor | None,
    action: Action | str,
    mode: Mode | str,
    patient_id: uuid.UUID | None = None,
    object_type: str = "",
    object_id: str | uuid.UUID | None = None,
    object_ids: Iterable[str | uuid.UUID] = (),
    reason: str = "",
) -> AuditEvent:
    """Trace an allowed access. Must run inside the transaction that reads or changes the data,
    so that if the trace cannot be written the data is not shown (fail closed)."""
    if not connection.in_atomic_block:
        raise TraceOutsideTransaction("audit.record() must run inside the transaction it traces")
    event = _event(
        actor=actor,
        action=action,
        outcome=Outcome.ALLOWED,
        mode=mode,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
        object_ids=object_ids,
        reason=reason,
    )
    event.save()
    transaction.on_commit(_count_for_embedded_sealing)
    return event


@dataclass(frozen=True)
class Trace:
    """What differs between the traces of one batch (record_many): the patient and the object."""

    patient_id: uuid.UUID | None
    object_type: str
    object_id: str | uuid.UUID | None = None
    object_ids: Iterable[str | uuid.UUID] = ()
    reason: str = ""


def record_many(
    *,
    actor: Actor | None,
    action: Action | str,
    mode: Mode | str,
    traces: Sequence[Trace],
) -> list[AuditEvent]:
    """Trace a batch of allowed accesses by one actor (the feed's relay files many documents at once) in
    one INSERT. The same rules as record(): inside the transaction that reads or changes the data (fail
    closed); each row gets its transaction id from the database trigger like any other, so the sealer
    seals the batch with its transaction; each trace counts for the embedded mode's sealing."""
    if not connection.in_atomic_block:
        raise TraceOutsideTransaction("audit.record_many() must run inside the transaction it traces")
    if not traces:
        return []
    events = [
        _event(
            actor=actor,
            action=action,
            outcome=Outcome.ALLOWED,
            mode=mode,
            patient_id=trace.patient_id,
            object_type=trace.object_type,
            object_id=trace.object_id,
            object_ids=trace.object_ids,
            reason=trace.reason,
        )
        for trace in traces
    ]
    # bulk_create inserts (never updates), as InsertOnlyModel.save(force_insert=True) does.
    events = AuditEvent.objects.bulk_create(events)
    count = len(events)
    transaction.on_commit(lambda: _count_for_embedded_sealing(count))
    return events


def record_refusal(
    *,
    actor: Actor | None,
    action: Action | str,
    code: str,
    mode: Mode | str = Mode.NONE,
    patient_id: uuid.UUID | None = None,
    object_type: str = "",
    object_id: str | uuid.UUID | None = None,
    reason: str = "",
) -> AuditEvent:
    """Trace a refusal in its own committed transaction, so that it survives the refusal.

    `durable=True` makes a caller that is already inside a transaction fail loudly: there the
    refusal's trace would be rolled back with the caller's work.
    """
    with transaction.atomic(durable=True):
        event = _event(
            actor=actor,
            action=action,
            outcome=Outcome.DENIED,
            mode=mode,
            patient_id=patient_id,
            object_type=object_type,
            object_id=object_id,
            object_ids=(),
            reason=f"{code}: {reason}" if reason else code,
        )
        event.save()
        transaction.on_commit(_count_for_embedded_sealing)
    return event


def refuse(
    *,
    actor: Actor | None,
    action: Action | str,
    decision: Decision,
    patient_id: uuid.UUID | None = None,
    object_type: str = "",
    object_id: str | uuid.UUID | None = None,
) -> NoReturn:
    """Trace a refused access in its own committed transaction, then raise AccessDenied."""
    record_refusal(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        code=decision.code,
        patient_id=patient_id,
        object_type=object_type,
        object_id=object_id,
    )
    raise AccessDenied(decision)


def read_traced(
    *,
    actor: Actor | None,
    action: Action | str,
    object_type: str,
    load: Callable[[], T],
    decide: Callable[[T], Decision],
    describe: Callable[[T], tuple[uuid.UUID | None, str | uuid.UUID]],
) -> tuple[T, Decision]:
    """Read one object, decide and trace in one transaction: what is shown is what was traced, and
    if the trace cannot be written nothing is returned. A refusal is traced after that transaction,
    in its own (a refusal's trace must survive). `describe(obj)` gives (patient id, object id)."""
    with transaction.atomic():
        obj = load()
        decision = decide(obj)
        patient_id, object_id = describe(obj)
        if decision.allowed:
            record(
                actor=actor,
                action=action,
                mode=decision.mode,
                patient_id=patient_id,
                object_type=object_type,
                object_id=object_id,
            )
    if not decision.allowed:
        refuse(
            actor=actor,
            action=action,
            decision=decision,
            patient_id=patient_id,
            object_type=object_type,
            object_id=object_id,
        )
    return obj, decision


def list_traced(
    *,
    actor: Actor | None,
    mode: Mode | str,
    object_type: str,
    load: Callable[[], T],
    shown: Callable[[T], Iterable[str | uuid.UUID]],
    action: Action | str = Action.LIST,
    patient_id: uuid.UUID | None = None,
    object_id: str | uuid.UUID | None = None,
) -> T:
    """Read a list (after the caller's decision allowed it) and trace it in one transaction: one trace
    naming the ids shown (`shown(result)`), so that what is listed is what was traced, and nothing is
    returned if the trace cannot be written. `load()`'s result is returned as it is (a page, a list,
    a (rows, total) pair...)."""
    with transaction.atomic():
        result = load()
        record(
            actor=actor,
            action=action,
            mode=mode,
            patient_id=patient_id,
            object_type=object_type,
            object_id=object_id,
            object_ids=shown(result),
        )
    return result


def record_security_event(*, action: Action | str, username: str, code: str, reason: str = "") -> AuditEvent:
    """Trace a refused security event with no signed-in actor (a login lockout), committed with
    the caller's transaction if there is one (authentication signals may run inside one)."""
    with transaction.atomic():
        event = _event(
            actor=None,
            action=action,
            outcome=Outcome.DENIED,
            mode=Mode.NONE,
            patient_id=None,
            object_type=ObjectType.ACCOUNT,
            object_id=None,
            object_ids=(),
            reason=f"{code}: {reason}" if reason else code,
        )
        event.actor_username = username[:150]
        event.save()
    return event


_since_last_seal = itertools.count(1)


def _count_for_embedded_sealing(count: int = 1) -> None:
    """Embedded mode has no beat: seal in-process every AUDIT_SEAL_EVERY traces."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return
    every = max(settings.AUDIT_SEAL_EVERY, 1)
    crossed = [next(_since_last_seal) % every == 0 for _ in range(count)]  # advance by every trace
    if any(crossed):
        from .integrity import seal_pending

        seal_pending()
