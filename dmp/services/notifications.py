"""The inbox: messages to patients and professionals (no medical content by e-mail), and who is told of what.

Rules (docs/domain.md, "Notifications"): the patient is told of each new document she sees, of the
first read of her DMP by each new professional, and of every emergency or SAMU access; the doctors
with GP-level rights are told of new documents and of every emergency or SAMU access (CSP R.1111-48).
Nobody blocked, and nobody about a closed DMP, is told anything; a message names a document only to
someone who may read it at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from audit.constants import Mode
from chu_portal.errors import AccessDenied, Decision
from chu_portal.ids import find_by_public_id
from records import access as records_access

from .. import access
from ..constants import NotificationKind, RecordStatus
from ..models import BlockedProfessional, Notification, SharedDocument, SharedRecord

PAGE_SIZE = 20
# Kinds about what happens in a DMP: never sent about a closed one.
ACTIVITY_KINDS = frozenset(
    {
        NotificationKind.NEW_DOCUMENT,
        NotificationKind.NEW_ACCESS,
        NotificationKind.EMERGENCY_ACCESS,
        NotificationKind.WITHDRAWAL,
    }
)


def _silenced(recipient: User, kind: str, record: SharedRecord | None, may_be_blocked: bool) -> bool:
    if record is None:
        return False
    if kind in ACTIVITY_KINDS and record.status == RecordStatus.CLOSED:
        return True
    if recipient.role == Role.PATIENT or not may_be_blocked:
        return False  # a patient is never blocked, nor a doctor while he holds GP-level rights
    return BlockedProfessional.objects.filter(record=record, professional=recipient).exists()


def notify(
    *,
    recipient: User,
    kind: str,
    message: str,
    record=None,
    document=None,
    email: bool = False,
    may_be_blocked: bool = True,
) -> Notification | None:
    """Put a message in the recipient's inbox; e-mail them after commit when they opted in (no medical content).

    Nothing is sent to a professional the patient blocked, nor about activity in a closed DMP."""
    if _silenced(recipient, kind, record, may_be_blocked):
        return None
    note = Notification.objects.create(
        recipient=recipient, kind=kind, message=message, record=record, document=document
    )
    if email and recipient.email:
        subject = _("CHU Portal : du nouveau dans votre espace")
        body = _("Vous avez une nouvelle notification dans votre espace CHU Portal. Connectez-vous pour la consulter.")
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email], fail_silently=True)
        )
    return note


def for_representative(record: SharedRecord, message: str) -> str:
    """A message about the patient, as her representative reads it: naming whom it is about ("votre DMP" is hers)."""
    return _("Pour %(name)s : %(what)s") % {"name": record.patient.display_name, "what": message}


def notify_patient(record: SharedRecord, kind: str, message: str, document=None) -> None:
    """Tell the patient, and each representative acting for her now (never about a document kept secret
    from them, CSP L.1111-5: the message goes to the patient alone)."""
    account = record.patient.account
    if account is not None:
        notify(
            recipient=account,
            kind=kind,
            message=message,
            record=record,
            document=document,
            email=record.notify_by_email,
        )
    if document is not None and document.secret_from_representatives:
        return
    if record.status == RecordStatus.OPPOSED:
        return
    for representative in User.objects.filter(
        pk__in=records_access.representations_in_force().filter(patient=record.patient_id).values("representative")
    ):
        notify(
            recipient=representative,
            kind=kind,
            message=for_representative(record, message),
            record=record,
            document=document,
        )


def gp_level_doctors(record: SharedRecord) -> list[User]:
    """The doctors holding GP-level rights on this DMP now."""
    return list(User.objects.filter(pk__in=access.gp_rights_holders(record).values("user_id")))


def notify_gp_level(record: SharedRecord, kind: str, message: str, *, exclude=None) -> None:
    """Tell every doctor with GP-level rights (R.1111-48 for emergency accesses)."""
    for doctor in gp_level_doctors(record):
        if doctor.pk != getattr(exclude, "pk", None):
            notify(recipient=doctor, kind=kind, message=message, record=record, may_be_blocked=False)


def notify_new_document(record: SharedRecord, document: SharedDocument, *, exclude=None) -> None:
    if document.visible_to_patient:
        notify_patient(
            record,
            NotificationKind.NEW_DOCUMENT,
            _("Nouveau document dans votre DMP : %(t)s") % {"t": document.title},
            document,
        )
    # Doctors with GP-level rights read every document of the DMP (L.1111-16): the message may name it.
    for doctor in gp_level_doctors(record):
        if doctor.pk == getattr(exclude, "pk", None):
            continue
        notify(
            recipient=doctor,
            kind=NotificationKind.NEW_DOCUMENT,
            message=_("Nouveau document pour votre patient(e) %(p)s : %(t)s")
            % {"p": record.patient.display_name, "t": document.title},
            record=record,
            document=document,
            may_be_blocked=False,
        )


def notify_new_documents(filed: list[tuple[SharedRecord, SharedDocument]]) -> list[Notification]:
    """notify_new_document for a batch of (record, document) filed by the feed's relay, with a bounded
    number of queries whatever the batch's size: the same recipients, messages and e-mails, in the
    same order, as calling notify_new_document for each pair."""
    if not filed:
        return []
    records = {record.pk: record for record, _ in filed}
    patient_ids = {record.patient_id for record in records.values()}
    representatives: dict[int, list[int]] = {}
    for patient_id, user_id in (
        records_access.representations_in_force()
        .filter(patient__in=patient_ids)
        .order_by("pk")
        .values_list("patient", "representative")
    ):
        representatives.setdefault(patient_id, []).append(user_id)
    doctors: dict[int, list[int]] = {}
    for record_id, user_id in (
        access.gp_rights_holders_in(list(records)).order_by("user_id").values_list("content_object_id", "user_id")
    ):
        doctors.setdefault(record_id, []).append(user_id)
    accounts = {record.pk: record.patient.account_id for record in records.values()}
    wanted = {pk for pk in accounts.values() if pk} | {u for us in representatives.values() for u in us}
    wanted |= {u for us in doctors.values() for u in us}
    users = User.objects.in_bulk(wanted)
    maybe_blocked = {
        pk for us in representatives.values() for pk in us if pk in users and users[pk].role != Role.PATIENT
    }
    blocked = (
        set(
            BlockedProfessional.objects.filter(record__in=list(records), professional__in=maybe_blocked).values_list(
                "record_id", "professional_id"
            )
        )
        if maybe_blocked
        else set()
    )

    notes: list[Notification] = []
    emails: list[str] = []

    def add(recipient, message, record, document, *, email=False, may_be_blocked=True):
        if recipient is None or (record.status == RecordStatus.CLOSED):  # NEW_DOCUMENT is an activity kind
            return
        if may_be_blocked and recipient.role != Role.PATIENT and (record.pk, recipient.pk) in blocked:
            return
        notes.append(
            Notification(
                recipient=recipient,
                kind=NotificationKind.NEW_DOCUMENT,
                message=message,
                record=record,
                document=document,
            )
        )
        if email and recipient.email:
            emails.append(recipient.email)

    for record, document in filed:
        if document.visible_to_patient:
            message = _("Nouveau document dans votre DMP : %(t)s") % {"t": document.title}
            add(users.get(accounts[record.pk]), message, record, document, email=record.notify_by_email)
            if not document.secret_from_representatives and record.status != RecordStatus.OPPOSED:
                for user_id in representatives.get(record.patient_id, ()):
                    add(users.get(user_id), for_representative(record, message), record, document)
        for user_id in doctors.get(record.pk, ()):
            message = _("Nouveau document pour votre patient(e) %(p)s : %(t)s") % {
                "p": record.patient.display_name,
                "t": document.title,
            }
            add(users.get(user_id), message, record, document, may_be_blocked=False)
    notes = Notification.objects.bulk_create(notes)
    if emails:
        subject = _("CHU Portal : du nouveau dans votre espace")
        body = _("Vous avez une nouvelle notification dans votre espace CHU Portal. Connectez-vous pour la consulter.")
        for address in emails:
            transaction.on_commit(
                lambda a=address: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [a], fail_silently=True)
            )
    return notes


# Reads that open the DMP (not the author's reading of his own document, nor the patient's own or her
# representative's: a representative is not a professional reader).
FIRST_READ_MODES = access.RECORD_READ_MODES - {Mode.SELF} - access.REPRESENTATIVE_MODES


def _first_read(record: SharedRecord, professional, mode: str) -> bool:
    """Insert the (record, professional) reader row unless present, in one statement; True when inserted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dmp_dmpreader (record_id, professional_id, first_read_at, first_mode) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (record_id, professional_id) DO NOTHING RETURNING id",
            [record.pk, professional.pk, connection.ops.adapt_datetimefield_value(timezone.now()), mode],
        )
        return cursor.fetchone() is not None


def note_reader(actor, record: SharedRecord, decision: Decision) -> None:
    """In the read's transaction: the first read of this DMP by a professional tells the patient (any mode)."""
    if not decision.allowed or decision.mode not in FIRST_READ_MODES:
        return
    if not _first_read(record, actor, decision.mode):
        return  # read before: the patient was told then
    notify_patient(
        record,
        NotificationKind.NEW_ACCESS,
        _("%(who)s a consulté votre DMP pour la première fois (%(how)s).")
        % {"who": actor.display_name, "how": mode_phrase(decision.mode)},
    )


def mode_phrase(mode: str) -> str:
    return {
        Mode.GP: _("en tant que médecin traitant"),
        Mode.CONSENT: _("avec votre autorisation"),
        Mode.IN_PERSON_CONSENT: _("avec l'autorisation donnée en consultation"),
        Mode.TEAM_CONSENT: _("au titre de l'équipe de soins que vous avez autorisée"),
        Mode.EMERGENCY: _("en accès d'urgence"),
        Mode.SAMU: _("par la régulation du SAMU"),
    }.get(mode, _("avec un accès au DMP"))


@dataclass
class NotificationPage:
    items: list[Notification]
    total: int
    unread: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def inbox(actor, patient_id=None):
    """The recipient's notifications in the space she chose (explicitly, never from a session inside the service).

    A patient account's own space: messages about nobody or about her own DMP; acting for a patient she
    represents now (`patient_id`): the messages about that patient's DMP; about anyone she no longer
    represents: none. A professional: all of hers (`patient_id` is ignored).
    """
    queryset = Notification.objects.filter(recipient=actor)
    if actor.role != Role.PATIENT:
        return queryset
    if patient_id is None:
        return queryset.filter(Q(record__isnull=True) | Q(record__patient__account=actor))
    represented = records_access.representations_in_force().filter(representative=actor).values("patient")
    return queryset.filter(record__patient__public_id=patient_id, record__patient__in=represented).exclude(
        document__secret_from_representatives=True
    )


def notifications_page(*, actor, page: int = 1, page_size: int = PAGE_SIZE, patient_id=None) -> NotificationPage:
    """The recipient's inbox, newest first, paginated (three queries whatever its length)."""
    if not (actor and actor.is_authenticated):
        raise AccessDenied(Decision.deny("not_authenticated", _("Connexion requise."), status=401))
    queryset = inbox(actor, patient_id)
    page = max(int(page), 1)
    start = (page - 1) * page_size
    items = list(queryset.select_related("document").order_by("-created_at", "-id")[start : start + page_size])
    return NotificationPage(items, queryset.count(), queryset.filter(read_at__isnull=True).count(), page, page_size)


def notifications_list(*, actor, limit: int = 100, patient_id=None) -> list[Notification]:
    return notifications_page(actor=actor, page=1, page_size=limit, patient_id=patient_id).items


def notifications_mark_read(*, actor, patient_id=None) -> int:
    return inbox(actor, patient_id).filter(read_at__isnull=True).update(read_at=timezone.now())


def notification_read(*, actor, notification_id) -> Notification:
    """Mark one of one's own notifications read (another's: 404)."""
    note = find_by_public_id(
        Notification.objects.filter(recipient=actor).exclude(
            Q(document__secret_from_representatives=True) & ~Q(record__patient__account=actor)
        ),
        notification_id,
    )
    if note is None:
        raise AccessDenied(Decision.deny("not_found", _("Notification introuvable."), status=404))
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
    return note
