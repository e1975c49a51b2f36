"""The access history: every access by someone else to the patient's records, in plain words by day.

The patient reads the accesses to her two records (CSP L.1111-19, R.1111-43); a doctor with GP-level
rights reads those to her DMP only (the hospital record's traces are not his to read).
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from django.db.models import Q

from accounts.models import Profession, ProfessionalProfile
from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from audit.models import AuditEvent
from records.models import Representation

from .. import access
from ..constants import DmpAction
from ..models import AccessGrant
from .history_wording import HIGHLIGHTED_MODES, HistoryDay, HistoryEntry, group  # noqa: F401  (re-exported)
from .records import PAGE_SIZE, own_record, record_by_patient_id

# The patient's own acts that her history shows (issue 19: every change of her DMP's status is in it).
OWN_ACTIONS_SHOWN = [
    DmpAction.DMP_OPPOSE,
    DmpAction.DMP_LIFT_OPPOSITION,
    DmpAction.DMP_CLOSE,
    DmpAction.DMP_REOPEN,
    DmpAction.DMP_DELETION_REQUEST,
    DmpAction.DMP_EXPORT,
]
# The steps of her requests for a copy of her hospital record are in her history too, hers included (issue 22):
# "Votre demande de copie du dossier du CHU a été reçue / validée / mise à disposition / téléchargée".
RECORD_REQUEST_TYPES = [ObjectType.RECORD_REQUEST, ObjectType.RECORD_BUNDLE]
OWN_RECORD_REQUEST_STEPS = Q(object_type__in=RECORD_REQUEST_TYPES, action__in=[Action.CREATE, DmpAction.DOWNLOAD])


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
    # Someone else's traces, and the patient's own changes of her DMP's life (closing, reopening...).
    queryset = (
        AuditEvent.objects.filter(patient_id=patient_id)
        .exclude(Q(actor_id=actor.public_id) & ~Q(action__in=OWN_ACTIONS_SHOWN) & ~OWN_RECORD_REQUEST_STEPS)
        # Reminding an author that a report waits for its announcement is no access to her data, and telling
        # her would announce it (docs/domain.md, "Held reports"); the DPO's console keeps it.
        .exclude(action=DmpAction.HOLD_REMINDER)
        .order_by("-at", "-id")
    )
    if decision.mode == Mode.GP:
        queryset = queryset.filter(object_type__startswith=ObjectType.DMP)
    if decision.mode in access.REPRESENTATIVE_MODES:
        # Her DMP's traces (none naming a secret document) and the steps of the requests for a copy of her
        # hospital record (a representative's copy never holds a secret stay; the traces name no stay).
        queryset = without_secret(
            queryset.filter(Q(object_type__startswith=ObjectType.DMP) | Q(object_type__in=RECORD_REQUEST_TYPES)),
            record,
        )
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
    # The documents the reader may see are named; the others are only counted.
    document_ids = {
        str(i) for e in events if e.object_type.startswith(ObjectType.DMP_DOCUMENT) for i in e.object_ids or []
    }
    document_ids |= {e.object_id for e in events if e.object_type.startswith(ObjectType.DMP_DOCUMENT) and e.object_id}
    titles = {
        str(public_id): title
        for public_id, title in access.documents_in(actor, record, decision.mode, include_superseded=True)
        .filter(public_id__in=[i for i in document_ids if _is_uuid(i)])
        .values_list("public_id", "title")
    }
    relations = {
        r.representative.public_id: r.relation_label
        for r in Representation.objects.filter(
            patient=record.patient_id, representative__public_id__in={e.actor_id for e in events if e.actor_id}
        ).select_related("representative")
    }
    days = group(events, {e.actor_id: e.profession_label for e in events if e.actor_id}, granted_on, titles, relations)
    return HistoryPage(events, total, page, page_size, days)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def without_secret(queryset, record):
    """The traces that say nothing of the documents kept secret from the representatives (CSP L.1111-5):
    none naming one, alone or in a list. One query for the ids, the filter in SQL."""
    secret = [str(i) for i in access.secret_document_ids(record).values_list("public_id", flat=True)]
    if not secret:
        return queryset
    naming = Q(object_id__in=secret)
    for document_id in secret:
        naming |= Q(object_ids__contains=[document_id])
    return queryset.exclude(naming)
