"""The DMP's documents: list, read, upload, mask, delete, and the CHU's filing of signed reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Action, Mode, ObjectType
from chu_portal.errors import AccessDenied, Conflict, Decision, InvalidInput, ServiceError
from chu_portal.ids import find_by_public_id
from records.models import Report, Stay

from .. import access, files
from ..access import DocAction
from ..constants import (
    PATIENT_UPLOAD_TYPES,
    DmpAction,
    DocumentClass,
    DocumentSource,
    DocumentStatus,
    DocumentType,
    NotificationKind,
    RecordStatus,
)
from ..models import SharedDocument, SharedRecord
from ..pdf import render_report_pdf
from .notifications import note_reader, notify_new_document, notify_new_documents, notify_patient
from .records import PAGE_SIZE, parse_date, record_by_patient_id, shared_record_for


def document_load(document_id) -> SharedDocument:
    """A DMP document by its public id, with its record, patient (and account) and author joined; 404 if none."""
    document = find_by_public_id(
        SharedDocument.objects.select_related("record__patient__account", "author__professional_profile"), document_id
    )
    if document is None:
        raise AccessDenied(access.NOT_FOUND_DOCUMENT)
    return document


def document_decided(actor, document_id, decide, trace_action) -> tuple[SharedDocument, Decision]:
    """Load a document and decide `decide(actor, document)` before any change to it; a refusal is traced in its own
    committed transaction (`audit.refuse`), then raised. The services that change a document start here."""
    document = document_load(document_id)
    decision = decide(actor, document)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=trace_action,
            decision=decision,
            patient_id=document.record.patient.public_id,
            object_type=ObjectType.DMP_DOCUMENT,
            object_id=document.public_id,
        )
    return document, decision


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
    record = record or record_by_patient_id(patient_id)
    decision = access.record_decision(actor, record)
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.LIST,
            decision=decision,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP,
            object_id=record.patient.public_id,
        )
    if type_code and type_code not in DocumentType.values:
        raise InvalidInput(_("Type de document inconnu."), fields={"type_code": _("Type inconnu.")})
    if source and source not in DocumentSource.values:
        raise InvalidInput(_("Origine inconnue."), fields={"source": _("Origine inconnue.")})
    since, until = parse_date(since), parse_date(until)
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

    def load() -> tuple[list[SharedDocument], int]:
        note_reader(actor, record, decision)
        documents = list(queryset.order_by("-created_at", "-id")[start : start + page_size])
        without_unseen_predecessors(documents, decision.mode)
        return documents, queryset.count()

    documents, total = audit.list_traced(
        actor=actor,
        mode=decision.mode,
        patient_id=record.patient.public_id,
        object_type=ObjectType.DMP_DOCUMENT,
        load=load,
        shown=lambda result: [d.public_id for d in result[0]],
    )
    return DocumentPage(record, decision, documents, total, page, page_size)


def document_open(*, actor, document_id) -> tuple[SharedDocument, Decision]:
    """A document's metadata, read, decided and traced in one transaction."""
    document, decision = _document_traced(actor, document_id, Action.READ, ObjectType.DMP_DOCUMENT)
    without_unseen_predecessors([document], decision.mode)
    return document, decision


def without_unseen_predecessors(documents: list[SharedDocument], mode: str) -> None:
    """Nobody learns of a version he may not see through `replaces` (API) or `relatesTo` (FHIR): a withdrawn
    version (docs/domain.md, "Withdrawal and objection") for everybody, and for the patient a version held from
    her (docs/domain.md, "Held reports"). The link is dropped from these read-only instances (one query)."""
    previous = [d.replaces_id for d in documents if d.replaces_id]
    if not previous:
        return
    hidden = Q(status=DocumentStatus.WITHDRAWN)
    if mode == Mode.SELF:
        hidden |= Q(visible_to_patient=False)
    unseen = set(SharedDocument.objects.filter(hidden, pk__in=previous).values_list("pk", flat=True))
    for document in documents:
        if document.replaces_id in unseen:
            document.replaces = None


def predecessor_public_ids(documents: list[SharedDocument]) -> dict:
    """The public ids of the versions these documents replace, by primary key, in one query (none if none
    replaces another): for a list's `replaces`, after `without_unseen_predecessors` dropped the hidden ones."""
    previous = {d.replaces_id for d in documents if d.replaces_id is not None}
    if not previous:
        return {}
    return dict(SharedDocument.objects.filter(pk__in=previous).values_list("pk", "public_id"))


def _document_traced(actor, document_id, action, object_type: str) -> tuple[SharedDocument, Decision]:
    return audit.read_traced(
        actor=actor,
        action=action,
        object_type=object_type,
        load=lambda: document_load(document_id),
        decide=lambda document: _decided_and_noted(actor, document),
        describe=lambda document: (document.record.patient.public_id, document.public_id),
    )


def _decided_and_noted(actor, document: SharedDocument) -> Decision:
    decision = access.decide_document(actor, document, DocAction.READ)
    note_reader(actor, document.record, decision)
    return decision


def document_content(*, actor, document_id, download: bool = False):
    """The file of a document, opened for reading once the decision and its trace committed (fail closed)."""
    action = DmpAction.DOWNLOAD if download else Action.READ
    document, _decision = _document_traced(actor, document_id, action, ObjectType.DMP_DOCUMENT_CONTENT)
    return document, document.file.open("rb")


def _store(content, extension: str) -> str:
    return files.store(content, extension)


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
    secret_from_representatives: bool = False,
) -> SharedDocument:
    """A patient's upload (class 90) or a professional's document; checked by content, stored under a random name.

    A professional filing for a minor may keep the document secret from her legal representatives
    (CSP L.1111-5, R.1111-50): it never reaches them, nor any trace or notification about it."""
    record = record or record_by_patient_id(patient_id)
    decision = access.decide_add(actor, record)
    patient_id = record.patient.public_id
    if not decision.allowed:
        audit.refuse(
            actor=actor,
            action=Action.CREATE,
            decision=decision,
            patient_id=patient_id,
            object_type=ObjectType.DMP_DOCUMENT,
        )
    is_patient = decision.mode in access.PATIENT_MODES
    title = " ".join((title or "").split())
    errors = {}
    if secret_from_representatives:
        secret = access.decide_secret_flag(actor, record)
        if not secret.allowed:
            errors["secret_from_representatives"] = secret.message
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
    event_date = parse_date(event_date)
    original = files.clean_filename(filename if filename is not None else getattr(uploaded, "name", ""))
    inspected = files.inspect(uploaded)
    original = files.name_for_type(original, inspected.mime_type)
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
                secret_from_representatives=bool(secret_from_representatives),
            )
            audit.record(
                actor=actor,
                action=Action.CREATE,
                mode=decision.mode,
                patient_id=patient_id,
                object_type=ObjectType.DMP_DOCUMENT,
                object_id=document.public_id,
            )
            if not is_patient:
                notify_new_document(record, document, exclude=actor)
    except BaseException:
        default_storage.delete(stored)  # nothing stays in storage when the row is not written
        raise
    return document


def _class_for(type_code: str) -> str:
    return DocumentClass.PRESCRIPTION if type_code == DocumentType.PRESCRIPTION else DocumentClass.REPORT


def chu_document_file(*, report: Report, content: bytes | None = None) -> SharedDocument:
    """File a signed CHU report in the patient's DMP (source `chu`, mode `feed`); idempotent per report version.

    The seam the demo seed and the tests call; the automatic feed (dmp/feed/delivery.py) calls
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


def chu_document_create(
    *, report: Report, record: SharedRecord, content: bytes | None = None, stay_secret: bool | None = None
) -> SharedDocument:
    """Create the DMP document of a signed report that has none yet, its trace and notifications.

    A report signed "after the announcement consultation" (`Report.hold_from_patient`) is filed held:
    invisible to the patient, and she is not told, until released (docs/domain.md, "Held reports"); the
    GP-level doctors read it and are told as for any document. An amendment of a masked document arrives
    masked, held or not: the patient's mask stands (masked and invisible is refused only to uploads).

    Runs inside the caller's transaction (the feed's delivery, or chu_document_file's savepoint):
    the unique `source_report_id` refuses a second document for the same version, and the stored
    file is removed again if the transaction does not get past this function.
    `content` is the PDF rendered at signing; without it the report is rendered now.
    `stay_secret`: the report's stay is kept secret from the minor's legal representatives (CSP L.1111-5), read by
    the caller under a share lock of the stay (the feed's delivery); None reads it here, locking the stay. The
    document is then filed secret from them (R.1111-50): they never see it, nor a trace or message about it.
    """
    if not report.is_signed:
        raise Conflict(_("Seul un compte rendu signé alimente le DMP."))
    if record.status != RecordStatus.ACTIVE:
        code = "dmp_opposed" if record.status == RecordStatus.OPPOSED else "dmp_closed"
        raise ServiceError(_("Le DMP de ce patient n'est pas alimenté."), code=code, status=409)
    if stay_secret is None:
        stay_secret = stay_secret_of(report)
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
            # A new version of a masked document arrives masked; all versions share one lineage.
            masked=previous.masked if previous else False,
            held=report.hold_from_patient,
            visible_to_patient=not report.hold_from_patient,
            lineage=previous.lineage if previous else uuid.uuid4(),
            secret_from_representatives=bool(stay_secret),
        )
        # A withdrawn version stays withdrawn (out of every channel); the new version is filed on its own.
        if previous is not None and previous.status != DocumentStatus.WITHDRAWN:
            previous.status = DocumentStatus.SUPERSEDED
            previous.save(update_fields=["status"])
        audit.record(
            actor=None,
            action=Action.CREATE,
            mode=Mode.FEED,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_DOCUMENT,
            object_id=document.public_id,
            object_ids=[previous.public_id] if previous else [],
        )
        notify_new_document(record, document)
    except BaseException:
        default_storage.delete(stored)
        raise
    return document


@dataclass(frozen=True)
class Filing:
    """One signed report for chu_documents_create_many: the report, its DMP and the PDF rendered at signing."""

    report: Report
    record: SharedRecord
    content: bytes | None = None
    # The report's stay kept secret from a minor's legal representatives (CSP L.1111-5), read under the relay's lock.
    stay_secret: bool = False


def chu_documents_filable(report: Report, record: SharedRecord | None) -> bool:
    """Whether chu_documents_create_many may file this report: a signed first version (no amendment to
    supersede), for an active DMP. Anything else goes through chu_document_create, one by one."""
    return (
        report.is_signed
        and not report.replaces_id
        and record is not None
        and record.pk is not None
        and record.status == RecordStatus.ACTIVE
    )


def chu_documents_create_many(filings: list[Filing]) -> list[SharedDocument]:
    """chu_document_create for a batch (the feed's relay): the files written first, then one INSERT of the
    documents, one of their traces (audit.record_many) and one of their notifications, in the caller's
    transaction, whatever the batch's size. Every report must pass chu_documents_filable (first versions
    for an active DMP: nothing superseded); the stored files are removed again if the transaction does not
    get past this function. Returns the documents in the order of `filings`."""
    if not filings:
        return []
    for filing in filings:
        if not chu_documents_filable(filing.report, filing.record):
            raise Conflict(_("Seul un compte rendu signé alimente le DMP."))
    stored: list[str] = []
    try:
        documents = []
        for filing in filings:
            report = filing.report
            content = bytes(filing.content) if filing.content is not None else render_report_pdf(report)
            described = files.describe_rendered_pdf(content)
            stored.append(_store(ContentFile(content), described.extension))
            documents.append(
                SharedDocument(
                    record=filing.record,
                    title=report.title,
                    type_code=report.type_code,
                    class_code=DocumentClass.REPORT,
                    source=DocumentSource.CHU,
                    author_id=report.author_id,
                    event_date=timezone.localdate(report.signed_at),
                    file=stored[-1],
                    original_filename=f"{report.title}.pdf",
                    mime_type=described.mime_type,
                    size=described.size,
                    sha256=described.sha256,
                    source_report_id=report.public_id,
                    held=report.hold_from_patient,
                    visible_to_patient=not report.hold_from_patient,
                    secret_from_representatives=filing.stay_secret,
                    lineage=uuid.uuid4(),
                )
            )
        documents = SharedDocument.objects.bulk_create(documents)
        audit.record_many(
            actor=None,
            action=Action.CREATE,
            mode=Mode.FEED,
            traces=[
                audit.Trace(
                    patient_id=filing.record.patient.public_id,
                    object_type=ObjectType.DMP_DOCUMENT,
                    object_id=document.public_id,
                )
                for filing, document in zip(filings, documents, strict=True)
            ],
        )
        notify_new_documents([(filing.record, document) for filing, document in zip(filings, documents, strict=True)])
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    return documents


def stay_secret_of(report: Report) -> bool:
    """Whether the report's stay is kept secret from the minor's legal representatives, read under a lock that
    orders it with records.services.secret.stay_secret_set (which locks the stay for update)."""
    return bool(
        Stay.objects.select_for_update()
        .filter(pk=report.stay_id)
        .values_list("secret_from_representatives", flat=True)
        .first()
    )


def chu_documents_secret(*, stay: Stay) -> list[SharedDocument]:
    """The documents filed from a stay's reports follow the stay's secret (CSP L.1111-5, R.1111-50): flagged secret
    from the minor's legal representatives when the care team keeps the stay secret, unflagged when it lifts the
    secret. Runs inside the caller's transaction (records.signals.stay_secret_changed); traced (mode feed)."""
    secret = bool(stay.secret_from_representatives)
    documents = list(
        SharedDocument.objects.select_for_update()
        .filter(source_report_id__in=Report.objects.filter(stay=stay).values("public_id"))
        .exclude(secret_from_representatives=secret)
        .order_by("pk")
    )
    if not documents:
        return []
    SharedDocument.objects.filter(pk__in=[d.pk for d in documents]).update(secret_from_representatives=secret)
    for document in documents:
        document.secret_from_representatives = secret
    audit.record(
        actor=None,
        action=Action.UPDATE,
        mode=Mode.FEED,
        patient_id=stay.patient.public_id,
        object_type=ObjectType.DMP_DOCUMENT,
        object_ids=[d.public_id for d in documents],
        reason="minor_secret" if secret else "minor_secret_lift",
    )
    return documents


def _change_document(
    *, actor, document_id, doc_action: DocAction, trace_action, apply, lineage: bool = False
) -> SharedDocument:
    document, decision = document_decided(
        actor, document_id, lambda who, doc: access.decide_document(who, doc, doc_action), trace_action
    )
    patient_id = document.record.patient.public_id
    with transaction.atomic():
        locked = SharedDocument.objects.select_for_update().get(pk=document.pk)
        fields = apply(locked)
        if fields:
            locked.save(update_fields=fields)
        if lineage and fields:
            # Masks follow the document: every version of it takes the same state.
            SharedDocument.objects.filter(lineage=locked.lineage).exclude(pk=locked.pk).update(
                **{field: getattr(locked, field) for field in fields}
            )
        audit.record(
            actor=actor,
            action=trace_action,
            mode=decision.mode,
            patient_id=patient_id,
            object_type=ObjectType.DMP_DOCUMENT,
            object_id=document.public_id,
        )
    locked.record = document.record
    locked.author = document.author
    return locked


def document_mask(*, actor, document_id) -> SharedDocument:
    """The patient hides a document, every version of it, from professionals (the GP and the author still see it)."""

    def apply(doc):
        if not doc.visible_to_patient:
            raise Conflict(_("Un document invisible du patient ne peut pas être masqué."))
        doc.masked = True
        return ["masked"]

    return _change_document(
        actor=actor,
        document_id=document_id,
        doc_action=DocAction.MASK,
        trace_action=DmpAction.MASK,
        apply=apply,
        lineage=True,
    )


def document_unmask(*, actor, document_id) -> SharedDocument:
    """The patient shows a document again, every version of it."""

    def apply(doc):
        doc.masked = False
        return ["masked"]

    return _change_document(
        actor=actor,
        document_id=document_id,
        doc_action=DocAction.MASK,
        trace_action=DmpAction.UNMASK,
        apply=apply,
        lineage=True,
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
    """A professional lifts "invisible to the patient" from his upload; a held CHU report goes to document_release."""
    if document_load(document_id).held:
        return document_release(actor=actor, document_id=document_id)

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
        notify_patient(
            document.record,
            NotificationKind.NEW_DOCUMENT,
            _("Nouveau document dans votre DMP : %(t)s") % {"t": document.title},
            document,
        )
    return document


def document_release(*, actor, document_id) -> SharedDocument:
    """A held CHU report released after the announcement consultation: visible to the patient, told now (once).

    Decided by access.decide_release (its author, a doctor of her care team, a doctor with GP-level rights);
    traced `release` with the ground as mode; `released_at`/`released_by` kept. Two releases at once: the
    second finds it released (409), so the patient is told once.
    """
    document, decision = document_decided(actor, document_id, access.decide_release, DmpAction.RELEASE)
    patient_id = document.record.patient.public_id
    with transaction.atomic():
        locked = SharedDocument.objects.select_for_update().get(pk=document.pk)
        if not locked.held:
            raise Conflict(_("Ce document est déjà visible du patient."))
        locked.held, locked.visible_to_patient = False, True
        locked.released_at, locked.released_by = timezone.now(), actor
        locked.save(update_fields=["held", "visible_to_patient", "released_at", "released_by"])
        audit.record(
            actor=actor,
            action=DmpAction.RELEASE,
            mode=decision.mode,
            patient_id=patient_id,
            object_type=ObjectType.DMP_DOCUMENT,
            object_id=document.public_id,
        )
        locked.record, locked.author = document.record, document.author
        notify_patient(
            document.record,
            NotificationKind.NEW_DOCUMENT,
            _("Nouveau document dans votre DMP : %(t)s") % {"t": locked.title},
            locked,
        )
    return locked
