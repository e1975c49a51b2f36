"""Verbs of the hospital record: each decides, traces in the same transaction, then reads or changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, Unit, User
from audit import services as audit
from audit.constants import Action, Mode
from chu_portal.errors import Conflict, Decision, InvalidInput
from chu_portal.ids import find_by_public_id, get_by_public_id_or_404

from . import access, selectors
from .access import RecordAction
from .constants import InsStatus, ReportStatus, ReportType
from .models import (
    EmergencyAccess,
    HandoverNote,
    OpinionRequest,
    OpinionStatus,
    Patient,
    Report,
    Stay,
    StayMovement,
)
from .signals import identity_qualified, report_signed

SEARCH_LIMIT = 50


def _refuse(actor, action: Action, decision: Decision, *, patient: Patient | None, object_type: str, object_id=None):
    """Trace the refusal in its own committed transaction, then raise."""
    audit.refuse(
        actor=actor,
        action=action,
        decision=decision,
        patient_id=patient.public_id if patient else None,
        object_type=object_type,
        object_id=object_id,
    )


# --- Reads ------------------------------------------------------------------------------------


def patient_search(*, actor, query: str, page: int = 1, page_size: int = SEARCH_LIMIT) -> tuple[list[Patient], int]:
    """CHU staff search identities; one trace names the patients shown. Returns (page, total)."""
    decision = access.decide(actor, None, RecordAction.SEARCH)
    if not decision.allowed:
        _refuse(actor, Action.SEARCH, decision, patient=None, object_type="patient")
    found = selectors.patient_search_queryset(query)
    start = (max(page, 1) - 1) * page_size
    with transaction.atomic():
        total = found.count()
        patients = list(
            access.with_access_flags(found, actor).order_by("birth_name", "first_names", "birth_date", "pk")[
                start : start + page_size
            ]
        )
        audit.record(
            actor=actor,
            action=Action.SEARCH,
            mode=decision.mode,
            object_type="patient",
            object_ids=[p.public_id for p in patients],
        )
    return patients, total


def care_team_patients(*, actor, limit: int = 200) -> list[Patient]:
    """Patients whose record `actor` may read now (care team or emergency), newest stay first; traced."""
    decision = access.decide(actor, None, RecordAction.SEARCH)
    if not decision.allowed:
        _refuse(actor, Action.LIST, decision, patient=None, object_type="patient")
    with transaction.atomic():
        patients = list(selectors.patients_in_care(actor)[:limit])
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=decision.mode,
            object_type="patient",
            object_ids=[p.public_id for p in patients],
        )
    return patients


def patient_get(*, actor, patient_id: uuid.UUID | str) -> Patient:
    """A patient's identity (CHU staff); read, decided and traced in one transaction."""
    patient, _decision = audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type="patient_identity",
        load=lambda: _patient(patient_id),
        decide=lambda patient: access.decide(actor, patient, RecordAction.READ_IDENTITY),
        describe=lambda patient: (patient.public_id, patient.public_id),
    )
    return patient


@dataclass
class HospitalRecord:
    patient: Patient
    stays: list[Stay]
    decision: Decision

    @property
    def report_ids(self) -> list[uuid.UUID]:
        return [r.public_id for s in self.stays for r in s.reports.all()]


def record_open(*, actor, patient_id: uuid.UUID | str) -> HospitalRecord:
    """A patient's hospital record for `actor`: one trace naming every stay and report shown."""
    patient = _patient(patient_id)
    decision = access.decide(actor, patient, RecordAction.READ_RECORD)
    if not decision.allowed:
        _refuse(
            actor, Action.READ, decision, patient=patient, object_type="hospital_record", object_id=patient.public_id
        )
    with transaction.atomic():
        stays = list(selectors.record_stays(actor, patient))
        record = HospitalRecord(patient=patient, stays=stays, decision=decision)
        audit.record(
            actor=actor,
            action=Action.READ,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type="hospital_record",
            object_id=patient.public_id,
            object_ids=[s.public_id for s in stays] + record.report_ids,
        )
    return record


def _patient(patient_id) -> Patient:
    return get_by_public_id_or_404(Patient.objects, patient_id, _("Patient introuvable."))


def _report_for(actor, report_id) -> Report:
    return get_by_public_id_or_404(
        selectors.reports_with_state().select_related("stay__patient", "stay__unit"),
        report_id,
        _("Compte rendu introuvable."),
    )


def report_open(*, actor, report_id: uuid.UUID | str) -> tuple[Report, Decision]:
    """One report, read, decided and traced in one transaction; a refusal is traced after it."""
    return audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type="report",
        load=lambda: _report_for(actor, report_id),
        decide=lambda report: access.decide(actor, report, RecordAction.READ_REPORT),
        describe=lambda report: (report.stay.patient.public_id, report.public_id),
    )


def stay_for_writing(*, actor, stay_id: uuid.UUID | str) -> Stay:
    """The stay a new report is written for, if `actor` may write there (the form page); read,
    decided and traced in one transaction, a refusal traced after it."""
    stay, _decision = audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type="stay",
        load=lambda: get_by_public_id_or_404(
            Stay.objects.select_related("patient", "unit"), stay_id, _("Séjour introuvable.")
        ),
        decide=lambda stay: access.decide(actor, stay, RecordAction.WRITE_REPORT),
        describe=lambda stay: (stay.patient.public_id, stay.public_id),
    )
    return stay


# --- Changes ----------------------------------------------------------------------------------


def _clean_text(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if not title:
        errors["title"] = _("Le titre est obligatoire.")
    elif len(title) > 200:
        errors["title"] = _("Le titre ne doit pas dépasser 200 caractères.")
    if not body:
        errors["body"] = _("Le texte du compte rendu est obligatoire.")
    if errors:
        raise InvalidInput(" ".join(errors.values()), fields=errors)
    return title, body


def report_create_draft(*, actor, stay_id: uuid.UUID | str, type_code: str, title: str, body: str) -> Report:
    stay = find_by_public_id(Stay.objects.select_related("patient"), stay_id)
    if stay is None:
        raise InvalidInput(_("Séjour introuvable."), fields={"stay": _("Séjour introuvable.")})
    decision = access.decide(actor, stay, RecordAction.WRITE_REPORT)
    if not decision.allowed:
        _refuse(actor, Action.CREATE, decision, patient=stay.patient, object_type="report")
    if type_code not in ReportType.values:
        raise InvalidInput(_("Type de compte rendu inconnu."), fields={"type_code": _("Type de compte rendu inconnu.")})
    title, body = _clean_text(title, body)
    with transaction.atomic():
        report = Report.objects.create(stay=stay, type_code=type_code, title=title, body=body, author=actor)
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type="report",
            object_id=report.public_id,
        )
    return report


def report_update_draft(*, actor, report_id: uuid.UUID | str, title: str | None, body: str) -> Report:
    report = _report_for(actor, report_id)
    decision = access.decide(actor, report, RecordAction.SIGN_REPORT)  # same rule: the author, on a draft
    if not decision.allowed:
        _refuse(
            actor,
            Action.UPDATE,
            decision,
            patient=report.stay.patient,
            object_type="report",
            object_id=report.public_id,
        )
    title, body = _clean_text(title if title is not None else report.title, body)
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if locked.status != ReportStatus.DRAFT:
            raise Conflict(_("Ce compte rendu est déjà signé ; il ne peut plus être modifié."))
        locked.title, locked.body = title, body
        locked.save(update_fields=["title", "body"])
        audit.record(
            actor=actor,
            action=Action.UPDATE,
            mode=decision.mode,
            patient_id=report.stay.patient.public_id,
            object_type="report",
            object_id=report.public_id,
        )
    return locked


def report_sign(*, actor, report_id: uuid.UUID | str) -> Report:
    """Sign a draft: it becomes immutable and, in the same transaction, is offered to the feed."""
    report = _report_for(actor, report_id)
    decision = access.decide(actor, report, RecordAction.SIGN_REPORT)
    if not decision.allowed:
        _refuse(
            actor, Action.SIGN, decision, patient=report.stay.patient, object_type="report", object_id=report.public_id
        )
    with transaction.atomic():
        # What the receivers need (the feed renders the signed PDF) comes with the lock.
        locked = (
            Report.objects.select_for_update(of=("self",))
            .select_related("stay__patient", "stay__unit", "author__professional_profile")
            .get(pk=report.pk)
        )
        if locked.status != ReportStatus.DRAFT:
            raise Conflict(_("Ce compte rendu est déjà signé."))
        locked.status, locked.signed_at = ReportStatus.SIGNED, timezone.now()
        locked.save(update_fields=["status", "signed_at"])
        audit.record(
            actor=actor,
            action=Action.SIGN,
            mode=decision.mode,
            patient_id=report.stay.patient.public_id,
            object_type="report",
            object_id=report.public_id,
        )
        # Receivers (the DMP feed) write their outbox rows inside this transaction.
        report_signed.send(sender=Report, report=locked)
    return locked


def report_amend(*, actor, report_id: uuid.UUID | str, title: str | None, body: str) -> Report:
    """A correction of a signed report: a new draft version that replaces it once signed."""
    report = _report_for(actor, report_id)
    decision = access.decide(actor, report, RecordAction.AMEND_REPORT)
    if not decision.allowed:
        _refuse(
            actor, Action.AMEND, decision, patient=report.stay.patient, object_type="report", object_id=report.public_id
        )
    title, body = _clean_text(title if title is not None else report.title, body)
    with transaction.atomic():
        if Report.objects.select_for_update().filter(replaces=report).exists():
            raise Conflict(_("Ce compte rendu a déjà une version plus récente ; amendez celle-ci."))
        amendment = Report.objects.create(
            stay=report.stay,
            type_code=report.type_code,
            title=title,
            body=body,
            author=actor,
            version=report.version + 1,
            replaces=report,
        )
        audit.record(
            actor=actor,
            action=Action.AMEND,
            mode=decision.mode,
            patient_id=report.stay.patient.public_id,
            object_type="report",
            object_id=amendment.public_id,
            object_ids=[report.public_id],
        )
    return amendment


def emergency_access_grant(*, actor, patient_id: uuid.UUID | str, reason: str) -> EmergencyAccess:
    """Bris de glace: a written reason opens one patient's hospital record for a short window."""
    patient = _patient(patient_id)
    decision = access.decide(actor, patient, RecordAction.BREAK_GLASS)
    if not decision.allowed:
        if decision.code == "conflict":
            raise Conflict(decision.message)
        _refuse(
            actor,
            Action.EMERGENCY_ACCESS,
            decision,
            patient=patient,
            object_type="hospital_record",
            object_id=patient.public_id,
        )
    reason = " ".join((reason or "").split())
    if len(reason) < 10:
        raise InvalidInput(
            _("Indiquez le motif de l'accès d'urgence (10 caractères au moins)."),
            fields={"reason": _("Indiquez le motif de l'accès d'urgence (10 caractères au moins).")},
        )
    now = timezone.now()
    with transaction.atomic():
        grant = EmergencyAccess.objects.create(
            user=actor,
            patient=patient,
            reason=reason,
            starts=now,
            expires=now + timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
        )
        audit.record(
            actor=actor,
            action=Action.EMERGENCY_ACCESS,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type="hospital_record",
            object_id=patient.public_id,
            reason=reason,
        )
    return grant


def identity_qualify(*, actor, patient_id: uuid.UUID | str, document_checked: bool) -> Patient:
    """Identity vigilance: an INS retrieved plus an official ID document checked makes it qualified."""
    patient = _patient(patient_id)
    decision = access.decide(actor, patient, RecordAction.QUALIFY_IDENTITY)
    if not decision.allowed:
        _refuse(
            actor,
            Action.QUALIFY_IDENTITY,
            decision,
            patient=patient,
            object_type="patient_identity",
            object_id=patient.public_id,
        )
    if not document_checked:
        raise InvalidInput(
            _("La qualification exige la vérification d'une pièce d'identité officielle."),
            fields={"document_checked": _("Cochez la case après avoir vérifié la pièce d'identité.")},
        )
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        if locked.ins_status == InsStatus.QUALIFIED:
            raise Conflict(_("L'identité de ce patient est déjà qualifiée."))
        if locked.ins_status not in (InsStatus.RETRIEVED, InsStatus.VALIDATED) or not locked.nir:
            raise Conflict(_("L'INS doit d'abord être récupérée auprès du téléservice INSi."))
        locked.identity_document_checked = True
        locked.ins_status = InsStatus.QUALIFIED
        locked.identity_qualified_at = timezone.now()
        locked.save(update_fields=["identity_document_checked", "ins_status", "identity_qualified_at"])
        audit.record(
            actor=actor,
            action=Action.QUALIFY_IDENTITY,
            mode=decision.mode,
            patient_id=locked.public_id,
            object_type="patient_identity",
            object_id=locked.public_id,
        )
        # What waited for a qualified identity (the feed) goes once this commits.
        identity_qualified.send(sender=Patient, patient=locked)
    return locked


# --- Care across units: transfers, opinion requests, handover notes, discharge letters -------------


def _stay(stay_id) -> Stay:
    stay = find_by_public_id(Stay.objects.select_related("patient", "unit"), stay_id)
    if stay is None:
        raise InvalidInput(_("Séjour introuvable."), fields={"stay": _("Séjour introuvable.")})
    return stay


def _unit(code: str) -> Unit:
    unit = Unit.objects.filter(code=(code or "").strip().upper()).first()
    if unit is None:
        raise InvalidInput(_("Unité inconnue."), fields={"unit": _("Unité inconnue.")})
    return unit


def stay_transfer(*, actor, stay_id, unit_code: str, at=None) -> StayMovement:
    """Move a patient to another unit within the stay; that unit's team then reads the record."""
    stay = _stay(stay_id)
    decision = access.decide(actor, stay, RecordAction.TRANSFER)
    if not decision.allowed:
        _refuse(actor, Action.UPDATE, decision, patient=stay.patient, object_type="stay", object_id=stay.public_id)
    unit = _unit(unit_code)
    at = at or timezone.now()
    if stay.discharged_at is not None:
        raise Conflict(_("Ce séjour est terminé : le patient ne peut plus être transféré."))
    if at < stay.admitted_at:
        raise InvalidInput(_("Le transfert ne peut précéder l'admission."), fields={"at": _("Date invalide.")})
    with transaction.atomic():
        current = stay.movements.order_by("-at").values_list("unit_id", flat=True).first() or stay.unit_id
        if current == unit.pk:
            raise Conflict(_("Le patient est déjà dans cette unité."))
        movement = StayMovement.objects.create(stay=stay, unit=unit, at=at)
        audit.record(
            actor=actor,
            action="transfer",
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type="stay",
            object_id=stay.public_id,
            reason=unit.code,
        )
    return movement


def opinion_request_create(
    *, actor, stay_id, question: str, consulted_username: str = "", consulted_unit_code: str = ""
) -> OpinionRequest:
    """Demande d'avis: the consulted doctor (or unit's doctors) may then read the record until it ends."""
    stay = _stay(stay_id)
    decision = access.decide(actor, stay, RecordAction.REQUEST_OPINION)
    if not decision.allowed:
        _refuse(actor, "request_opinion", decision, patient=stay.patient, object_type="opinion_request")
    question = (question or "").strip()
    if len(question) < 10:
        raise InvalidInput(
            _("Formulez la question posée (10 caractères au moins)."), fields={"question": _("Question trop courte.")}
        )
    doctor, unit = None, None
    if consulted_username:
        doctor = User.objects.filter(
            username=consulted_username.strip(), role=Role.CHU_CLINICIAN, is_active=True
        ).first()
        if doctor is None:
            raise InvalidInput(_("Médecin du CHU introuvable."), fields={"consulted": _("Médecin introuvable.")})
        if doctor.pk == actor.pk:
            raise InvalidInput(
                _("On ne se demande pas un avis à soi-même."), fields={"consulted": _("Choisissez un confrère.")}
            )
    elif consulted_unit_code:
        unit = _unit(consulted_unit_code)
    else:
        raise InvalidInput(_("Choisissez le médecin ou l'unité consultés."), fields={"consulted": _("Obligatoire.")})
    with transaction.atomic():
        opinion = OpinionRequest.objects.create(
            patient=stay.patient,
            stay=stay,
            requested_by=actor,
            consulted_doctor=doctor,
            consulted_unit=unit,
            question=question,
        )
        audit.record(
            actor=actor,
            action="request_opinion",
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type="opinion_request",
            object_id=opinion.public_id,
        )
    return opinion


def _opinion(opinion_id) -> OpinionRequest:
    opinion = get_by_public_id_or_404(
        OpinionRequest.objects.select_related("patient", "stay", "requested_by", "consulted_doctor", "consulted_unit"),
        opinion_id,
        _("Demande d'avis introuvable."),
    )
    return opinion


def opinion_answer(*, actor, opinion_id, body: str, title: str = "") -> OpinionRequest:
    """The consulted doctor answers with a consultation note, signed, that joins the record."""
    opinion = _opinion(opinion_id)
    decision = access.decide(actor, opinion, RecordAction.ANSWER_OPINION)
    if not decision.allowed:
        if decision.code == "conflict":
            raise Conflict(decision.message)
        _refuse(
            actor,
            "answer_opinion",
            decision,
            patient=opinion.patient,
            object_type="opinion_request",
            object_id=opinion.public_id,
        )
    title, body = _clean_text(title or _("Avis — consultation"), body)
    with transaction.atomic():
        locked = OpinionRequest.objects.select_for_update().get(pk=opinion.pk)
        if locked.status != OpinionStatus.OPEN:
            raise Conflict(_("Cette demande d'avis est déjà close."))
        now = timezone.now()
        note = Report.objects.create(
            stay=opinion.stay,
            type_code=ReportType.CONSULTATION_REPORT,
            title=title,
            body=body,
            author=actor,
            status=ReportStatus.SIGNED,
            signed_at=now,
        )
        locked.status, locked.finished_at, locked.answered_by, locked.answer = OpinionStatus.ANSWERED, now, actor, note
        locked.save(update_fields=["status", "finished_at", "answered_by", "answer"])
        audit.record(
            actor=actor,
            action="answer_opinion",
            mode=decision.mode,
            patient_id=opinion.patient.public_id,
            object_type="opinion_request",
            object_id=opinion.public_id,
            object_ids=[note.public_id],
        )
        report_signed.send(sender=Report, report=note)
    return locked


def opinion_close(*, actor, opinion_id) -> OpinionRequest:
    """The requesting doctor closes a request left unanswered (the grace period then starts)."""
    opinion = _opinion(opinion_id)
    if opinion.requested_by_id != actor.pk:
        _refuse(
            actor,
            "close_opinion",
            Decision.deny("forbidden", _("Seul le médecin qui a demandé l'avis peut clore la demande.")),
            patient=opinion.patient,
            object_type="opinion_request",
            object_id=opinion.public_id,
        )
    with transaction.atomic():
        locked = OpinionRequest.objects.select_for_update().get(pk=opinion.pk)
        if locked.status != OpinionStatus.OPEN:
            raise Conflict(_("Cette demande d'avis est déjà close."))
        locked.status, locked.finished_at = OpinionStatus.CLOSED, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        audit.record(
            actor=actor,
            action="close_opinion",
            mode=Mode.CARE_TEAM,
            patient_id=opinion.patient.public_id,
            object_type="opinion_request",
            object_id=opinion.public_id,
        )
    return locked


def opinions_inbox(*, actor) -> tuple[list[OpinionRequest], list[OpinionRequest]]:
    """Requests addressed to the caller (open or in their grace period) and those the caller sent; traced."""
    if not actor.is_chu_staff:
        _refuse(
            actor,
            Action.LIST,
            Decision.deny("forbidden", _("Réservé aux médecins du CHU.")),
            patient=None,
            object_type="opinion_request",
        )
    related = (
        "patient",
        "stay__unit",
        "requested_by__professional_profile",
        "consulted_doctor",
        "consulted_unit",
        "answer",
    )
    with transaction.atomic():
        received = list(
            access.opinions_giving_access(actor).select_related(*related).order_by("status", "-created_at")[:100]
        )
        sent = list(
            OpinionRequest.objects.filter(requested_by=actor)
            .select_related(*related)
            .order_by("status", "-created_at")[:100]
        )
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=Mode.NONE,
            object_type="opinion_request",
            object_ids=[o.public_id for o in received + sent],
        )
    return received, sent


def handover_add(*, actor, stay_id, body: str) -> HandoverNote:
    """Transmissions: a note between teams, written under the care-team rule."""
    stay = _stay(stay_id)
    decision = access.decide(actor, stay, RecordAction.WRITE_HANDOVER)
    if not decision.allowed:
        _refuse(actor, Action.CREATE, decision, patient=stay.patient, object_type="handover_note")
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("La transmission est vide."), fields={"body": _("Obligatoire.")})
    if len(body) > 5000:
        raise InvalidInput(_("La transmission dépasse 5 000 caractères."), fields={"body": _("Trop long.")})
    units = Unit.objects.filter(staff__user=actor)
    unit = (
        units.filter(pk__in=[stay.unit_id, *stay.movements.values_list("unit_id", flat=True)]).first() or units.first()
    )
    with transaction.atomic():
        note = HandoverNote.objects.create(stay=stay, author=actor, unit=unit, body=body)
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=stay.patient.public_id,
            object_type="handover_note",
            object_id=note.public_id,
        )
    return note


def stays_missing_letter(*, actor) -> list[Stay]:
    """The caller's units' hospitalisations discharged without a signed discharge letter, oldest first; traced."""
    if not actor.is_chu_staff:
        _refuse(
            actor,
            Action.LIST,
            Decision.deny("forbidden", _("Réservé aux équipes du CHU.")),
            patient=None,
            object_type="stay",
        )
    with transaction.atomic():
        stays = list(selectors.stays_without_letter(Unit.objects.filter(staff__user=actor))[:500])
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=Mode.CARE_TEAM,
            object_type="stay",
            object_ids=[s.public_id for s in stays],
        )
    return stays
