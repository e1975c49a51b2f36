"""The one module that writes traces: allowed accesses inside the caller's transaction, refusals in their own."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NoReturn, Protocol, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput, ServiceError

from . import context
from .constants import FLAGGED_ACTIONS, FLAGGED_MODES, Action, Mode, Outcome
from .models import AuditEvent, AuditReview, AuditVerification

T = TypeVar("T")

REVIEW_COMMENT_MAX = 2000


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
            object_type="account",
            object_id=None,
            object_ids=(),
            reason=f"{code}: {reason}" if reason else code,
        )
        event.actor_username = username[:150]
        event.save()
    return event


_since_last_seal = itertools.count(1)


def _count_for_embedded_sealing() -> None:
    """Embedded mode has no beat: seal in-process every AUDIT_SEAL_EVERY traces."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return
    if next(_since_last_seal) % max(settings.AUDIT_SEAL_EVERY, 1) == 0:
        from .integrity import seal_pending

        seal_pending()


# --- The DPO's verbs: review lists, flag reviews, exports, verification ------------------------
# Reading traces is itself traced (mode `dpo_review`): one trace per list naming the ids shown.


@dataclass(frozen=True)
class ConsolePage:
    flagged: list[AuditEvent]
    flagged_total: int
    events: list[AuditEvent]
    total: int


def _refuse_reader(actor, action: Action | str, object_type: str = "audit_event") -> None:
    record_refusal(actor=actor, action=action, code="forbidden", object_type=object_type)
    raise AccessDenied(
        Decision.deny("forbidden", _("La consultation des traces est réservée au délégué à la protection des données."))
    )


def _require_reviewer(actor, action: Action | str, object_type: str = "audit_event") -> None:
    from .access import may_review

    if not may_review(actor):
        _refuse_reader(actor, action, object_type)


def _own_patient_id(actor) -> uuid.UUID | None:
    """The public id of the patient behind a patient account (audit imports no domain app)."""
    if getattr(actor, "role", None) != "patient":
        return None
    return getattr(getattr(actor, "patient", None), "public_id", None)


def trace_console(*, actor, filters, page: int = 1, page_size: int = 50, flagged_size: int = 50) -> ConsolePage:
    """The DPO console: flagged traces (not reviewed first), then every trace; one trace of the reading."""
    from . import selectors

    _require_reviewer(actor, Action.LIST)
    flagged_qs = selectors.flagged_events(filters)
    events_qs = selectors.events(filters)
    start = (page - 1) * page_size
    with transaction.atomic():
        flagged = list(flagged_qs[:flagged_size]) if page == 1 else []
        flagged_total = flagged_qs.count()
        events = list(events_qs[start : start + page_size])
        total = events_qs.count()
        shown = list(dict.fromkeys(e.public_id for e in flagged + events))
        record(actor=actor, action=Action.LIST, mode=Mode.DPO_REVIEW, object_type="audit_event", object_ids=shown)
    return ConsolePage(flagged=flagged, flagged_total=flagged_total, events=events, total=total)


def trace_list(*, actor, filters, page: int = 1, page_size: int = 50) -> tuple[list[AuditEvent], int]:
    """Traces for the API: the DPO reads all; a patient reads those about their own data by others."""
    from . import selectors

    patient_id = None
    if _is_reviewer(actor):
        queryset, mode = selectors.events(filters), Mode.DPO_REVIEW
    elif (patient_id := _own_patient_id(actor)) is not None:
        queryset = selectors.events_about_patient(patient_id, viewer_id=getattr(actor, "public_id", None), f=filters)
        mode = Mode.SELF
    else:
        _refuse_reader(actor, Action.LIST)
    start = (page - 1) * page_size
    with transaction.atomic():
        events = list(queryset[start : start + page_size])
        total = queryset.count()
        record(
            actor=actor,
            action=Action.LIST,
            mode=mode,
            patient_id=patient_id,
            object_type="audit_event",
            object_ids=[e.public_id for e in events],
        )
    return events, total


def _is_reviewer(actor) -> bool:
    from .access import may_review

    return may_review(actor)


def _event_for_review(event_id) -> AuditEvent:
    from . import flags

    try:
        key = uuid.UUID(str(event_id))
    except ValueError:
        key = None
    event = flags.with_flags(AuditEvent.objects.select_related("review")).filter(public_id=key).first() if key else None
    if event is None:
        raise ServiceError(_("Trace introuvable."), code="not_found", status=404)
    return event


def trace_get(*, actor, event_id) -> AuditEvent:
    """One trace with its flags and review, for the DPO's review page (traced)."""
    _require_reviewer(actor, Action.READ)
    with transaction.atomic():
        event = _event_for_review(event_id)
        record(
            actor=actor,
            action=Action.READ,
            mode=Mode.DPO_REVIEW,
            patient_id=event.patient_id,
            object_type="audit_event",
            object_id=event.public_id,
        )
    return event


def flag_review(*, actor, event_id, comment: str) -> AuditReview:
    """The DPO marks a flagged trace reviewed with a comment, in its own table; the review is traced."""
    from . import flags

    _require_reviewer(actor, Action.REVIEW)
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput(_("Le commentaire de la revue est obligatoire."), fields={"comment": _("obligatoire")})
    if len(comment) > REVIEW_COMMENT_MAX:
        raise InvalidInput(
            _("Le commentaire ne doit pas dépasser %(n)s caractères.") % {"n": REVIEW_COMMENT_MAX},
            fields={"comment": _("trop long")},
        )
    with transaction.atomic():
        event = _event_for_review(event_id)
        codes = flags.reasons(event)
        if not codes:
            raise InvalidInput(_("Cette trace n'est pas signalée : il n'y a rien à revoir."))
        # Lock the trace's row so that two reviews of it cannot race (the unique key would refuse one).
        AuditEvent.objects.select_for_update().filter(pk=event.pk).values_list("pk").first()
        if AuditReview.objects.filter(event_id=event.pk).exists():
            raise Conflict(_("Cette trace a déjà été revue."))
        review = AuditReview(
            event=event,
            reviewer_id=actor.public_id,
            reviewer_name=actor.get_full_name(),
            flag_reasons=codes,
            comment=comment,
        )
        review.save()
        record(
            actor=actor,
            action=Action.REVIEW,
            mode=Mode.DPO_REVIEW,
            patient_id=event.patient_id,
            object_type="audit_event",
            object_id=event.public_id,
            object_ids=[review.public_id],
        )
    return review


def trace_export(*, actor, filters, fmt: str):
    """Start an export (CSV or FHIR AuditEvent JSON) of the filtered traces; return its chunks.

    The export's trace names the filters, not the ids (a million ids would not fit a trace); it
    is committed before the first row is read, so that nothing leaves untraced.
    """
    from . import exports, selectors

    _require_reviewer(actor, Action.EXPORT)
    if fmt not in exports.FORMATS:
        raise InvalidInput(_("Format d'export inconnu."), fields={"format": _("csv ou fhir")})
    with transaction.atomic():
        record(
            actor=actor,
            action=Action.EXPORT,
            mode=Mode.DPO_REVIEW,
            object_type="audit_event",
            reason=f"{fmt}: {filters.describe()}",
        )
    return exports.FORMATS[fmt](selectors.events_for_export(filters))


def chain_verify(*, actor=None) -> AuditVerification:
    """Seal what is pending, verify the chain, keep the result; traced when a person asks for it."""
    import time

    from . import integrity

    if actor is not None:
        _require_reviewer(actor, Action.VERIFY, object_type="audit_chain")
    started = time.monotonic()
    result = integrity.verify()
    with transaction.atomic():
        verification = AuditVerification(
            actor_id=getattr(actor, "public_id", None),
            actor_name=actor.get_full_name() if actor is not None else "",
            ok=result.ok,
            checked=result.checked,
            unsealed=result.unsealed,
            first_broken_id=result.first_broken_id,
            first_broken_public_id=result.first_broken.public_id if result.first_broken is not None else None,
            problem=result.problem[:200],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        verification.save()
        if actor is not None:
            record(actor=actor, action=Action.VERIFY, mode=Mode.DPO_REVIEW, object_type="audit_chain")
    return verification
