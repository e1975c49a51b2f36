"""Read-side querysets of the hospital record, filtered in SQL, with their joins chosen once."""

from __future__ import annotations

from django.db.models import BigIntegerField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .access import patients_readable_by, reports_visible_in_record
from .constants import ReportStatus
from .models import HandoverNote, OpinionRequest, Patient, Report, Stay, StayMovement


def reports_with_state() -> QuerySet[Report]:
    """Reports with `superseded` (a signed newer version exists) and their author and replaced version."""
    newer_signed = Report.objects.filter(replaces=OuterRef("pk"), status=ReportStatus.SIGNED)
    return Report.objects.select_related("author__professional_profile", "replaces").annotate(
        superseded=Exists(newer_signed)
    )


def record_stays(user, patient: Patient) -> QuerySet[Stay]:
    """A patient's stays with diagnoses, procedures and the reports this reader may see: 5 queries whatever the size."""
    reports = reports_with_state().filter(reports_visible_in_record(user)).order_by("type_code", "-version")
    return (
        Stay.objects.filter(patient=patient)
        .select_related("unit")
        .prefetch_related(
            "diagnoses",
            "procedures",
            Prefetch("reports", queryset=reports),
            Prefetch("movements", queryset=StayMovement.objects.select_related("unit")),
            Prefetch(
                "handover_notes",
                queryset=HandoverNote.objects.select_related("author__professional_profile", "unit"),
            ),
            Prefetch(
                "opinion_requests",
                queryset=OpinionRequest.objects.select_related(
                    "requested_by__professional_profile",
                    "consulted_doctor__professional_profile",
                    "consulted_unit",
                    "answer",
                ),
            ),
        )
        .order_by("-admitted_at")
    )


def patient_search_queryset(query: str) -> QuerySet[Patient]:
    """Search by name, birth date (YYYY-MM-DD or DD/MM/YYYY), IPP or INS."""
    from .forms import parse_birth_date

    query = " ".join(query.split())
    if not query:
        return Patient.objects.none()
    birth_date = parse_birth_date(query)
    if birth_date:
        return Patient.objects.filter(birth_date=birth_date)
    compact = query.replace(" ", "").upper()
    if compact.isdigit() or (len(compact) == 15 and compact[5:7] in ("2A", "2B")):
        return Patient.objects.filter(Q(ipp=compact) | Q(nir=compact))
    condition = Q()
    for word in query.split():
        condition &= Q(birth_name__icontains=word) | Q(used_name__icontains=word) | Q(first_names__icontains=word)
    return Patient.objects.filter(condition)


def patients_in_care(user) -> QuerySet[Patient]:
    """Patients the user may read now, with their latest stay's unit and admission, in one query."""
    latest = Stay.objects.filter(patient=OuterRef("pk")).order_by("-admitted_at")
    return (
        patients_readable_by(user)
        .annotate(
            last_admitted_at=Subquery(latest.values("admitted_at")[:1]),
            last_unit=Subquery(latest.values("unit__name")[:1]),
            last_discharged_at=Subquery(latest.values("discharged_at")[:1]),
        )
        .order_by("-last_admitted_at")
    )


def stays_without_letter(units) -> QuerySet[Stay]:
    """Hospitalisations discharged from one of `units` (their last unit) with no signed discharge letter, oldest first."""
    from .constants import ReportType, StayKind

    last_unit = StayMovement.objects.filter(stay=OuterRef("pk")).order_by("-at").values("unit_id")[:1]
    letter = Report.objects.filter(
        stay=OuterRef("pk"), type_code=ReportType.DISCHARGE_LETTER, status=ReportStatus.SIGNED
    )
    return (
        Stay.objects.filter(kind=StayKind.HOSPITALISATION, discharged_at__isnull=False)
        .annotate(discharge_unit=Coalesce(Subquery(last_unit), "unit_id", output_field=BigIntegerField()))
        .filter(discharge_unit__in=units.values("pk"))
        .exclude(Exists(letter))
        .select_related("patient", "unit")
        .order_by("discharged_at")
    )


def patients_for_audit(*, query: str = "", ids=(), limit: int = 20) -> dict:
    """The DPO console's patient resolver (settings.AUDIT_PATIENT_RESOLVER): public id -> "NAME First · IPP · INS".

    By `query` (name, birth date, IPP or INS, as the clinicians' search) or by `ids` (the patients of the traces
    shown). Not traced here: the audit console that calls it traces its search.
    """
    patients = patient_search_queryset(query)[:limit] if query else Patient.objects.filter(public_id__in=list(ids))
    return {
        p.public_id: " · ".join(
            part for part in (p.display_name, f"IPP {p.ipp}", f"INS {p.nir}" if p.nir else "") if part
        )
        for p in patients
    }
