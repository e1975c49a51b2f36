"""What became of each signed report after signing, for the hospital record page (records' `report_feed_states`).

Records never imports dmp: it sends `report_feed_states` while its record page is read, and the receiver
(dmp/feed/receivers.py) answers from here, in three queries whatever the number of reports.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access
from ..constants import DocumentStatus, FeedStatus
from ..models import FeedItem, SharedDocument, SharedRecord


class State:
    WAITING_IDENTITY = "waiting_identity"
    PENDING = "pending"
    SKIPPED = "skipped"
    FAILED = "failed"
    DELIVERED = "delivered"
    HELD = "held"
    RELEASED = "released"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class FeedState:
    code: str  # one of State
    label: str
    document_id: uuid.UUID | None = None
    held_since: datetime.datetime | None = None
    released_at: datetime.datetime | None = None
    may_release: bool = False  # the reader may release it (access.decide_release), shown as a button

    @property
    def held_days(self) -> int:
        return (timezone.now() - self.held_since).days if self.held_since else 0


def _document_state(document: SharedDocument) -> tuple[str, str]:
    if document.status == DocumentStatus.WITHDRAWN:
        return State.WITHDRAWN, _("Retiré du DMP")
    if document.held:
        return State.HELD, _("Déposé dans le DMP, non visible du patient (consultation d'annonce)")
    if document.released_at is not None:
        return State.RELEASED, _("Rendu visible du patient après la consultation d'annonce")
    return State.DELIVERED, _("Déposé dans le DMP")


def _item_state(item: FeedItem) -> tuple[str, str]:
    if item.status == FeedStatus.WAITING_IDENTITY:
        return State.WAITING_IDENTITY, _("En attente de l'identité qualifiée du patient")
    if item.status == FeedStatus.SKIPPED:
        return State.SKIPPED, _("Non envoyé au DMP (%(why)s)") % {"why": item.get_reason_display()}
    if item.status == FeedStatus.FAILED:
        return State.FAILED, _("Échec de l'envoi au DMP")
    return State.PENDING, _("Envoi au DMP en cours")


def feed_states(*, actor, reports) -> dict[int, FeedState]:
    """{report pk: FeedState} for signed reports of one patient; reports never offered to the feed are absent."""
    reports = list(reports)
    if not reports:
        return {}
    by_public_id = {r.public_id: r for r in reports}
    documents = {
        d.source_report_id: d
        for d in SharedDocument.objects.filter(source_report_id__in=list(by_public_id)).select_related("record")
    }
    items = {i.report_id: i for i in FeedItem.objects.filter(report_id__in=[r.pk for r in reports])}
    grounds: dict[int, dict] = {}
    states = {}
    for report in reports:
        document = documents.get(report.public_id)
        if document is not None:
            code, label = _document_state(document)
            may_release = False
            if code == State.HELD and actor is not None:
                record: SharedRecord = document.record
                if record.pk not in grounds:
                    grounds[record.pk] = access.release_grounds(actor, record)
                ground = grounds[record.pk]
                may_release = ground["refusal"] is None and access.release_mode(actor, document, ground) is not None
            states[report.pk] = FeedState(
                code,
                label,
                document.public_id,
                held_since=document.created_at if code == State.HELD else None,
                released_at=document.released_at,
                may_release=may_release,
            )
        elif report.pk in items:
            code, label = _item_state(items[report.pk])
            states[report.pk] = FeedState(code, label)
    return states
