"""Asking for a copy of the hospital record: the patient or her parent or guardian online, an heir's paper file recorded by the office.

The requested stays are frozen when the complete request is received, and the legal deadlines computed then from
the oldest of them (record_requests/deadlines.py); neither moves afterwards (docs/domain.md, "A copy of the
hospital record").
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import PROFESSIONAL_ROLES, Profession, ProfessionalProfile, Role, User
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import AccessDenied, Decision, InvalidInput
from chu_portal.ids import as_uuid, find_by_public_id, get_by_public_id_or_404
from records import access as records_access
from records.models import Patient, Stay

from .. import access, deadlines
from ..constants import Delivery, HeirReason, RequesterKind
from ..models import RecordRequest
from . import notify

PAGE_SIZE = 20
HEIR_NAME_MAX = 200
HEIR_RELATION_MAX = 100


def _patient(actor, patient_id) -> Patient:
    """The patient a requester names (a representative: the one she acts for), or her own record."""
    if patient_id is not None:
        return get_by_public_id_or_404(Patient.objects.select_related("account"), patient_id, _("Patient introuvable."))
    patient = (
        Patient.objects.select_related("account").filter(account=actor).first()
        if getattr(actor, "is_authenticated", False)
        else None
    )
    if patient is None:
        raise AccessDenied(Decision.deny("not_found", _("Aucun dossier n'est rattaché à ce compte."), status=404))
    return patient


def named_doctor_by_rpps(rpps, field: str = "named_doctor_rpps") -> User:
    """The doctor a requester names (CSP R.1111-1: the intermediary's quality of doctor is checked): a doctor with
    an account in the portal, found by his RPPS number; InvalidInput naming `field` otherwise."""
    rpps = "".join(str(rpps or "").split())
    if not rpps:
        message = _("Indiquez le numéro RPPS du médecin à qui envoyer la copie.")
        raise InvalidInput(message, fields={field: message})
    profile = ProfessionalProfile.objects.select_related("user").filter(rpps=rpps).first()
    if profile is None or profile.user.role not in PROFESSIONAL_ROLES or not profile.user.is_active:
        message = _("Aucun médecin inscrit sur le portail ne porte ce numéro RPPS.")
        raise InvalidInput(message, fields={field: message})
    if profile.profession != Profession.MEDECIN:
        message = _(
            "La copie ne peut être adressée qu'à un médecin (ce numéro RPPS est celui d'un autre professionnel)."
        )
        raise InvalidInput(message, fields={field: message})
    return profile.user


def _chosen_stays(requestable, stay_ids) -> tuple[list[Stay], bool]:
    """The stays asked for (all the requestable ones when none is chosen), checked: an unknown id, or one the
    requester may not ask for, is the same error (nothing is revealed)."""
    chosen = [s for s in (stay_ids or []) if s not in (None, "")]
    if chosen:
        keys = {as_uuid(s) for s in chosen}
        if None in keys:
            raise InvalidInput(_("Séjour inconnu."), fields={"stays": _("Séjour inconnu.")})
        stays = list(requestable.filter(public_id__in=keys).order_by("admitted_at", "id"))
        if len(stays) != len(keys):
            raise InvalidInput(_("Séjour inconnu."), fields={"stays": _("Séjour inconnu.")})
        return stays, False
    stays = list(requestable.order_by("admitted_at", "id"))
    if not stays:
        message = _("Aucun séjour au CHU ne peut être copié pour cette demande.")
        raise InvalidInput(message, fields={"stays": message})
    return stays, True


def _frozen(request: RecordRequest, stays: list[Stay], received_at: datetime.datetime) -> None:
    """Fix the deadlines from the oldest requested information (its stay's admission)."""
    oldest = min(s.admitted_at for s in stays)
    due = deadlines.compute(received_at, oldest)
    request.received_at = received_at
    request.oldest_information_at = oldest
    request.long_delay = due.long_delay
    request.earliest_release_at = due.earliest_release_at
    request.due_on = due.due_on


def request_create(
    *,
    actor,
    patient_id=None,
    stays=None,
    delivery: str = Delivery.DOWNLOAD,
    named_doctor_rpps: str | None = None,
    now: datetime.datetime | None = None,
) -> RecordRequest:
    """A request by the patient (adult) or her parent or guardian (`patient_id`: the person she acts for).

    `stays`: public ids of the chosen stays, or none for the whole record; `delivery`: a download in the portal,
    or sent to the doctor named by `named_doctor_rpps`. Traced and told in one transaction; bad input changes
    nothing."""
    patient = _patient(actor, patient_id)
    decision = access.decide_create(actor, patient, now)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.CREATE,
            decision=decision,
            patient_id=patient.public_id,
            object_type=ObjectType.RECORD_REQUEST,
        )
    if delivery not in Delivery.values:
        raise InvalidInput(_("Forme de la communication inconnue."), fields={"delivery": _("Valeur inconnue.")})
    doctor = None
    if delivery == Delivery.DOCTOR:
        doctor = named_doctor_by_rpps(named_doctor_rpps)
    elif named_doctor_rpps:
        message = _("Un médecin n'est désigné que pour un envoi de la copie à ce médecin.")
        raise InvalidInput(message, fields={"named_doctor_rpps": message})
    chosen, all_stays = _chosen_stays(access.requestable_stays(patient, decision.mode), stays)
    representative = decision.mode == Mode.REPRESENTATIVE
    with transaction.atomic():
        request = RecordRequest(
            patient=patient,
            requester_kind=RequesterKind.REPRESENTATIVE if representative else RequesterKind.PATIENT,
            requested_by=actor,
            representation=access.entitled_representation(actor, patient, now) if representative else None,
            all_stays=all_stays,
            delivery=delivery,
            named_doctor=doctor,
            created_at=now or timezone.now(),
        )
        _frozen(request, chosen, now or timezone.now())
        request.save()
        request.stays.set(chosen)
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.RECORD_REQUEST,
            object_id=request.public_id,
        )
        notify.tell(request, notify.RECEIVED)
    return request


def _received_moment(value, field: str = "received_on") -> datetime.datetime:
    """The day the complete paper file came in: today (now), or a past day (its start, in Paris); never the future."""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    try:
        day = value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(_("Date invalide (AAAA-MM-JJ attendu)."), fields={field: _("Date invalide.")}) from exc
    today = timezone.localdate()
    if day > today:
        message = _("La date de réception ne peut pas être dans le futur.")
        raise InvalidInput(message, fields={field: message})
    if day == today:
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _date(value, field: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or ""))
    except ValueError as exc:
        raise InvalidInput(_("Date invalide (AAAA-MM-JJ attendu)."), fields={field: _("Date invalide.")}) from exc


def heir_request_record(
    *,
    actor,
    patient_id,
    heir_name: str,
    heir_relation: str = "",
    heir_reason: str,
    death_date,
    received_on,
    named_doctor_rpps: str,
    stays=None,
) -> RecordRequest:
    """An heir's request, recorded by the medical records office from the complete paper file (CSP L.1110-4 V).

    The copy goes to a doctor the heir names (the portal prints nothing: docs/decisions.md); the deadlines run
    from `received_on`, the day the complete file was received (today or a past day)."""
    decision = access.decide_heir_request(actor)
    if not decision.allowed:
        audit.refuse(actor=actor, action=Action.CREATE, decision=decision, object_type=ObjectType.RECORD_REQUEST)
    patient = get_by_public_id_or_404(Patient.objects, patient_id, _("Patient introuvable."))
    errors = {}
    heir_name = " ".join((heir_name or "").split())
    heir_relation = " ".join((heir_relation or "").split())
    if not heir_name:
        errors["heir_name"] = _("Indiquez le nom de l'ayant droit.")
    elif len(heir_name) > HEIR_NAME_MAX:
        errors["heir_name"] = _("Nom trop long.")
    if len(heir_relation) > HEIR_RELATION_MAX:
        errors["heir_relation"] = _("Lien trop long.")
    if heir_reason not in HeirReason.values:
        errors["heir_reason"] = _("Choisissez l'un des motifs prévus par la loi (article L.1110-4).")
    if errors:
        raise InvalidInput(next(iter(errors.values())), fields=errors)
    died = _date(death_date, "death_date")
    if died > timezone.localdate():
        message = _("La date du décès ne peut pas être dans le futur.")
        raise InvalidInput(message, fields={"death_date": message})
    received_at = _received_moment(received_on)
    if timezone.localdate(received_at) < died:
        message = _("La demande d'un ayant droit est reçue après le décès.")
        raise InvalidInput(message, fields={"received_on": message})
    doctor = named_doctor_by_rpps(named_doctor_rpps)
    chosen, all_stays = _chosen_stays(access.requestable_stays(patient, decision.mode), stays)
    with transaction.atomic():
        request = RecordRequest(
            patient=patient,
            requester_kind=RequesterKind.HEIR,
            requested_by=actor,
            heir_name=heir_name,
            heir_relation=heir_relation,
            heir_reason=heir_reason,
            death_date=died,
            all_stays=all_stays,
            delivery=Delivery.DOCTOR,
            named_doctor=doctor,
        )
        _frozen(request, chosen, received_at)
        request.save()
        request.stays.set(chosen)
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type=ObjectType.RECORD_REQUEST,
            object_id=request.public_id,
            reason=heir_reason,
        )
    return request


@dataclass
class RequestPage:
    patient: Patient | None
    items: list[RecordRequest]
    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def _with_relations(queryset):
    return queryset.select_related(
        "patient",
        "requested_by__professional_profile",
        "named_doctor__professional_profile",
        "validated_by__professional_profile",
        "bundle",
    ).prefetch_related("stays__unit")


def requests_mine(*, actor, patient_id=None, page: int = 1, page_size: int = PAGE_SIZE) -> RequestPage:
    """The requester's requests in the space she chose: her own record's, or those of the person `patient_id` she
    represents (the requests she made for him). One trace naming them; a bounded number of queries."""
    if not getattr(actor, "is_authenticated", False) or actor.role != Role.PATIENT:
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=Decision.deny(
                "forbidden", _("Les demandes de copie du dossier sont suivies par le patient ou son représentant.")
            )
            if getattr(actor, "is_authenticated", False)
            else Decision.deny("not_authenticated", _("Connexion requise."), status=401),
            object_type=ObjectType.RECORD_REQUEST,
        )
    queryset = access.requests_of(actor)
    if patient_id is None:
        patient = Patient.objects.filter(account=actor).first()
        queryset = queryset.filter(patient__account=actor)
        mode = Mode.SELF
    else:
        patient = find_by_public_id(records_access.represented_patients(actor), patient_id)
        if patient is None:
            audit.refuse(
                actor=actor,
                action=Action.LIST,
                decision=Decision.deny("not_found", _("Patient introuvable."), status=404),
                object_type=ObjectType.RECORD_REQUEST,
            )
        queryset = queryset.filter(patient=patient)
        mode = Mode.REPRESENTATIVE
    queryset = _with_relations(queryset).order_by("-received_at", "-id")
    page = max(int(page), 1)
    start = (page - 1) * page_size
    items, total = audit.list_traced(
        actor=actor,
        mode=mode,
        patient_id=patient.public_id if patient else None,
        object_type=ObjectType.RECORD_REQUEST,
        load=lambda: (list(queryset[start : start + page_size]), queryset.count()),
        shown=lambda result: [r.public_id for r in result[0]],
    )
    return RequestPage(patient, items, total, page, page_size)


def find_request(request_id, queryset=None) -> RecordRequest:
    """A request by public id with what its pages show, or 404 (the caller decides)."""
    found = find_by_public_id(
        _with_relations(queryset if queryset is not None else RecordRequest.objects.all()), request_id
    )
    if found is None:
        raise AccessDenied(Decision.deny("not_found", _("Demande introuvable."), status=404))
    return found


def request_get(*, actor, request_id) -> tuple[RecordRequest, Decision]:
    """One request (its state, dates and stays, not the copy), read, decided and traced in one transaction."""
    return audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.RECORD_REQUEST,
        load=lambda: find_request(request_id),
        decide=lambda request: access.decide_read(actor, request),
        describe=lambda request: (request.patient.public_id, request.public_id),
    )


def requestable_stays_for(*, actor, patient_id=None) -> tuple[Patient, list[Stay]]:
    """The stays the requester may ask for (for the request form): traced as a list of stays of the patient."""
    patient = _patient(actor, patient_id)
    decision = access.decide_create(actor, patient)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=decision,
            patient_id=patient.public_id,
            object_type=ObjectType.STAY,
        )
    queryset = access.requestable_stays(patient, decision.mode).select_related("unit").order_by("-admitted_at", "-id")
    stays = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=patient.public_id,
        object_type=ObjectType.STAY,
        load=lambda: list(queryset),
        shown=lambda result: [s.public_id for s in result],
    )
    return patient, stays
