"""The one place that decides who may read or write the hospital record, and its SQL scopes."""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import PRESCRIBING_PROFESSIONS, Role, Unit
from audit.constants import Mode
from chu_portal.errors import Decision

from .constants import MAJORITY_AGE, RepresentationKind
from .models import (
    EmergencyAccess,
    OpinionRequest,
    OpinionStatus,
    Patient,
    Report,
    Representation,
    Stay,
    StayMovement,
)


class RecordAction(StrEnum):
    SEARCH = "search"
    READ_IDENTITY = "read_identity"
    READ_RECORD = "read_record"
    READ_REPORT = "read_report"
    WRITE_REPORT = "write_report"
    SIGN_REPORT = "sign_report"
    AMEND_REPORT = "amend_report"
    BREAK_GLASS = "break_glass"
    QUALIFY_IDENTITY = "qualify_identity"
    RETRIEVE_INS = "retrieve_ins"
    REQUEST_OPINION = "request_opinion"
    ANSWER_OPINION = "answer_opinion"
    WRITE_HANDOVER = "write_handover"
    TRANSFER = "transfer"


def _is_staff_member(user) -> bool:
    return bool(user and user.is_authenticated and user.role in (Role.CHU_CLINICIAN, Role.CHU_COLLABORATOR))


def _user_units(user):
    return Unit.objects.filter(staff__user=user).values("pk")


def _care_team_stays(user, now=None) -> QuerySet[Stay]:
    """Open or recent stays that passed through a unit the user works in (SQL, never a Python loop).

    Every unit of the stay counts, the admitting one and each it was transferred to, for the
    stay's whole recent-stay window.
    """
    units = _user_units(user)
    moved_through = StayMovement.objects.filter(stay=OuterRef("pk"), unit__in=units)
    return Stay.objects.open_or_recent(now).filter(Q(unit__in=units) | Exists(moved_through))


def care_team_units(patient: Patient, now=None) -> QuerySet[Unit]:
    """The units treating the patient now: those her open or recent stays passed through (SQL).

    The admitting unit and every unit a stay was transferred to, for the stay's whole window: the
    same stays and window as the care-team rule (`RECORDS_RECENT_STAY_DAYS`). Their staff are the
    patient's care team in the CHU (CSP L.1110-4, L.1110-12).
    """
    stays = Stay.objects.open_or_recent(now).filter(patient=patient)
    admitted_here = stays.filter(unit=OuterRef("pk"))
    moved_here = StayMovement.objects.filter(stay__in=stays, unit=OuterRef("pk"))
    return Unit.objects.filter(Exists(admitted_here) | Exists(moved_here))


def opinion_is_expired(opinion: OpinionRequest, now=None) -> bool:
    """Open past `OPINION_MAX_DAYS` (`OpinionRequest.expires_at`): it can no longer be answered or closed."""
    now = now or timezone.now()
    return opinion.status == OpinionStatus.OPEN and opinion.expires_at <= now


def opinions_giving_access(user, now=None) -> QuerySet[OpinionRequest]:
    """Opinion requests that let this doctor read the patient's record.

    Open and younger than `OPINION_MAX_DAYS`; or answered, closed or expired within the grace
    period (`OPINION_GRACE_HOURS`) after that end.
    """
    now = now or timezone.now()
    grace = timezone.timedelta(hours=settings.OPINION_GRACE_HOURS)
    max_age = timezone.timedelta(days=settings.OPINION_MAX_DAYS)
    addressed = Q(consulted_doctor=user)
    if user.role == Role.CHU_CLINICIAN:
        addressed |= Q(consulted_doctor__isnull=True, consulted_unit__in=_user_units(user))
    # An open request ends when it expires (created_at + max_age); access lasts the grace period after.
    return OpinionRequest.objects.filter(addressed).filter(
        Q(status=OpinionStatus.OPEN, created_at__gte=now - max_age - grace) | Q(finished_at__gte=now - grace),
        created_at__lte=now,
    )


def _active_emergencies(user, now=None) -> QuerySet[EmergencyAccess]:
    now = now or timezone.now()
    return EmergencyAccess.objects.filter(user=user, starts__lte=now, expires__gt=now)


def with_access_flags(queryset: QuerySet[Patient], user, now=None) -> QuerySet[Patient]:
    """Annotate patients with `in_care_team` and `in_emergency` for this user, in SQL."""
    return queryset.annotate(
        in_care_team=Exists(_care_team_stays(user, now).filter(patient=OuterRef("pk"))),
        in_opinion=Exists(opinions_giving_access(user, now).filter(patient=OuterRef("pk"))),
        in_emergency=Exists(_active_emergencies(user, now).filter(patient=OuterRef("pk"))),
    )


def patients_readable_by(user, now=None) -> QuerySet[Patient]:
    """Patients whose hospital record this user may read now (care team or emergency access)."""
    if not _is_staff_member(user):
        return Patient.objects.none()
    return with_access_flags(Patient.objects.all(), user, now).filter(
        Q(in_care_team=True) | Q(in_opinion=True) | Q(in_emergency=True)
    )


def _refused_not_staff(user, patient: Patient) -> Decision:
    if user.role == Role.PATIENT:
        if patient.account_id == user.pk:
            return Decision.deny(
                "forbidden",
                _(
                    "Le dossier patient du CHU est réservé à l'équipe qui vous soigne. Les comptes rendus "
                    "que le CHU partage avec vous se trouvent dans votre DMP ; une copie du dossier se "
                    "demande au CHU."
                ),
            )
        return Decision.deny("not_found", _("Patient introuvable."), status=404)
    return Decision.deny("forbidden", _("Le dossier patient du CHU n'est accessible qu'aux équipes de soins du CHU."))


def decide_record(user, patient: Patient, now=None) -> Decision:
    """May `user` read `patient`'s hospital record now, and in which mode? (One query.)"""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if not _is_staff_member(user):
        return _refused_not_staff(user, patient)
    # Computed for this user every time: flags are never cached on a patient object another caller may hold.
    flags = with_access_flags(Patient.objects.filter(pk=patient.pk), user, now).values(
        "in_care_team", "in_opinion", "in_emergency"
    )[0]
    if flags["in_care_team"]:
        return Decision.allow(Mode.CARE_TEAM)
    if flags["in_opinion"]:
        return Decision.allow(Mode.OPINION_REQUEST)
    if flags["in_emergency"]:
        return Decision.allow(Mode.EMERGENCY)
    return Decision.deny(
        "forbidden",
        _(
            "Vous ne faites pas partie de l'équipe de soins de ce patient (aucun séjour en cours ou "
            "récent dans vos unités). En cas d'urgence, vous pouvez demander un accès exceptionnel "
            "motivé (bris de glace), qui sera tracé et contrôlé."
        ),
        can_break_glass=True,
    )


def decide(user, target, action: RecordAction, now=None) -> Decision:
    """Every "may X do A on Y" of the hospital record."""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)

    if action in (RecordAction.SEARCH, RecordAction.READ_IDENTITY):
        # Identity search by CHU staff is allowed by design (identity is not medical content).
        if _is_staff_member(user):
            return Decision.allow(Mode.NONE)
        if user.role == Role.PATIENT and action == RecordAction.READ_IDENTITY:
            return _refused_not_staff(user, target)
        return Decision.deny("forbidden", _("La recherche de patients est réservée au personnel du CHU."))

    if action in (RecordAction.QUALIFY_IDENTITY, RecordAction.RETRIEVE_INS):
        if _is_staff_member(user):
            return Decision.allow(Mode.NONE)
        return Decision.deny("forbidden", _("L'identitovigilance est réservée au personnel du CHU."))

    if action == RecordAction.BREAK_GLASS:
        if not _is_staff_member(user):
            return Decision.deny("forbidden", _("L'accès d'urgence au dossier du CHU est réservé au personnel du CHU."))
        decision = decide_record(user, target, now)
        if decision.allowed and decision.mode == Mode.CARE_TEAM:
            return Decision.deny(
                "conflict", _("Vous faites déjà partie de l'équipe de soins de ce patient."), status=409
            )
        return Decision.allow(Mode.EMERGENCY)

    if action == RecordAction.READ_RECORD:
        return decide_record(user, target, now)

    if action in (RecordAction.REQUEST_OPINION, RecordAction.WRITE_HANDOVER, RecordAction.TRANSFER):
        stay: Stay = target
        decision = decide_record(user, stay.patient, now)
        if not decision.allowed:
            return decision
        if decision.mode == Mode.OPINION_REQUEST:
            return Decision.deny(
                "forbidden", _("Un avis demandé donne accès en lecture seule ; répondez par une note de consultation.")
            )
        if decision.mode == Mode.EMERGENCY:
            # Break-the-glass is read-only and temporary: nothing done under it may open lasting
            # access (a transfer into one's unit, an opinion request) or change what the team sees.
            return Decision.deny(
                "forbidden",
                _(
                    "L'accès d'urgence permet de consulter le dossier, pas d'y agir : les demandes d'avis, "
                    "les transferts et les transmissions sont réservés à l'équipe de soins du patient."
                ),
            )
        if action == RecordAction.REQUEST_OPINION and user.role != Role.CHU_CLINICIAN:
            return Decision.deny("forbidden", _("Seuls les médecins de l'équipe de soins demandent un avis."))
        return decision

    if action == RecordAction.ANSWER_OPINION:
        opinion: OpinionRequest = target
        if opinion.status != OpinionStatus.OPEN:
            return Decision.deny("conflict", _("Cette demande d'avis est déjà close."), status=409)
        if opinion_is_expired(opinion, now):
            return Decision.deny("conflict", opinion_expired_message(), status=409)
        if not opinions_giving_access(user, now).filter(pk=opinion.pk).exists():
            return Decision.deny("forbidden", _("Cette demande d'avis ne vous est pas adressée."))
        return Decision.allow(Mode.OPINION_REQUEST)

    if action == RecordAction.WRITE_REPORT:
        stay: Stay = target
        decision = decide_record(user, stay.patient, now)
        if not decision.allowed:
            return decision
        if decision.mode == Mode.OPINION_REQUEST:
            return Decision.deny(
                "forbidden", _("Un avis demandé donne accès en lecture seule ; répondez par une note de consultation.")
            )
        profile = user.professional
        if user.role != Role.CHU_CLINICIAN or profile is None or profile.profession not in PRESCRIBING_PROFESSIONS:
            return Decision.deny(
                "forbidden", _("Seuls les médecins et sages-femmes du CHU rédigent des comptes rendus.")
            )
        return decision

    report: Report = target
    decision = decide_record(user, report.stay.patient, now)
    if not decision.allowed:
        return decision
    is_author = report.author_id == user.pk
    if not report.is_signed and not is_author:
        # Someone else's draft is not part of the record yet: not revealed.
        return Decision.deny("not_found", _("Compte rendu introuvable."), status=404)
    if action == RecordAction.READ_REPORT:
        return decision
    if not is_author:
        return Decision.deny("forbidden", _("Seul l'auteur d'un compte rendu peut le signer ou le modifier."))
    if action == RecordAction.SIGN_REPORT and report.is_signed:
        return Decision.deny(
            "conflict", _("Ce compte rendu est déjà signé ; il ne peut plus être modifié."), status=409
        )
    if action == RecordAction.AMEND_REPORT and not report.is_signed:
        return Decision.deny(
            "conflict", _("Un brouillon se modifie directement ; seul un compte rendu signé s'amende."), status=409
        )
    return Decision.allow(Mode.AUTHOR if decision.mode == Mode.CARE_TEAM else decision.mode)


def _decides_secrets(user) -> bool:
    profile = user.professional
    return user.role == Role.CHU_CLINICIAN and profile is not None and profile.profession in PRESCRIBING_PROFESSIONS


def offers_stay_secret(user, patient: Patient, mode: str, now=None) -> bool:
    """Whether the record page, read in `mode`, offers `user` the minor's secret on her stays (decide_stay_secret
    decides each change)."""
    return mode == Mode.CARE_TEAM and _decides_secrets(user) and is_minor(patient, now)


def decide_stay_secret(user, stay: Stay, now=None) -> Decision:
    """May `user` keep this stay secret from the patient's legal representatives, or lift that secret, at the
    minor's request (CSP L.1111-5, R.1111-50)? A doctor or midwife of her care team, while she is a minor.

    Emergency and opinion-request access read only; a nurse or a collaborator does not take this decision."""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    decision = decide_record(user, stay.patient, now)
    if not decision.allowed:
        return decision
    if decision.mode != Mode.CARE_TEAM or not _decides_secrets(user):
        return Decision.deny(
            "forbidden",
            _(
                "Le secret d'un séjour vis-à-vis des représentants légaux est décidé par un médecin ou une "
                "sage-femme de l'équipe de soins, à la demande du patient mineur."
            ),
        )
    if not is_minor(stay.patient, now):
        return Decision.deny(
            "conflict",
            _("Ce patient est majeur : le secret vis-à-vis des représentants légaux ne concerne que les mineurs."),
            status=409,
        )
    return decision


def opinion_expired_message() -> str:
    return _(
        "Cette demande d'avis a expiré sans réponse (ouverte depuis plus de %(days)s jours) ; "
        "le médecin qui l'a envoyée peut en adresser une nouvelle."
    ) % {"days": settings.OPINION_MAX_DAYS}


def reports_visible_in_record(user) -> Q:
    """Within a record the caller may read: signed reports, and the caller's own drafts."""
    return Q(status="signed") | Q(author=user)


# --- Representatives (issue 21; docs/domain.md, "Representatives") ----------------------------


def representations_in_force(now=None) -> QuerySet[Representation]:
    """Representations honoured now: started, not past their end, not ended (checked in SQL at every decision)."""
    return Representation.objects.in_force(now)


def representation_of(user, patient_ref, now=None) -> Representation | None:
    """`user`'s representation of the patient (a patient or its pk) in force now, or None. One query."""
    if not (user and user.is_authenticated) or user.role != Role.PATIENT:
        return None
    return representations_in_force(now).filter(representative=user, patient=patient_ref).first()


def represented_patients(user, now=None) -> QuerySet[Patient]:
    """The patients `user` acts for now (SQL)."""
    if not (user and user.is_authenticated) or user.role != Role.PATIENT:
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=representations_in_force(now).filter(representative=user).values("patient"))


def majority_date(patient: Patient):
    """The patient's 18th birthday (29 February: 1 March of a common year)."""
    born = patient.birth_date
    try:
        return born.replace(year=born.year + MAJORITY_AGE)
    except ValueError:
        return born.replace(year=born.year + MAJORITY_AGE, month=3, day=1)


def is_minor(patient: Patient, now=None) -> bool:
    today = timezone.localdate(now) if now else timezone.localdate()
    return today < majority_date(patient)


def decide_representation_record(user, patient: Patient, kind: str, now=None) -> Decision:
    """May `user` record a parent or guardian for `patient`? CHU staff at the desk, after checking identity."""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if not _is_staff_member(user):
        if user.role == Role.PATIENT:
            return Decision.deny("not_found", _("Patient introuvable."), status=404)
        return Decision.deny(
            "forbidden", _("Les représentants légaux sont enregistrés par le personnel du CHU (bureau des admissions).")
        )
    if kind == RepresentationKind.PARENT and not is_minor(patient, now):
        return Decision.deny(
            "conflict", _("Ce patient est majeur : l'autorité parentale ne s'exerce plus sur lui."), status=409
        )
    return Decision.allow(Mode.NONE)


def decide_trusted_naming(user, patient: Patient, now=None) -> Decision:
    """May `user` name (or revoke) a trusted representative for `patient`? The adult patient herself."""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if user.role != Role.PATIENT or patient.account_id != user.pk:
        return Decision.deny("not_found", _("Patient introuvable."), status=404)
    if is_minor(patient, now):
        return Decision.deny(
            "forbidden", _("Un patient mineur ne désigne pas de représentant : ses représentants légaux agissent.")
        )
    return Decision.allow(Mode.SELF)


def decide_representation_end(user, representation: Representation, now=None) -> Decision:
    """Ending a representation: CHU staff (a court decision, an error); the patient for her trusted representative;
    the representative herself for her own."""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if representation.ended_at is not None:
        return Decision.deny("conflict", _("Cette représentation a déjà pris fin."), status=409)
    if _is_staff_member(user):
        return Decision.allow(Mode.NONE)
    if representation.representative_id == user.pk:
        return Decision.allow(Mode.SELF)
    if representation.kind == RepresentationKind.TRUSTED and representation.patient.account_id == user.pk:
        return Decision.allow(Mode.SELF)
    return Decision.deny("not_found", _("Représentation introuvable."), status=404)


def decide_representations_list(user, patient: Patient) -> Decision:
    """Who lists a patient's representatives (no medical content): CHU staff at the desk, and the patient herself."""
    if not (user and user.is_authenticated):
        return Decision.deny("not_authenticated", _("Connexion requise."), status=401)
    if _is_staff_member(user):
        return Decision.allow(Mode.NONE)
    if user.role == Role.PATIENT and patient.account_id == user.pk:
        return Decision.allow(Mode.SELF)
    if user.role == Role.PATIENT:
        return Decision.deny("not_found", _("Patient introuvable."), status=404)
    return Decision.deny("forbidden", _("Les représentants d'un patient sont consultés par le personnel du CHU."))
