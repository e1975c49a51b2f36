"""The one place that decides who asks for, prepares, validates and reads a copy of the hospital record.

Rules (docs/domain.md, "A copy of the hospital record"): the adult patient asks for herself, her parent or
guardian for her (CSP L.1111-7, R.1111-1); a minor's requests are made by her legal representatives, and
the stays she keeps secret from them (L.1111-5) are neither offered to them nor copied for them; heirs'
requests come on paper and are recorded by the medical records office (L.1110-4 V). The office's staff
run the queue without reading the record; a doctor of the units concerned, or the office's doctor,
validates what goes into the copy (mode `record_request`). The copy is read only by the one it is for:
the requester (patient or representative, while the representation is in force) when it is downloaded,
the named doctor when it is sent to him (R.1111-1: the recipient's quality of doctor is checked).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Profession, Role, Unit
from audit.constants import Mode
from chu_portal.errors import Decision
from records import access as records_access
from records.constants import RepresentationKind
from records.models import Patient, Stay, StayMovement

from .constants import Delivery, RequesterKind, RequestStatus
from .models import RecordBundle, RecordRequest, SecureMessage

# Representations that carry the right to the record (L.1111-7): parents and guardians, not a trusted person.
ENTITLED_REPRESENTATIONS = frozenset({RepresentationKind.PARENT, RepresentationKind.GUARDIAN})


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated)


def _not_authenticated() -> Decision:
    return Decision.deny("not_authenticated", _("Connexion requise."), status=401)


def _not_found() -> Decision:
    return Decision.deny("not_found", _("Demande introuvable."), status=404)


def office_unit() -> QuerySet[Unit]:
    """The medical records office's unit (`RECORDS_OFFICE_UNIT_CODE`)."""
    return Unit.objects.filter(code=settings.RECORDS_OFFICE_UNIT_CODE)


def is_office_staff(user) -> bool:
    """A member of the medical records office (collaborator or doctor of its unit)."""
    if not _authenticated(user) or user.role not in (Role.CHU_CLINICIAN, Role.CHU_COLLABORATOR):
        return False
    return Unit.objects.filter(code=settings.RECORDS_OFFICE_UNIT_CODE, staff__user=user).exists()


def is_doctor(user) -> bool:
    profile = user.professional if _authenticated(user) else None
    return profile is not None and profile.profession == Profession.MEDECIN


def _is_chu_doctor(user) -> bool:
    return _authenticated(user) and user.role == Role.CHU_CLINICIAN and is_doctor(user)


def entitled_representation(user, patient: Patient, now=None):
    """`user`'s parent or guardian representation of `patient` in force now, or None (one query)."""
    if not _authenticated(user) or user.role != Role.PATIENT:
        return None
    return (
        records_access.representations_in_force(now)
        .filter(representative=user, patient=patient, kind__in=ENTITLED_REPRESENTATIONS)
        .first()
    )


def decide_create(user, patient: Patient, now=None) -> Decision:
    """May `user` ask online for a copy of `patient`'s hospital record? Herself (adult), or her parent or guardian."""
    if not _authenticated(user):
        return _not_authenticated()
    if user.role != Role.PATIENT:
        return Decision.deny(
            "forbidden",
            _("Une demande de copie du dossier est faite par le patient ou son représentant légal."),
        )
    if patient.account_id == user.pk:
        if records_access.is_minor(patient, now):
            return Decision.deny(
                "forbidden",
                _("Pour un patient mineur, la copie du dossier est demandée par ses représentants légaux."),
            )
        return Decision.allow(Mode.SELF)
    if entitled_representation(user, patient, now) is not None:
        return Decision.allow(Mode.REPRESENTATIVE)
    return Decision.deny("not_found", _("Patient introuvable."), status=404)


def decide_heir_request(user) -> Decision:
    """Heirs' requests are recorded from the paper file by the medical records office, never opened online."""
    if not _authenticated(user):
        return _not_authenticated()
    if is_office_staff(user):
        return Decision.allow(Mode.RECORD_REQUEST)
    return Decision.deny(
        "forbidden", _("Les demandes des ayants droit sont enregistrées par le bureau des archives médicales.")
    )


def requestable_stays(patient: Patient, mode: str) -> QuerySet[Stay]:
    """The stays a requester may ask for: all the patient's, minus those secret from her representatives (SQL)."""
    stays = Stay.objects.filter(patient=patient)
    if mode == Mode.REPRESENTATIVE:
        stays = stays.filter(secret_from_representatives=False)
    return stays


def requests_of(user) -> QuerySet[RecordRequest]:
    """The requests `user` follows as a requester: those he made, and those about her own record (SQL)."""
    if not _authenticated(user) or user.role != Role.PATIENT:
        return RecordRequest.objects.none()
    return RecordRequest.objects.filter(
        Q(requested_by=user) | Q(patient__account=user, requester_kind=RequesterKind.PATIENT)
    )


def _units_concerned(request_ref) -> QuerySet[Unit]:
    stays = Stay.objects.filter(record_requests=request_ref)
    admitted = stays.filter(unit=OuterRef("pk"))
    moved = StayMovement.objects.filter(stay__in=stays, unit=OuterRef("pk"))
    return Unit.objects.filter(Exists(admitted) | Exists(moved))


def requests_to_validate(user) -> QuerySet[RecordRequest]:
    """Requests this doctor may validate: the office's doctor all of them; a CHU doctor those whose stays went
    through one of his units (SQL)."""
    if not _is_chu_doctor(user):
        return RecordRequest.objects.none()
    if office_unit().filter(staff__user=user).exists():
        return RecordRequest.objects.all()
    my_units = Unit.objects.filter(staff__user=user)
    in_my_units = Stay.objects.filter(record_requests=OuterRef("pk")).filter(
        Q(unit__in=my_units) | Q(movements__unit__in=my_units)
    )
    return RecordRequest.objects.filter(Exists(in_my_units))


def office_queue(user) -> QuerySet[RecordRequest]:
    """The queue a member of the CHU sees: the office all requests, a doctor those he may validate (SQL)."""
    if is_office_staff(user):
        return RecordRequest.objects.all()
    return requests_to_validate(user)


def decide_queue(user) -> Decision:
    if not _authenticated(user):
        return _not_authenticated()
    if is_office_staff(user) or _is_chu_doctor(user):
        return Decision.allow(Mode.RECORD_REQUEST)
    return Decision.deny("forbidden", _("La file des demandes de copie est réservée au bureau des archives médicales."))


def decide_read(user, request: RecordRequest, now=None) -> Decision:
    """May `user` read this request (its state, dates and stays, not the copy)?"""
    if not _authenticated(user):
        return _not_authenticated()
    if requests_of(user).filter(pk=request.pk).exists():
        return Decision.allow(
            Mode.REPRESENTATIVE if request.requester_kind == RequesterKind.REPRESENTATIVE else Mode.SELF
        )
    if office_queue(user).filter(pk=request.pk).exists():
        return Decision.allow(Mode.RECORD_REQUEST)
    return _not_found()


def decide_validate(user, request: RecordRequest) -> Decision:
    """Validation (and the preview of what the copy holds): a doctor of the units concerned or the office's doctor."""
    if not _authenticated(user):
        return _not_authenticated()
    if not requests_to_validate(user).filter(pk=request.pk).exists():
        if is_office_staff(user):
            return Decision.deny(
                "forbidden", _("La validation d'une demande de copie revient à un médecin des services concernés.")
            )
        return _not_found()
    if request.status != RequestStatus.RECEIVED:
        return Decision.deny("conflict", _("Cette demande a déjà reçu une réponse."), status=409)
    return Decision.allow(Mode.RECORD_REQUEST)


def decide_refuse(user, request: RecordRequest) -> Decision:
    """A refusal on a ground the law allows: the validating doctors, or the office (identity, quality, heirs)."""
    if not _authenticated(user):
        return _not_authenticated()
    if not (is_office_staff(user) or requests_to_validate(user).filter(pk=request.pk).exists()):
        return _not_found()
    if request.status != RequestStatus.RECEIVED:
        return Decision.deny("conflict", _("Cette demande a déjà reçu une réponse."), status=409)
    return Decision.allow(Mode.RECORD_REQUEST)


def bundle_readers(request: RecordRequest) -> Q:
    """Who reads the copy: the requester when downloaded (the representative while in force), the named doctor
    when sent. A Q over users."""
    if request.delivery == Delivery.DOCTOR:
        return Q(pk=request.named_doctor_id)
    return Q(pk=request.requested_by_id)


def holds_a_secret_stay(bundle: RecordBundle) -> bool:
    """Does the copy hold a stay the minor now keeps secret from her legal representatives? (One query.)"""
    stays = (bundle.contents or {}).get("stays") or []
    return bool(stays) and Stay.objects.filter(public_id__in=stays, secret_from_representatives=True).exists()


def decide_download(user, bundle: RecordBundle, now=None) -> Decision:
    """May `user` download this copy now? Its one reader, once released, before it expires."""
    now = now or timezone.now()
    if not _authenticated(user):
        return _not_authenticated()
    request = bundle.request
    if request.delivery == Delivery.DOCTOR:
        if user.pk != request.named_doctor_id or not is_doctor(user):
            return _not_found()
        mode = Mode.RECORD_REQUEST
    else:
        if user.pk != request.requested_by_id or user.role != Role.PATIENT:
            return _not_found()
        if request.requester_kind == RequesterKind.REPRESENTATIVE:
            if entitled_representation(user, request.patient, now) is None:
                return _not_found()
            mode = Mode.REPRESENTATIVE
        else:
            mode = Mode.SELF
    if request.status == RequestStatus.EXPIRED or bundle.deleted_at is not None:
        return Decision.deny(
            "gone", _("Cette copie n'est plus disponible ; vous pouvez en demander une nouvelle."), status=410
        )
    if request.status not in (RequestStatus.AVAILABLE, RequestStatus.SENT) or bundle.made_at is None:
        return Decision.deny("not_ready", _("La copie n'est pas encore disponible."), status=409)
    if request.requester_kind == RequesterKind.REPRESENTATIVE and holds_a_secret_stay(bundle):
        # Made before the care team kept one of its stays secret at the minor's request (CSP L.1111-5): read by
        # nobody now, said as an expired copy (nothing tells the representative that a secret exists).
        return Decision.deny(
            "gone", _("Cette copie n'est plus disponible ; vous pouvez en demander une nouvelle."), status=410
        )
    if now < request.earliest_release_at:
        return Decision.deny(
            "reflection_period", _("La copie sera disponible à la fin du délai de réflexion de 48 heures."), status=409
        )
    return Decision.allow(mode)


def inbox_of(user) -> QuerySet[SecureMessage]:
    """A doctor's secure inbox: his messages only (SQL)."""
    if not _authenticated(user) or not is_doctor(user):
        return SecureMessage.objects.none()
    return SecureMessage.objects.filter(recipient=user)


def decide_inbox(user) -> Decision:
    if not _authenticated(user):
        return _not_authenticated()
    if is_doctor(user) and user.role in (Role.CHU_CLINICIAN, Role.EXTERNAL_PROFESSIONAL):
        return Decision.allow(Mode.SELF)
    return Decision.deny("forbidden", _("La messagerie sécurisée de santé est réservée aux médecins."))


def decide_message(user, message: SecureMessage) -> Decision:
    """A secure message is read by its recipient alone, a doctor (anyone else: not found)."""
    decision = decide_inbox(user)
    if not decision.allowed:
        return decision
    if message.recipient_id != user.pk:
        return Decision.deny("not_found", _("Message introuvable."), status=404)
    return decision
