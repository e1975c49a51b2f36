"""Reads of the audit trail: filters from a query string and the querysets of the console, API and exports."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, fields

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from chu_portal.errors import InvalidInput

from . import flags
from .constants import Action, Mode, Outcome
from .labels import ACTION_LABELS
from .models import AuditEvent, AuditVerification


@dataclass(frozen=True)
class TraceFilter:
    """The filters of docs/api.md's "Traces": patient, actor, action, mode, outcome, since, until, flagged."""

    patient: uuid.UUID | None = None
    actor: str = ""
    action: str = ""
    mode: str = ""
    outcome: str = ""
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    flagged: bool = False

    def as_query(self) -> dict[str, str]:
        """The filters as query-string values (for links and for the export's trace)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, "", False):
                continue
            out[f.name] = "true" if value is True else value.isoformat() if hasattr(value, "isoformat") else str(value)
        return out

    def describe(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.as_query().items()) or "all"


def _moment(value: str, *, end: bool, name: str) -> datetime.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    moment = None
    try:
        day = parse_date(value)
        if day is not None:
            # A bare date covers the whole local day: "until" is exclusive of the next day.
            day = day + datetime.timedelta(days=1) if end else day
            moment = datetime.datetime.combine(day, datetime.time.min)
        else:
            moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidInput(
            _("Date invalide pour « %(name)s » : utilisez AAAA-MM-JJ ou une date et heure ISO 8601.") % {"name": name},
            fields={name: _("date invalide")},
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def parse_filters(params, *, default_days: int | None = None) -> TraceFilter:
    """Read and check the filters; bad input raises InvalidInput with a French message."""

    def get(name: str) -> str:
        return (params.get(name) or "").strip()

    patient = None
    if get("patient"):
        try:
            patient = uuid.UUID(get("patient"))
        except ValueError as exc:
            raise InvalidInput(
                _("Identifiant de patient invalide."), fields={"patient": _("identifiant invalide")}
            ) from exc
    # Every action of the vocabulary (the apps' own included: audit/labels.py) may be filtered on.
    actions = set(Action.values) | set(ACTION_LABELS)
    for name, allowed in (("action", actions), ("mode", Mode.values), ("outcome", Outcome.values)):
        if get(name) and get(name) not in allowed:
            raise InvalidInput(
                _("Valeur inconnue pour « %(name)s » : %(value)s.") % {"name": name, "value": get(name)},
                fields={name: _("valeur inconnue")},
            )
    flagged = get("flagged").lower()
    if flagged not in ("", "true", "false", "1", "0", "on"):
        raise InvalidInput(_("« flagged » vaut true ou false."), fields={"flagged": _("valeur inconnue")})
    since = _moment(get("since"), end=False, name="since")
    until = _moment(get("until"), end=True, name="until")
    if since is None and until is None and default_days:
        since = timezone.now() - datetime.timedelta(days=default_days)
    if since and until and since >= until:
        raise InvalidInput(_("La date de début doit précéder la date de fin."), fields={"since": _("après la fin")})
    return TraceFilter(
        patient=patient,
        actor=get("actor")[:150],
        action=get("action"),
        mode=get("mode"),
        outcome=get("outcome"),
        since=since,
        until=until,
        flagged=flagged in ("true", "1", "on"),
    )


def _apply(queryset: QuerySet[AuditEvent], f: TraceFilter) -> QuerySet[AuditEvent]:
    if f.patient:
        queryset = queryset.filter(patient_id=f.patient)
    if f.actor:
        try:
            queryset = queryset.filter(actor_id=uuid.UUID(f.actor))
        except ValueError:
            queryset = queryset.filter(actor_username=f.actor)
    if f.action:
        queryset = queryset.filter(action=f.action)
    if f.mode:
        queryset = queryset.filter(mode=f.mode)
    if f.outcome:
        queryset = queryset.filter(outcome=f.outcome)
    if f.since:
        queryset = queryset.filter(at__gte=f.since)
    if f.until:
        queryset = queryset.filter(at__lt=f.until)
    queryset = flags.with_flags(queryset)
    if f.flagged:
        queryset = queryset.filter(flags.any_flag())
    return queryset


def events(f: TraceFilter) -> QuerySet[AuditEvent]:
    """Every trace matching the filters, newest first, flags annotated, its review joined."""
    return _apply(AuditEvent.objects.select_related("review"), f).order_by("-at", "-id")


def flagged_events(f: TraceFilter) -> QuerySet[AuditEvent]:
    """Flagged traces matching the filters: those not reviewed yet first, then newest first."""
    return (
        _apply(AuditEvent.objects.select_related("review"), f)
        .filter(flags.any_flag())
        .order_by(F("review__id").asc(nulls_first=True), "-at", "-id")
    )


def events_about_patient(patient_id: uuid.UUID, *, viewer_id: uuid.UUID | None, f: TraceFilter) -> QuerySet:
    """Traces about one patient's data written by someone else (the patient's own reads are left out)."""
    f = TraceFilter(**{**f.__dict__, "patient": patient_id})
    queryset = _apply(AuditEvent.objects.all(), f)
    if viewer_id:
        queryset = queryset.exclude(actor_id=viewer_id)
    return queryset.order_by("-at", "-id")


EXPORT_FIELDS = (
    "id",
    "public_id",
    "at",
    "actor_id",
    "actor_username",
    "actor_name",
    "actor_role",
    "actor_rpps",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "mode",
    "reason",
    "flagged",
    "flag_reason",
    "ip",
    "request_id",
    "review__id",
    *flags.ANNOTATIONS,
)


def events_for_export(f: TraceFilter):
    """Rows (dicts) for the exports, oldest first, read through a server-side cursor in chunks."""
    queryset = _apply(AuditEvent.objects.all(), f).order_by("at", "id").values(*EXPORT_FIELDS)
    return queryset.iterator(chunk_size=2000)


def last_verification() -> AuditVerification | None:
    return AuditVerification.objects.order_by("-at", "-id").first()


def default_days() -> int:
    return settings.AUDIT_CONSOLE_DEFAULT_DAYS
