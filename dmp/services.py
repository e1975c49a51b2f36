"""Verbs of the DMP: each decides (dmp/access.py), traces in the same transaction, then reads or changes."""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import PROFESSIONAL_ROLES, ProfessionalProfile, Role, User
from audit import services as audit
from audit.constants import Action, Mode
from audit.models import AuditEvent
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput, NotFound, ServiceError
from chu_portal.ids import find_by_public_id, get_by_public_id_or_404
from records.models import Patient, Report

from . import access, files
from .access import DocAction
from .constants import (
    PATIENT_UPLOAD_TYPES,
    DmpAction,
    DocumentClass,
    DocumentSource,
    DocumentStatus,
    DocumentType,
    GrantSource,
    NotificationKind,
    ProfileKind,
    RecordStatus,
)
from .models import (
    AccessGrant,
    ActivationCode,
    BlockedProfessional,
    MedicalProfileEntry,
    Notification,
    SharedDocument,
    SharedRecord,
)

GUARDIAN_PERMISSION = "dmp.view_sharedrecord"
PAGE_SIZE = 50


# --- Helpers ----------------------------------------------------------------------------------


def _refuse(actor, action, decision: Decision, **where):
    """Trace the refusal in its own committed transaction, then raise (audit.services.refuse)."""
    audit.refuse(actor=actor, action=action, decision=decision, **where)


def shared_record_for(patient: Patient) -> SharedRecord:
    """The patient's DMP, created on first use (active, emergency and SAMU access allowed)."""
    record, _created = SharedRecord.objects.get_or_create(patient=patient)
    record.patient = patient
    return record


def _record(patient_id) -> SharedRecord:
    return shared_record_for(get_by_public_id_or_404(Patient.objects, patient_id, _("Patient introuvable.")))


def _document(document_id) -> SharedDocument:
    document = find_by_public_id(
        SharedDocument.objects.select_related("record__patient", "author__professional_profile"), document_id
    )
    if document is None:
        raise AccessDenied(access.NOT_FOUND_DOCUMENT)
    return document


def own_record(user) -> SharedRecord:
    """The signed-in patient's own DMP."""
    patient = Patient.objects.filter(account=user).first() if getattr(user, "is_authenticated", False) else None
    if patient is None:
        raise AccessDenied(Decision.deny("not_found", _("Aucun dossier n'est rattaché à ce compte."), status=404))
    return shared_record_for(patient)


# --- Notifications ----------------------------------------------------------------------------


def notify(
    *, recipient: User, kind: str, message: str, record=None, document=None, email: bool = False
) -> Notification:
    """Put a message in the recipient's inbox; e-mail them after commit when they opted in (no medical content)."""
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


def _notify_patient(record: SharedRecord, kind: str, message: str, document=None) -> None:
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


def notifications_list(*, actor, limit: int = 100) -> list[Notification]:
    return list(Notification.objects.filter(recipient=actor).select_related("document")[:limit])


def notifications_mark_read(*, actor) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


# --- Reading documents ------------------------------------------------------------------------


@dataclass
class DocumentPage:
    record: SharedRecord
    decision: Decision
    documents: list[SharedDocument]
    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def _parse_date(value) -> datetime.date | None:
    if not value:
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(_("Date invalide (AAAA-MM-JJ attendu)."), fields={"date": _("Date invalide.")}) from exc


def documents_list(
    *,
    actor,
    patient_id=None,
    record: SharedRecord | None = None,
    type_code: str | None = None,
    source: str | None = None,
    since=None,
    until=None,
    include_superseded: bool = False,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> DocumentPage:
    """The documents of a DMP that `actor` may see, filtered and paginated; one trace names the ids shown."""
    record = record or _record(patient_id)
    decision = access.record_decision(actor, record)
    if not decision.allowed:
        _refuse(
            actor,
            Action.LIST,
            decision,
            patient_id=record.patient.public_id,
            object_type="dmp",
            object_id=record.patient.public_id,
        )
    if type_code and type_code not in DocumentType.values:
        raise InvalidInput(_("Type de document inconnu."), fields={"type_code": _("Type inconnu.")})
    if source and source not in DocumentSource.values:
        raise InvalidInput(_("Origine inconnue."), fields={"source": _("Origine inconnue.")})
    since, until = _parse_date(since), _parse_date(until)
    queryset = access.documents_in(actor, record, decision.mode, include_superseded=include_superseded)
    if type_code:
        queryset = queryset.filter(type_code=type_code)
    if source:
        queryset = queryset.filter(source=source)
    if since:
        queryset = queryset.filter(Q(event_date__gte=since) | Q(event_date__isnull=True, created_at__date__gte=since))
    if until:
        queryset = queryset.filter(Q(event_date__lte=until) | Q(event_date__isnull=True, created_at__date__lte=until))
    page = max(page, 1)
    start = (page - 1) * page_size
    with transaction.atomic():
        total = queryset.count()
        documents = list(queryset.order_by("-created_at", "-id")[start : start + page_size])
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_document",
            object_ids=[d.public_id for d in documents],
        )
    return DocumentPage(record, decision, documents, total, page, page_size)


def document_open(*, actor, document_id) -> tuple[SharedDocument, Decision]:
    """A document's metadata, read, decided and traced in one transaction."""
    return _document_traced(actor, document_id, Action.READ, "dmp_document")


def _document_traced(actor, document_id, action, object_type: str) -> tuple[SharedDocument, Decision]:
    return audit.read_traced(
        actor=actor,
        action=action,
        object_type=object_type,
        load=lambda: _document(document_id),
        decide=lambda document: access.decide_document(actor, document, DocAction.READ),
        describe=lambda document: (document.record.patient.public_id, document.public_id),
    )


def document_content(*, actor, document_id, download: bool = False):
    """The file of a document, opened for reading once the decision and its trace committed (fail closed)."""
    action = DmpAction.DOWNLOAD if download else Action.READ
    document, _decision = _document_traced(actor, document_id, action, "dmp_document_content")
    return document, document.file.open("rb")


# --- Adding documents -------------------------------------------------------------------------


def _store(content, extension: str) -> str:
    name = f"dmp/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{extension}"
    return default_storage.save(name, content)


def document_upload(
    *,
    actor,
    patient_id=None,
    record: SharedRecord | None = None,
    uploaded,
    filename: str | None = None,
    title: str,
    type_code: str | None = None,
    event_date=None,
    visible_to_patient: bool = True,
) -> SharedDocument:
    """A patient's upload (class 90) or a professional's document; checked by content, stored under a random name."""
    record = record or _record(patient_id)
    decision = access.decide_add(actor, record)
    patient_id = record.patient.public_id
    if not decision.allowed:
        _refuse(actor, Action.CREATE, decision, patient_id=patient_id, object_type="dmp_document")
    is_patient = decision.mode == Mode.SELF
    title = " ".join((title or "").split())
    errors = {}
    if not title:
        errors["title"] = _("Le titre est obligatoire.")
    elif len(title) > 200:
        errors["title"] = _("Le titre ne doit pas dépasser 200 caractères.")
    if is_patient:
        type_code = type_code or DocumentType.OTHER
        if type_code not in PATIENT_UPLOAD_TYPES:
            errors["type_code"] = _("Type de document non proposé pour vos dépôts.")
    elif type_code not in DocumentType.values:
        errors["type_code"] = _("Type de document inconnu.")
    if errors:
        raise InvalidInput(" ".join(errors.values()), fields=errors)
    event_date = _parse_date(event_date)
    original = files.clean_filename(filename if filename is not None else getattr(uploaded, "name", ""))
    inspected = files.inspect(uploaded)
    stored = _store(ContentFile(inspected.clean) if inspected.clean is not None else uploaded, inspected.extension)
    try:
        with transaction.atomic():
            document = SharedDocument.objects.create(
                record=record,
                title=title,
                type_code=type_code,
                class_code=DocumentClass.PATIENT_EXPRESSION if is_patient else _class_for(type_code),
                source=DocumentSource.PATIENT if is_patient else DocumentSource.PROFESSIONAL,
                author=actor,
                event_date=event_date,
                file=stored,
                original_filename=original,
                mime_type=inspected.mime_type,
                size=inspected.size,
                sha256=inspected.sha256,
                visible_to_patient=True if is_patient else bool(visible_to_patient),
            )
            audit.record(
                actor=actor,
                action=Action.CREATE,
                mode=decision.mode,
                patient_id=patient_id,
                object_type="dmp_document",
                object_id=document.public_id,
            )
            if not is_patient:
                _notify_new_document(record, document, exclude=actor)
    except BaseException:
        default_storage.delete(stored)  # nothing stays in storage when the row is not written
        raise
    return document


def _class_for(type_code: str) -> str:
    return DocumentClass.PRESCRIPTION if type_code == DocumentType.PRESCRIPTION else DocumentClass.REPORT


def _notify_new_document(record: SharedRecord, document: SharedDocument, *, exclude=None) -> None:
    if document.visible_to_patient:
        _notify_patient(
            record,
            NotificationKind.NEW_DOCUMENT,
            _("Nouveau document dans votre DMP : %(t)s") % {"t": document.title},
            document,
        )
    if record.gp_id and record.gp_id != getattr(exclude, "pk", None):
        notify(
            recipient=record.gp,
            kind=NotificationKind.NEW_DOCUMENT,
            message=_("Nouveau document pour votre patient(e) %(p)s : %(t)s")
            % {"p": record.patient.display_name, "t": document.title},
            record=record,
            document=document,
        )


def chu_document_file(*, report: Report, content: bytes | None = None) -> SharedDocument:
    """File a signed CHU report in the patient's DMP (source `chu`, mode `feed`); idempotent per report version.

    The seam the demo seed and the tests call; the automatic feed (dmp.feed) calls
    chu_document_create under its outbox row's lock. A new version supersedes the previous one's.
    """
    existing = SharedDocument.objects.filter(source_report_id=report.public_id).first()
    if existing is not None:
        return existing
    record = shared_record_for(report.stay.patient)
    try:
        with transaction.atomic():
            return chu_document_create(report=report, record=record, content=content)
    except IntegrityError:
        return SharedDocument.objects.get(source_report_id=report.public_id)  # a concurrent filing won


def chu_document_create(*, report: Report, record: SharedRecord, content: bytes | None = None) -> SharedDocument:
    """Create the DMP document of a signed report that has none yet, its trace and notifications.

    Runs inside the caller's transaction (the feed's delivery, or chu_document_file's savepoint):
    the unique `source_report_id` refuses a second document for the same version, and the stored
    file is removed again if the transaction does not get past this function.
    `content` is the PDF rendered at signing; without it the report is rendered now.
    """
    from .pdf import render_report_pdf

    if not report.is_signed:
        raise Conflict(_("Seul un compte rendu signé alimente le DMP."))
    if record.status != RecordStatus.ACTIVE:
        code = "dmp_opposed" if record.status == RecordStatus.OPPOSED else "dmp_closed"
        raise ServiceError(_("Le DMP de ce patient n'est pas alimenté."), code=code, status=409)
    content = bytes(content) if content is not None else render_report_pdf(report)
    described = files.describe_rendered_pdf(content)
    stored = _store(ContentFile(content), described.extension)
    try:
        previous = None
        if report.replaces_id:
            previous = (
                SharedDocument.objects.select_for_update()
                .filter(source_report_id=Subquery(Report.objects.filter(pk=report.replaces_id).values("public_id")[:1]))
                .first()
            )
        document = SharedDocument.objects.create(
            record=record,
            title=report.title,
            type_code=report.type_code,
            class_code=DocumentClass.REPORT,
            source=DocumentSource.CHU,
            author_id=report.author_id,
            event_date=timezone.localdate(report.signed_at),
            file=stored,
            original_filename=f"{report.title}.pdf",
            mime_type=described.mime_type,
            size=described.size,
            sha256=described.sha256,
            replaces=previous,
            source_report_id=report.public_id,
            masked=previous.masked if previous else False,
        )
        if previous is not None:
            previous.status = DocumentStatus.SUPERSEDED
            previous.save(update_fields=["status"])
        audit.record(
            actor=None,
            action=Action.CREATE,
            mode=Mode.FEED,
            patient_id=record.patient.public_id,
            object_type="dmp_document",
            object_id=document.public_id,
            object_ids=[previous.public_id] if previous else [],
        )
        _notify_new_document(record, document)
    except BaseException:
        default_storage.delete(stored)
        raise
    return document


# --- Changing documents -----------------------------------------------------------------------


def _change_document(*, actor, document_id, doc_action: DocAction, trace_action, apply) -> SharedDocument:
    document = _document(document_id)
    decision = access.decide_document(actor, document, doc_action)
    patient_id = document.record.patient.public_id
    if not decision.allowed:
        _refuse(
            actor,
            trace_action,
            decision,
            patient_id=patient_id,
            object_type="dmp_document",
            object_id=document.public_id,
        )
    with transaction.atomic():
        locked = SharedDocument.objects.select_for_update().get(pk=document.pk)
        fields = apply(locked)
        if fields:
            locked.save(update_fields=fields)
        audit.record(
            actor=actor,
            action=trace_action,
            mode=decision.mode,
            patient_id=patient_id,
            object_type="dmp_document",
            object_id=document.public_id,
        )
    locked.record = document.record
    locked.author = document.author
    return locked


def document_mask(*, actor, document_id) -> SharedDocument:
    """The patient hides a document from professionals (the GP and the author still see it)."""

    def apply(doc):
        if not doc.visible_to_patient:
            raise Conflict(_("Un document invisible du patient ne peut pas être masqué."))
        doc.masked = True
        return ["masked"]

    return _change_document(
        actor=actor, document_id=document_id, doc_action=DocAction.MASK, trace_action=DmpAction.MASK, apply=apply
    )


def document_unmask(*, actor, document_id) -> SharedDocument:
    def apply(doc):
        doc.masked = False
        return ["masked"]

    return _change_document(
        actor=actor, document_id=document_id, doc_action=DocAction.MASK, trace_action=DmpAction.UNMASK, apply=apply
    )


def document_delete(*, actor, document_id) -> SharedDocument:
    """The patient deletes their own upload (soft delete: the row and file stay, hidden from everyone)."""

    def apply(doc):
        doc.deleted_at = timezone.now()
        return ["deleted_at"]

    return _change_document(
        actor=actor, document_id=document_id, doc_action=DocAction.DELETE, trace_action=DmpAction.DELETE, apply=apply
    )


def document_make_visible(*, actor, document_id) -> SharedDocument:
    """A professional lifts "invisible to the patient" (e.g. after the announcement consultation)."""

    def apply(doc):
        if doc.visible_to_patient:
            raise Conflict(_("Ce document est déjà visible du patient."))
        doc.visible_to_patient = True
        return ["visible_to_patient"]

    document = _change_document(
        actor=actor,
        document_id=document_id,
        doc_action=DocAction.MAKE_VISIBLE,
        trace_action=DmpAction.MAKE_VISIBLE,
        apply=apply,
    )
    with transaction.atomic():
        _notify_patient(
            document.record,
            NotificationKind.NEW_DOCUMENT,
            _("Nouveau document dans votre DMP : %(t)s") % {"t": document.title},
            document,
        )
    return document


# --- The patient's settings -------------------------------------------------------------------


def _managed_record(actor, patient_id, action, object_type) -> tuple[SharedRecord, Decision]:
    record = _record(patient_id) if patient_id is not None else own_record(actor)
    decision = access.decide_manage(actor, record)
    if not decision.allowed:
        _refuse(
            actor,
            action,
            decision,
            patient_id=record.patient.public_id,
            object_type=object_type,
            object_id=record.public_id,
        )
    return record, decision


def record_settings_get(*, actor, patient_id=None) -> SharedRecord:
    record, decision = _managed_record(actor, patient_id, Action.READ, "dmp_settings")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=Action.READ,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_settings",
            object_id=record.public_id,
        )
    return SharedRecord.objects.select_related("gp__professional_profile", "patient").get(pk=record.pk)


def professional_by_rpps(rpps: str) -> User:
    rpps = "".join((rpps or "").split())
    profile = ProfessionalProfile.objects.select_related("user").filter(rpps=rpps).first()
    if profile is None or profile.user.role not in PROFESSIONAL_ROLES:
        raise InvalidInput(
            _("Aucun professionnel de santé ne porte ce numéro RPPS."), fields={"rpps": _("RPPS inconnu.")}
        )
    return profile.user


SETTINGS_FIELDS = ("status", "emergency_access_allowed", "samu_access_allowed", "gp", "notify_by_email")


def record_settings_update(*, actor, patient_id=None, **changes) -> SharedRecord:
    """The patient changes their DMP's settings (GP by RPPS or None, status, emergency, SAMU, e-mails); traced."""
    record, decision = _managed_record(actor, patient_id, DmpAction.SETTINGS, "dmp_settings")
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(_("Paramètre inconnu : %(f)s") % {"f": ", ".join(sorted(unknown))})
    if "status" in changes and changes["status"] not in RecordStatus.values:
        raise InvalidInput(_("Statut inconnu."), fields={"status": _("Statut inconnu.")})
    gp_user = None
    if "gp" in changes and changes["gp"]:
        gp_user = professional_by_rpps(changes["gp"])
        if gp_user.professional.profession != "medecin":
            raise InvalidInput(_("Le médecin traitant doit être un médecin."), fields={"gp": _("Pas un médecin.")})
    with transaction.atomic():
        locked = SharedRecord.objects.select_for_update().select_related("patient").get(pk=record.pk)
        changed = []
        for field in ("emergency_access_allowed", "samu_access_allowed", "notify_by_email"):
            if field in changes and bool(changes[field]) != getattr(locked, field):
                setattr(locked, field, bool(changes[field]))
                changed.append(field)
        if "status" in changes and changes["status"] != locked.status:
            locked.status = changes["status"]
            locked.status_changed_at = timezone.now()
            changed += ["status", "status_changed_at"]
        if "gp" in changes and (gp_user.pk if gp_user else None) != locked.gp_id:
            locked.gp = gp_user
            changed.append("gp")
        if changed:
            locked.save(update_fields=changed)
        audit.record(
            actor=actor,
            action=DmpAction.SETTINGS,
            mode=decision.mode,
            patient_id=locked.patient.public_id,
            object_type="dmp_settings",
            object_id=locked.public_id,
            reason=",".join(f for f in changed if f != "status_changed_at"),
        )
    return SharedRecord.objects.select_related("gp__professional_profile", "patient").get(pk=record.pk)


def blocked_list(*, actor, patient_id=None) -> list[BlockedProfessional]:
    record, decision = _managed_record(actor, patient_id, Action.LIST, "dmp_blocked")
    with transaction.atomic():
        rows = list(record.blocked.select_related("professional__professional_profile").order_by("-created_at"))
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_blocked",
            object_ids=[b.professional.public_id for b in rows],
        )
    return rows


def professional_block(*, actor, patient_id=None, rpps: str) -> BlockedProfessional:
    """The patient blocks a professional: they see nothing of the DMP, grant or emergency notwithstanding."""
    record, decision = _managed_record(actor, patient_id, DmpAction.BLOCK, "dmp_blocked")
    professional = professional_by_rpps(rpps)
    with transaction.atomic():
        block, _created = BlockedProfessional.objects.get_or_create(record=record, professional=professional)
        audit.record(
            actor=actor,
            action=DmpAction.BLOCK,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_blocked",
            object_id=professional.public_id,
        )
    return block


def professional_unblock(*, actor, patient_id=None, rpps: str) -> None:
    record, decision = _managed_record(actor, patient_id, DmpAction.UNBLOCK, "dmp_blocked")
    professional = professional_by_rpps(rpps)
    with transaction.atomic():
        deleted, _rows = BlockedProfessional.objects.filter(record=record, professional=professional).delete()
        if not deleted:
            raise AccessDenied(Decision.deny("not_found", _("Ce professionnel n'est pas bloqué."), status=404))
        audit.record(
            actor=actor,
            action=DmpAction.UNBLOCK,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_blocked",
            object_id=professional.public_id,
        )


# --- The medical profile ----------------------------------------------------------------------


def profile_list(*, actor, patient_id=None) -> tuple[SharedRecord, list[MedicalProfileEntry]]:
    """Profile entries: the patient, and professionals who read the DMP (not an author-only access)."""
    record = _record(patient_id) if patient_id is not None else own_record(actor)
    decision = access.record_decision(actor, record)
    if decision.allowed and decision.mode not in access.RECORD_READ_MODES:
        decision = Decision.deny("forbidden", _("Le profil médical n'est visible qu'avec un accès au DMP."))
    if not decision.allowed:
        _refuse(actor, Action.LIST, decision, patient_id=record.patient.public_id, object_type="dmp_profile")
    with transaction.atomic():
        entries = list(record.profile_entries.filter(deleted_at__isnull=True))
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_profile",
            object_ids=[e.public_id for e in entries],
        )
    return record, entries


def profile_add(*, actor, patient_id=None, kind: str, label: str, date=None, note: str = "") -> MedicalProfileEntry:
    record, decision = _managed_record(actor, patient_id, Action.CREATE, "dmp_profile")
    label = " ".join((label or "").split())
    errors = {}
    if kind not in ProfileKind.values:
        errors["kind"] = _("Catégorie inconnue.")
    if not label:
        errors["label"] = _("Le libellé est obligatoire.")
    elif len(label) > 200:
        errors["label"] = _("Le libellé ne doit pas dépasser 200 caractères.")
    if errors:
        raise InvalidInput(" ".join(errors.values()), fields=errors)
    date = _parse_date(date)
    with transaction.atomic():
        entry = MedicalProfileEntry.objects.create(
            record=record, kind=kind, label=label, date=date, note=(note or "").strip()
        )
        audit.record(
            actor=actor,
            action=Action.CREATE,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_profile",
            object_id=entry.public_id,
        )
    return entry


def profile_delete(*, actor, entry_id) -> None:
    entry = get_by_public_id_or_404(
        MedicalProfileEntry.objects.select_related("record__patient").filter(deleted_at__isnull=True),
        entry_id,
        _("Élément introuvable."),
    )
    decision = access.decide_manage(actor, entry.record)
    if not decision.allowed:
        _refuse(
            actor,
            DmpAction.DELETE,
            Decision.deny("not_found", _("Élément introuvable."), status=404),
            patient_id=entry.record.patient.public_id,
            object_type="dmp_profile",
            object_id=entry.public_id,
        )
    with transaction.atomic():
        MedicalProfileEntry.objects.filter(pk=entry.pk).update(deleted_at=timezone.now())
        audit.record(
            actor=actor,
            action=DmpAction.DELETE,
            mode=decision.mode,
            patient_id=entry.record.patient.public_id,
            object_type="dmp_profile",
            object_id=entry.public_id,
        )


# --- Grants (the consent services' seam) -----------------------------------------------------


def grant_create(
    *,
    actor,
    record: SharedRecord,
    professional: User,
    source: str,
    purpose: str = "",
    duration_days: int | None = None,
    starts: datetime.datetime | None = None,
    reason: str = "",
) -> AccessGrant:
    """The only way to create an AccessGrant: the patient approving a request (`consent`) or the
    professional recording consent given in person (`in_person_consent`). Keeps guardian in step."""
    if source not in GrantSource.values:
        raise InvalidInput(_("Origine d'autorisation inconnue."))
    if source == GrantSource.CONSENT:
        decision = access.decide_manage(actor, record)
    elif actor.pk == professional.pk and actor.role in PROFESSIONAL_ROLES:
        decision = Decision.allow(Mode.IN_PERSON_CONSENT)
    else:
        decision = Decision.deny(
            "forbidden", _("Seul le professionnel concerné enregistre un consentement donné en sa présence.")
        )
    if not decision.allowed:
        _refuse(actor, DmpAction.GRANT, decision, patient_id=record.patient.public_id, object_type="dmp_grant")
    if professional.role not in PROFESSIONAL_ROLES:
        raise InvalidInput(_("Une autorisation se donne à un professionnel de santé."))
    days = duration_days or settings.DMP_GRANT_DEFAULT_DAYS
    if days < 1 or days > settings.DMP_GRANT_MAX_DAYS:
        message = _("La durée doit être comprise entre 1 et %(max)d jours.") % {"max": settings.DMP_GRANT_MAX_DAYS}
        raise InvalidInput(message, fields={"duration_days": message})
    starts = starts or timezone.now()
    with transaction.atomic():
        grant = AccessGrant.objects.create(
            record=record,
            professional=professional,
            source=source,
            purpose=(purpose or "").strip(),
            starts=starts,
            expires=starts + timedelta(days=days),
        )
        assign_perm(GUARDIAN_PERMISSION, professional, record)
        audit.record(
            actor=actor,
            action=DmpAction.GRANT,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type="dmp_grant",
            object_id=grant.public_id,
            object_ids=[professional.public_id],
            reason=reason,
        )
    return grant


def grant_revoke(*, actor, grant_id) -> AccessGrant:
    grant = get_by_public_id_or_404(
        AccessGrant.objects.select_related("record__patient", "professional"), grant_id, _("Autorisation introuvable.")
    )
    decision = access.decide_manage(actor, grant.record)
    if not decision.allowed:
        _refuse(
            actor,
            DmpAction.REVOKE,
            decision,
            patient_id=grant.record.patient.public_id,
            object_type="dmp_grant",
            object_id=grant.public_id,
        )
    with transaction.atomic():
        AccessGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        grant_permissions_sync(record=grant.record, professional=grant.professional)
        audit.record(
            actor=actor,
            action=DmpAction.REVOKE,
            mode=decision.mode,
            patient_id=grant.record.patient.public_id,
            object_type="dmp_grant",
            object_id=grant.public_id,
        )
    grant.refresh_from_db()
    return grant


def grant_permissions_sync(*, record: SharedRecord, professional: User) -> None:
    """Guardian follows AccessGrant: the permission stays only while a live grant exists."""
    if access.live_grant(professional, record) is None:
        remove_perm(GUARDIAN_PERMISSION, professional, record)
    else:
        assign_perm(GUARDIAN_PERMISSION, professional, record)


# --- Professionals: lookup, dashboard ---------------------------------------------------------


def patient_lookup(*, actor, ins: str, birth_date) -> Patient:
    """Exact INS + birth date, as with a Vitale card at the desk; traced, found or not."""
    decision = access.decide_lookup(actor)
    if not decision.allowed:
        _refuse(actor, DmpAction.LOOKUP, decision, object_type="patient")
    ins = "".join((ins or "").split()).upper()
    try:
        birth = _parse_date(birth_date)
    except InvalidInput:
        birth = None
    if not ins or birth is None:
        raise InvalidInput(_("Indiquez le matricule INS et la date de naissance."), fields={"ins": _("Obligatoire.")})
    patient = Patient.objects.filter(nir=ins, birth_date=birth).first()
    if patient is None:
        audit.record_refusal(actor=actor, action=DmpAction.LOOKUP, code="not_found", object_type="patient")
        raise NotFound(_("Aucun patient ne correspond à ce matricule INS et cette date de naissance."))
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=DmpAction.LOOKUP,
            mode=decision.mode,
            patient_id=patient.public_id,
            object_type="patient",
            object_id=patient.public_id,
        )
    return patient


def gp_dashboard(*, actor, limit: int = 100) -> list[SharedDocument]:
    """New documents of the GP's patients (masked ones too); one trace naming them."""
    if not (getattr(actor, "is_authenticated", False) and actor.role in PROFESSIONAL_ROLES):
        _refuse(
            actor,
            Action.LIST,
            Decision.deny("forbidden", _("Tableau de bord réservé aux médecins traitants.")),
            object_type="dmp_document",
        )
    with transaction.atomic():
        documents = list(access.gp_new_documents(actor, days=settings.DMP_GP_DASHBOARD_DAYS)[:limit])
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=Mode.GP,
            object_type="dmp_document",
            object_ids=[d.public_id for d in documents],
        )
    return documents


# --- The patient's access history -------------------------------------------------------------


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
    """Every access by someone else to the patient's DMP and hospital record (who, profession, when, what, mode)."""
    record, decision = _managed_record(actor, patient_id, Action.LIST, "audit_event")
    patient_id = record.patient.public_id
    queryset = AuditEvent.objects.filter(patient_id=patient_id).exclude(actor_id=actor.public_id).order_by("-at", "-id")
    page = max(page, 1)
    start = (page - 1) * page_size
    with transaction.atomic():
        total = queryset.count()
        events = list(queryset[start : start + page_size])
        professions = dict(
            ProfessionalProfile.objects.filter(
                user__public_id__in={e.actor_id for e in events if e.actor_id}
            ).values_list("user__public_id", "profession")
        )
        audit.record(
            actor=actor,
            action=Action.LIST,
            mode=decision.mode,
            patient_id=patient_id,
            object_type="audit_event",
            object_ids=[e.public_id for e in events],
        )
    from accounts.models import Profession

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
    from .history import group

    days = group(events, {e.actor_id: e.profession_label for e in events if e.actor_id}, granted_on)
    return HistoryPage(events, total, page, page_size, days)


# --- Account activation -----------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_ACTIVATION_ATTEMPTS = 5


def _username_for(patient: Patient) -> str:
    from django.utils.text import slugify

    base = slugify(f"{patient.first_name}.{patient.used_name or patient.birth_name}").replace("-", ".") or "patient"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def activation_code_issue(*, actor, patient_id) -> tuple[str, User]:
    """CHU staff hand a patient an activation code ("Pensez à activer votre espace santé"); traced."""
    patient = get_by_public_id_or_404(Patient.objects.select_related("account"), patient_id, _("Patient introuvable."))
    if not (getattr(actor, "is_authenticated", False) and (actor.is_chu_staff or actor.role == Role.ADMIN)):
        _refuse(
            actor,
            DmpAction.ISSUE_ACTIVATION_CODE,
            Decision.deny("forbidden", _("Réservé au personnel du CHU.")),
            patient_id=patient.public_id,
            object_type="activation_code",
        )
    raw = "-".join("".join(secrets.choice(CODE_ALPHABET) for _i in range(4)) for _j in range(3))
    with transaction.atomic():
        account = patient.account
        if account is None:
            account = User(
                username=_username_for(patient),
                first_name=patient.first_name,
                last_name=(patient.used_name or patient.birth_name).title(),
                role=Role.PATIENT,
                is_active=False,
            )
            account.set_unusable_password()
            account.save()
            Patient.objects.filter(pk=patient.pk).update(account=account)
        ActivationCode.objects.filter(patient=patient, used_at__isnull=True).update(expires=timezone.now())
        ActivationCode.objects.create(
            patient=patient,
            code_hash=ActivationCode.hash_code(raw),
            expires=timezone.now() + timedelta(days=settings.DMP_ACTIVATION_CODE_DAYS),
        )
        audit.record(
            actor=actor,
            action=DmpAction.ISSUE_ACTIVATION_CODE,
            mode=Mode.NONE,
            patient_id=patient.public_id,
            object_type="activation_code",
        )
    return raw, account


ACTIVATION_REFUSED = _("Code d'activation ou date de naissance incorrects, ou code expiré.")


def account_activate(*, code: str, birth_date, password: str) -> User:
    """The patient activates their space with the CHU's code, their birth date and a new password."""
    now = timezone.now()
    activation = (
        ActivationCode.objects.select_related("patient__account")
        .filter(code_hash=ActivationCode.hash_code(code or ""))
        .first()
    )
    try:
        birth = _parse_date(birth_date)
    except InvalidInput:
        birth = None
    if (
        activation is None
        or activation.used_at
        or activation.expires <= now
        or activation.failed_attempts >= MAX_ACTIVATION_ATTEMPTS
    ):
        raise InvalidInput(str(ACTIVATION_REFUSED), fields={"code": str(ACTIVATION_REFUSED)})
    patient = activation.patient
    if birth != patient.birth_date:
        ActivationCode.objects.filter(pk=activation.pk).update(failed_attempts=activation.failed_attempts + 1)
        audit.record_refusal(
            actor=None, action=DmpAction.ACTIVATE, code="invalid", patient_id=patient.public_id, object_type="account"
        )
        raise InvalidInput(str(ACTIVATION_REFUSED), fields={"code": str(ACTIVATION_REFUSED)})
    account = patient.account
    try:
        validate_password(password, user=account)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        raise InvalidInput(message, fields={"password": message}) from exc
    with transaction.atomic():
        used = ActivationCode.objects.filter(pk=activation.pk, used_at__isnull=True).update(used_at=now)
        if not used:
            raise InvalidInput(str(ACTIVATION_REFUSED))
        account.set_password(password)
        account.is_active = True
        account.save(update_fields=["password", "is_active"])
        shared_record_for(patient)
        audit.record(
            actor=account,
            action=DmpAction.ACTIVATE,
            mode=Mode.SELF,
            patient_id=patient.public_id,
            object_type="account",
            object_id=account.public_id,
        )
    return account


def record_by_patient_id(patient_id) -> SharedRecord:
    """The DMP of a patient by public id (no medical content: for forms that add to it)."""
    return _record(patient_id)


def __getattr__(name: str):
    """Re-export the consent and emergency verbs (dmp/consent.py) without a circular import."""
    from . import consent

    if name in consent.__all__:
        return getattr(consent, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
