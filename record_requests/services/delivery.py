"""The answer's reading: the requester downloads the copy, the named doctor reads his secure inbox and the copy sent.

Every download is decided (`access.decide_download`: the copy's one reader, once released, before it expires)
and traced in the transaction that hands out the file; the file is opened only after that commit (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, ObjectType
from chu_portal.errors import AccessDenied, Decision
from chu_portal.ids import find_by_public_id

from .. import access
from ..constants import RecordRequestAction
from ..models import RecordBundle, RecordRequest, SecureMessage
from . import notify

PAGE_SIZE = 20


def _bundle_of_request(request_id) -> RecordBundle:
    """The copy of a request; while none is made, an unsaved one (the decision then says "not ready" to its
    reader and "not found" to anyone else: nobody learns of a request through this door)."""
    request = find_by_public_id(
        RecordRequest.objects.select_related("patient__account", "requested_by", "named_doctor"), request_id
    )
    if request is None:
        raise AccessDenied(Decision.deny("not_found", _("Demande introuvable."), status=404))
    bundle = RecordBundle.objects.filter(request=request).first() or RecordBundle(request=request)
    bundle.request = request
    return bundle


def _describe(bundle: RecordBundle):
    return bundle.request.patient.public_id, bundle.public_id if bundle.pk else bundle.request.public_id


def _downloaded(actor, bundle: RecordBundle, decision: Decision) -> Decision:
    """Inside the download's transaction: the requester (and the adult patient) told that the copy was opened."""
    if decision.allowed:
        notify.tell(bundle.request, notify.DOWNLOADED, actor=actor)
    return decision


def _open(bundle: RecordBundle):
    return default_storage.open(bundle.file, "rb")


def bundle_download(*, actor, request_id, now=None):
    """The copy's PDF for its one reader: (bundle, open file). Decided and traced (action `download`) in one
    transaction; the file is opened after it commits."""
    bundle, _decision = audit.read_traced(
        actor=actor,
        action=RecordRequestAction.DOWNLOAD,
        object_type=ObjectType.RECORD_BUNDLE,
        load=lambda: _bundle_of_request(request_id),
        decide=lambda bundle: _downloaded(actor, bundle, access.decide_download(actor, bundle, now)),
        describe=_describe,
    )
    return bundle, _open(bundle)


@dataclass
class InboxPage:
    items: list[SecureMessage]
    total: int
    unread: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def inbox_page(*, actor, page: int = 1, page_size: int = PAGE_SIZE) -> InboxPage:
    """The doctor's secure inbox, newest first: one trace naming the messages shown; bounded queries."""
    decision = access.decide_inbox(actor)
    if not decision.allowed:
        audit.refuse(actor=actor, action=Action.LIST, decision=decision, object_type=ObjectType.SECURE_MESSAGE)
    queryset = access.inbox_of(actor).select_related("bundle__request__patient").order_by("-sent_at", "-id")
    page = max(int(page), 1)
    start = (page - 1) * page_size

    def load():
        items = list(queryset[start : start + page_size])
        return items, queryset.count(), queryset.filter(read_at__isnull=True).count()

    items, total, unread = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        object_type=ObjectType.SECURE_MESSAGE,
        load=load,
        shown=lambda result: [m.public_id for m in result[0]],
    )
    return InboxPage(items, total, unread, page, page_size)


def _message(message_id) -> SecureMessage:
    message = find_by_public_id(
        SecureMessage.objects.select_related("bundle__request__patient__account", "bundle__request__requested_by"),
        message_id,
    )
    if message is None:
        raise AccessDenied(Decision.deny("not_found", _("Message introuvable."), status=404))
    return message


def _patient_of(message: SecureMessage):
    return message.bundle.request.patient.public_id if message.bundle_id else None


def _read_now(message: SecureMessage, decision: Decision) -> Decision:
    """Inside the read's transaction: the message marked read on its first opening."""
    if decision.allowed and message.read_at is None:
        message.read_at = timezone.now()
        SecureMessage.objects.filter(pk=message.pk).update(read_at=message.read_at)
    return decision


def message_open(*, actor, message_id) -> SecureMessage:
    """One message of the doctor's own inbox (anyone else's: not found), marked read, traced."""
    message, _decision = audit.read_traced(
        actor=actor,
        action=Action.READ,
        object_type=ObjectType.SECURE_MESSAGE,
        load=lambda: _message(message_id),
        decide=lambda message: _read_now(message, access.decide_message(actor, message)),
        describe=lambda message: (_patient_of(message), message.public_id),
    )
    return message


def _message_bundle(actor, message: SecureMessage, now) -> Decision:
    decision = access.decide_message(actor, message)
    if not decision.allowed:
        return decision
    if message.bundle_id is None:
        return Decision.deny("not_found", _("Ce message ne contient pas de copie de dossier."), status=404)
    decision = access.decide_download(actor, message.bundle, now)
    _read_now(message, decision)
    return _downloaded(actor, message.bundle, decision)


def message_bundle_download(*, actor, message_id, now=None):
    """The copy attached to a message of the doctor's own inbox: (bundle, open file); decided, traced
    (action `download` of the copy), the requester told; the file opened after the commit."""
    message, _decision = audit.read_traced(
        actor=actor,
        action=RecordRequestAction.DOWNLOAD,
        object_type=ObjectType.RECORD_BUNDLE,
        load=lambda: _message(message_id),
        decide=lambda message: _message_bundle(actor, message, now),
        describe=lambda message: (
            _patient_of(message),
            message.bundle.public_id if message.bundle_id else message.public_id,
        ),
    )
    return message.bundle, _open(message.bundle)
