"""Reading the trail: the DPO's console, trace lists (a patient's about herself), flag reviews, exports, verification.

Reading traces is itself traced (mode `dpo_review`): one trace per list naming the ids shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput, ServiceError

from . import exports, flags, integrity, selectors
from .access import may_review
from .constants import Action, Mode, ObjectType
from .models import AuditEvent, AuditReview, AuditVerification
from .services import list_traced, record, record_refusal

REVIEW_COMMENT_MAX = 2000


@dataclass(frozen=True)
class ConsolePage:
    flagged: list[AuditEvent]
    flagged_total: int
    events: list[AuditEvent]
    total: int


def _refuse_reader(actor, action: Action | str, object_type: str = ObjectType.AUDIT_EVENT) -> None:
    record_refusal(actor=actor, action=action, code="forbidden", object_type=object_type)
    raise AccessDenied(
        Decision.deny("forbidden", _("La consultation des traces est réservée au délégué à la protection des données."))
    )


def _require_reviewer(actor, action: Action | str, object_type: str = ObjectType.AUDIT_EVENT) -> None:
    if not may_review(actor):
        _refuse_reader(actor, action, object_type)


def _own_patient_id(actor) -> uuid.UUID | None:
    """The public id of the patient behind a patient account (audit imports no domain app)."""
    if getattr(actor, "role", None) != "patient":
        return None
    return getattr(getattr(actor, "patient", None), "public_id", None)


def trace_console(*, actor, filters, page: int = 1, page_size: int = 50, flagged_size: int = 50) -> ConsolePage:
    """The DPO console: flagged traces (not reviewed first), then every trace; one trace of the reading."""

    _require_reviewer(actor, Action.LIST)
    flagged_qs = selectors.flagged_events(filters)
    events_qs = selectors.events(filters)
    start = (page - 1) * page_size

    def load() -> ConsolePage:
        flagged = list(flagged_qs[:flagged_size]) if page == 1 else []
        flagged_total = flagged_qs.count()
        events = list(events_qs[start : start + page_size])
        return ConsolePage(flagged=flagged, flagged_total=flagged_total, events=events, total=events_qs.count())

    return list_traced(
        actor=actor,
        mode=Mode.DPO_REVIEW,
        object_type=ObjectType.AUDIT_EVENT,
        load=load,
        shown=lambda console: list(dict.fromkeys(e.public_id for e in console.flagged + console.events)),
    )


def trace_list(*, actor, filters, page: int = 1, page_size: int = 50) -> tuple[list[AuditEvent], int]:
    """Traces for the API: the DPO reads all; a patient reads those about their own data by others."""

    patient_id = None
    if _is_reviewer(actor):
        queryset, mode = selectors.events(filters), Mode.DPO_REVIEW
    elif (patient_id := _own_patient_id(actor)) is not None:
        queryset = selectors.events_about_patient(patient_id, viewer_id=getattr(actor, "public_id", None), f=filters)
        mode = Mode.SELF
    else:
        _refuse_reader(actor, Action.LIST)
    start = (page - 1) * page_size
    return list_traced(
        actor=actor,
        mode=mode,
        patient_id=patient_id,
        object_type=ObjectType.AUDIT_EVENT,
        load=lambda: (list(queryset[start : start + page_size]), queryset.count()),
        shown=lambda result: [e.public_id for e in result[0]],
    )


def _is_reviewer(actor) -> bool:
    return may_review(actor)


def _event_for_review(event_id) -> AuditEvent:
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
            object_type=ObjectType.AUDIT_EVENT,
            object_id=event.public_id,
        )
    return event


def flag_review(*, actor, event_id, comment: str) -> AuditReview:
    """The DPO marks a flagged trace reviewed with a comment, in its own table; the review is traced."""
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
            object_type=ObjectType.AUDIT_EVENT,
            object_id=event.public_id,
            object_ids=[review.public_id],
        )
    return review


def trace_export(*, actor, filters, fmt: str):
    """Start an export (CSV or FHIR AuditEvent JSON) of the filtered traces; return its chunks.

    The export's trace names the filters, not the ids (a million ids would not fit a trace); it
    is committed before the first row is read, so that nothing leaves untraced.
    """
    _require_reviewer(actor, Action.EXPORT)
    if fmt not in exports.FORMATS:
        raise InvalidInput(_("Format d'export inconnu."), fields={"format": _("csv ou fhir")})
    with transaction.atomic():
        record(
            actor=actor,
            action=Action.EXPORT,
            mode=Mode.DPO_REVIEW,
            object_type=ObjectType.AUDIT_EVENT,
            reason=f"{fmt}: {filters.describe()}",
        )
    return exports.FORMATS[fmt](selectors.events_for_export(filters))


def chain_verify(*, actor=None) -> AuditVerification:
    """Seal what is pending, verify the chain, keep the result; traced when a person asks for it."""
    import time

    if actor is not None:
        _require_reviewer(actor, Action.VERIFY, object_type=ObjectType.AUDIT_CHAIN)
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
            record(actor=actor, action=Action.VERIFY, mode=Mode.DPO_REVIEW, object_type=ObjectType.AUDIT_CHAIN)
    return verification


def _patient_resolver():
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = getattr(settings, "AUDIT_PATIENT_RESOLVER", "")
    return import_string(path) if path else None


def patient_find(*, actor, query: str) -> dict:
    """The DPO finds a patient by name, IPP or INS (settings.AUDIT_PATIENT_RESOLVER); the search is traced."""
    _require_reviewer(actor, Action.SEARCH, "patient")
    resolver = _patient_resolver()
    query = " ".join((query or "").split())[:100]
    if resolver is None or not query:
        return {}
    return list_traced(
        actor=actor,
        action=Action.SEARCH,
        mode=Mode.DPO_REVIEW,
        object_type=ObjectType.PATIENT,
        load=lambda: resolver(query=query),
        shown=list,
    )


def patient_labels(ids) -> dict:
    """Who the patients of the traces shown are (the console's reading of them is traced with the traces)."""
    resolver = _patient_resolver()
    ids = {i for i in ids if i}
    return resolver(ids=ids) if resolver and ids else {}
