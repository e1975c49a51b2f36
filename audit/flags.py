"""Flag rules of the DPO console, computed in SQL from trace fields only (mode, outcome, time, actor, patient).

Each rule is one boolean annotation, so a page of traces costs one query whatever its length.
Thresholds are settings (README). Rules with a time window look back only: a trace is flagged
when it is the Nth of its kind within the window, so a flag never depends on later traces.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Count, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.utils.translation import gettext_lazy as _

from .constants import FLAGGED_MODES, Action, Mode, Outcome
from .models import AuditEvent

# Reads by these modes are never "irregular" by time or volume: the patient on their own data,
# the automatic feed, the DPO reading traces.
_ROUTINE_MODES = [Mode.SELF, Mode.FEED, Mode.DPO_REVIEW]

REFUSAL_BURST = "refusal_burst"
OUT_OF_HOURS = "out_of_hours"
MANY_PATIENTS = "many_patients"
IN_PERSON_CONSENT = "in_person_consent"
GP_RIGHTS = "gp_rights"
# The DMP's trace actions that give or end GP-level rights (dmp.constants.DmpAction: audit names no app).
GP_RIGHTS_ACTIONS = ["designation_accept", "designation_end"]

LABELS = {
    FLAGGED_MODES[Mode.EMERGENCY]: _("accès d'urgence (bris de glace)"),
    FLAGGED_MODES[Mode.SAMU]: _("accès SAMU"),
    REFUSAL_BURST: _("refus répétés"),
    OUT_OF_HOURS: _("lecture hors des heures ouvrées"),
    MANY_PATIENTS: _("nombreux patients consultés en peu de temps"),
    IN_PERSON_CONSENT: _("consentement recueilli en présence du patient"),
    GP_RIGHTS: _("droits du médecin traitant donnés ou retirés"),
    "login_lockout": _("connexion verrouillée après des échecs répétés"),
    "second_factor_reset": _("second facteur réinitialisé"),
    "admin_change": _("modification dans l'administration"),
    "rate_limited": _("limite de fréquence atteinte"),
    "account_recovery": _("récupération de compte"),
}

# Annotation name -> reason code; "flag_stored" carries the reason written with the trace.
ANNOTATIONS = {
    "flag_refusal_burst": REFUSAL_BURST,
    "flag_out_of_hours": OUT_OF_HOURS,
    "flag_many_patients": MANY_PATIENTS,
    "flag_in_person_consent": IN_PERSON_CONSENT,
    "flag_gp_rights": GP_RIGHTS,
}


def _bool(condition, then=None) -> Case:
    return Case(When(condition, then=then if then is not None else Value(True)), default=Value(False))


def _refusal_burst() -> Case:
    window = timedelta(minutes=settings.AUDIT_FLAG_REFUSAL_BURST_MINUTES)
    recent = (
        AuditEvent.objects.filter(
            actor_id=OuterRef("actor_id"),
            outcome=Outcome.DENIED,
            at__gte=OuterRef("at") - window,
            at__lte=OuterRef("at"),
        )
        .order_by()
        .values("actor_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    # CASE guarantees the subquery only runs for refusals.
    return _bool(
        Q(outcome=Outcome.DENIED, actor_id__isnull=False),
        then=_bool(GreaterThanOrEqual(Subquery(recent), settings.AUDIT_FLAG_REFUSAL_BURST_COUNT)),
    )


def _professional_read() -> Q:
    return Q(action=Action.READ, outcome=Outcome.ALLOWED, actor_id__isnull=False) & ~Q(mode__in=_ROUTINE_MODES)


def _out_of_hours() -> Case:
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    hour = ExtractHour("at", tzinfo=tz)
    odd_time = Q(LessThan(hour, settings.AUDIT_FLAG_WORKING_HOURS_START)) | Q(
        GreaterThanOrEqual(hour, settings.AUDIT_FLAG_WORKING_HOURS_END)
    )
    if settings.AUDIT_FLAG_WEEKENDS:
        odd_time |= Q(GreaterThanOrEqual(ExtractIsoWeekDay("at", tzinfo=tz), 6))
    return _bool(_professional_read() & odd_time)


def _many_patients() -> Case:
    window = timedelta(minutes=settings.AUDIT_FLAG_MANY_PATIENTS_MINUTES)
    patients = (
        AuditEvent.objects.filter(
            _professional_read(),
            actor_id=OuterRef("actor_id"),
            patient_id__isnull=False,
            at__gte=OuterRef("at") - window,
            at__lte=OuterRef("at"),
        )
        .order_by()
        .values("actor_id")
        .annotate(n=Count("patient_id", distinct=True))
        .values("n")
    )
    return _bool(
        _professional_read() & Q(patient_id__isnull=False),
        then=_bool(GreaterThanOrEqual(Subquery(patients), settings.AUDIT_FLAG_MANY_PATIENTS_COUNT)),
    )


def _in_person_consent() -> Case:
    # The recording of the consent, not every later read made under it.
    return _bool(Q(mode=Mode.IN_PERSON_CONSENT) & ~Q(action__in=[Action.READ, Action.LIST, Action.SEARCH]))


def _gp_rights() -> Case:
    # Who reads the whole DMP, masked documents included, changed (CSP L.1111-16): the DPO sees each change.
    return _bool(Q(action__in=GP_RIGHTS_ACTIONS, outcome=Outcome.ALLOWED))


def with_flags(queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Annotate every flag rule as a boolean column (one query for the whole page)."""
    return queryset.annotate(
        flag_refusal_burst=_refusal_burst(),
        flag_out_of_hours=_out_of_hours(),
        flag_many_patients=_many_patients(),
        flag_in_person_consent=_in_person_consent(),
        flag_gp_rights=_gp_rights(),
    )


def any_flag() -> Q:
    """Filter for traces with at least one flag; use on a queryset passed through with_flags()."""
    q = Q(flagged=True)
    for name in ANNOTATIONS:
        q |= Q(**{name: True})
    return q


def reasons(event: AuditEvent | dict) -> list[str]:
    """The flag reason codes of an annotated trace (model or values() row), the one written with it first."""

    def get(name):
        return event.get(name) if isinstance(event, dict) else getattr(event, name, None)

    codes = [get("flag_reason")] if get("flagged") and get("flag_reason") else []
    codes += [code for name, code in ANNOTATIONS.items() if get(name) and code not in codes]
    return codes


def label(code: str) -> str:
    return str(LABELS.get(code, code))
