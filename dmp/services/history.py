"""The access history: every access by someone else to the patient's records, in plain words by day.

The patient reads the accesses to her two records (CSP L.1111-19, R.1111-43); a doctor with GP-level
rights reads those to her DMP only (the hospital record's traces are not his to read).
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Profession, ProfessionalProfile
from audit import services as audit
from audit.constants import Action, Mode, ObjectType, Outcome
from audit.models import AuditEvent

from .. import access
from ..constants import DmpAction
from ..models import AccessGrant
from .records import PAGE_SIZE, own_record, record_by_patient_id


@dataclass
class HistoryPage:
    events: list
    total: int
    page: int
    page_size: int
    days: list = dataclasses.field(default_factory=list)

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def access_history(*, actor, patient_id=None, page: int = 1, page_size: int = PAGE_SIZE) -> HistoryPage:
    """Every access by someone else to the patient's DMP (and, for her, hospital record): who, profession, when, what, mode."""
    record = record_by_patient_id(patient_id) if patient_id is not None else own_record(actor)
    decision = access.decide_history(actor, record)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=decision,
            patient_id=record.patient.public_id,
            object_type=ObjectType.AUDIT_EVENT,
            object_id=record.public_id,
        )
    patient_id = record.patient.public_id
    queryset = AuditEvent.objects.filter(patient_id=patient_id).exclude(actor_id=actor.public_id).order_by("-at", "-id")
    if decision.mode == Mode.GP:
        queryset = queryset.filter(object_type__startswith=ObjectType.DMP)
    page = max(page, 1)
    start = (page - 1) * page_size

    def load() -> tuple[list[AuditEvent], int, dict]:
        events = list(queryset[start : start + page_size])
        professions = dict(
            ProfessionalProfile.objects.filter(
                user__public_id__in={e.actor_id for e in events if e.actor_id}
            ).values_list("user__public_id", "profession")
        )
        return events, queryset.count(), professions

    events, total, professions = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=patient_id,
        object_type=ObjectType.AUDIT_EVENT,
        load=load,
        shown=lambda result: [e.public_id for e in result[0]],
    )
    labels = dict(Profession.choices)
    for event in events:
        event.profession_label = labels.get(professions.get(event.actor_id), "")
    # When each professional of the page was authorised (for "accès autorisé par vous le ...").
    granted_on = dict(  # ordered by start: the latest grant of each professional wins
        AccessGrant.objects.filter(
            record=record, professional__public_id__in={e.actor_id for e in events if e.actor_id}
        )
        .order_by("starts")
        .values_list("professional__public_id", "starts")
    )
    days = group(events, {e.actor_id: e.profession_label for e in events if e.actor_id}, granted_on)
    return HistoryPage(events, total, page, page_size, days)


# Modes that the patient must notice at a glance.
HIGHLIGHTED_MODES = {Mode.EMERGENCY, Mode.SAMU}


@dataclass
class HistoryEntry:
    who: str
    sentence: str
    how: str
    first: datetime.datetime
    last: datetime.datetime
    count: int
    highlight: bool
    denied: bool


@dataclass
class HistoryDay:
    day: datetime.date
    entries: list[HistoryEntry] = field(default_factory=list)


def _what(action: str, object_type: str, n: int, mode: str = Mode.NONE) -> str:
    is_dmp = object_type.startswith(ObjectType.DMP)
    if object_type == ObjectType.HOSPITAL_RECORD:
        if action in (Action.READ, Action.LIST):
            return _("a consulté votre dossier du CHU")
        return _("a agi sur votre dossier du CHU")
    if object_type == ObjectType.REPORT:
        return ngettext(
            "a lu %(n)s compte rendu de votre dossier du CHU", "a lu %(n)s comptes rendus de votre dossier du CHU", n
        ) % {"n": n}
    if is_dmp and action == Action.CREATE and mode == Mode.FEED:
        return ngettext(
            "a déposé %(n)s compte rendu dans votre DMP", "a déposé %(n)s comptes rendus dans votre DMP", n
        ) % {"n": n}
    if is_dmp and action == Action.CREATE:
        return ngettext("a ajouté %(n)s document à votre DMP", "a ajouté %(n)s documents à votre DMP", n) % {"n": n}
    if is_dmp and action == Action.LIST:
        return _("a consulté la liste de vos documents")
    if is_dmp and action in (Action.READ, DmpAction.DOWNLOAD):  # a file opened or downloaded: consulted
        return ngettext("a consulté %(n)s document de votre DMP", "a consulté %(n)s documents de votre DMP", n) % {
            "n": n
        }
    if action == Action.EMERGENCY_ACCESS:
        return _("a ouvert un accès d'urgence à votre dossier")
    simple = {
        DmpAction.CONSENT_REQUEST: _("a demandé l'accès à votre DMP"),
        DmpAction.GRANT: _("a enregistré votre autorisation d'accès à votre DMP"),
        DmpAction.REVOKE: _("a retiré une autorisation d'accès à votre DMP"),
        DmpAction.DESIGNATION_PROPOSE: _("a proposé un médecin traitant pour votre DMP"),
        DmpAction.DESIGNATION_ACCEPT: _("a accepté d'être votre médecin traitant pour le DMP"),
        DmpAction.DESIGNATION_DECLINE: _("a décliné la désignation comme médecin traitant"),
        DmpAction.DESIGNATION_END: _("a mis fin à une désignation de médecin traitant"),
        DmpAction.LOOKUP: _("a retrouvé votre DMP par votre INS et votre date de naissance"),
        DmpAction.MAKE_VISIBLE: _("a rendu un document visible pour vous"),
        DmpAction.DOWNLOAD: ngettext(
            "a téléchargé %(n)s document de votre DMP", "a téléchargé %(n)s documents de votre DMP", n
        )
        % {"n": n},
    }
    if action in simple:
        return simple[action]
    return _("%(action)s (%(object)s)") % {"action": action, "object": object_type or "—"}


def _how(mode: str, outcome: str, granted_on: datetime.datetime | None) -> str:
    if outcome == Outcome.DENIED:
        return _("accès refusé")
    if mode == Mode.CONSENT:
        if granted_on:
            return _("accès autorisé par vous le %(date)s") % {
                "date": timezone.localtime(granted_on).strftime("%d/%m/%Y")
            }
        return _("accès autorisé par vous")
    return {
        Mode.IN_PERSON_CONSENT: _("autorisation donnée en consultation"),
        Mode.GP: _("en tant que votre médecin traitant"),
        Mode.TEAM_CONSENT: _("équipe de soins que vous avez autorisée"),
        Mode.CARE_TEAM: _("équipe de soins du CHU"),
        Mode.OPINION_REQUEST: _("avis demandé par l'équipe qui vous soigne"),
        Mode.EMERGENCY: _("accès d'urgence (bris de glace)"),
        Mode.SAMU: _("régulation du SAMU"),
        Mode.FEED: _("envoi automatique du CHU"),
        Mode.AUTHOR: _("en tant qu'auteur du document"),
    }.get(mode, mode or "—")


def group(events, professions: dict, granted_on: dict) -> list[HistoryDay]:
    """Events newest first -> days newest first, each with one entry per (who, what, how)."""
    days: dict[datetime.date, dict[tuple, HistoryEntry]] = {}
    for event in events:
        day = timezone.localtime(event.at).date()
        key = (event.actor_id, event.actor_name, event.action, event.object_type, event.mode, event.outcome)
        entries = days.setdefault(day, {})
        entry = entries.get(key)
        if entry is None:
            profession = professions.get(event.actor_id, "")
            who = event.actor_name or _("Système (CHU)")
            if profession:
                who = f"{who}, {profession.lower()}"
            entry = entries[key] = HistoryEntry(
                who=who,
                sentence="",
                how=_how(event.mode, event.outcome, granted_on.get(event.actor_id)),
                first=event.at,
                last=event.at,
                count=0,
                highlight=event.mode in HIGHLIGHTED_MODES,
                denied=event.outcome == Outcome.DENIED,
            )
        entry.count += max(len(event.object_ids or []), 1) if event.action != Action.LIST else 1
        entry.first = min(entry.first, event.at)
        entry.last = max(entry.last, event.at)
    result = []
    for day, entries in days.items():
        for (_actor_id, _name, action, object_type, mode, _outcome), entry in entries.items():
            entry.sentence = _what(action, object_type, entry.count, mode)
        result.append(HistoryDay(day=day, entries=sorted(entries.values(), key=lambda e: e.last, reverse=True)))
    return sorted(result, key=lambda d: d.day, reverse=True)
