"""The copy of the hospital record: what it holds (`bundle_plan`), its PDF, its making, release and expiry.

What goes in (docs/domain.md, "What the copy holds"): the patient's identity, the request, a table of contents,
then per requested stay its kind, unit, dates, diagnoses (CIM-10, principal first), procedures (CCAM) and the
latest signed version of each report (never a draft); handover notes only when the validating doctor included
them; a stay the minor keeps secret is never copied for her representatives, and nothing says it exists.

The PDF is rendered with reportlab into a temporary file from a story fed lazily from chunked queries (memory
stays bounded whatever the size of the record: reportlab holds the compressed pages it wrote, never the record),
then stored like a DMP document (dmp/files.py `store`) under `record_requests/`, out of the DMP's orphan sweep.
It is a French medical document, like the reports the DMP files (dmp/pdf.py): its text is not translated.
The tasks (record_requests/tasks.py) run `bundle_make`, `release`, `expire_due` and `release_due`.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, PageBreak, PageTemplate, Paragraph, Spacer
from reportlab.platypus.tableofcontents import TableOfContents

from accounts.models import User
from audit import services as audit
from audit.constants import Mode, ObjectType
from dmp import files
from dmp.constants import NotificationKind
from dmp.services.notifications import notify as notify_user
from records.constants import ReportStatus
from records.models import Diagnosis, HandoverNote, Patient, Procedure, Report, Stay

from .. import access, mailbox
from ..constants import Delivery, RecordRequestAction, RequesterKind, RequestStatus
from ..models import RecordBundle, RecordRequest
from . import notify

logger = logging.getLogger(__name__)

# Where the copies are stored (not under `dmp/`: the DMP's orphan-file sweep must not take them).
BUNDLES_PREFIX = "record_requests"
# Rows read per query while rendering; flowables reportlab may look ahead at (keep-with-next chains).
CHUNK = 100
LOOKAHEAD = 16
# Passes of the layout until the table of contents' page numbers are stable (two in practice).
MAX_PASSES = 4
# Requests released or bundles expired per sweep transaction batch.
SWEEP_BATCH = 200
# A validated request without its copy this long after validation lost its task message: the sweep sends it again;
# a copy that failed all its attempts gets a new round this long after.
STALLED_AFTER = datetime.timedelta(hours=1)
FAILED_RETRY_AFTER = datetime.timedelta(hours=24)


# --- What the copy holds ---------------------------------------------------------------------


def copied_stays(request: RecordRequest) -> QuerySet[Stay]:
    """The stays that go into the copy: the requested ones, minus, for a representative, those the minor keeps
    secret from her legal representatives (CSP L.1111-5, R.1111-50) — filtered in SQL through access.py."""
    mode = Mode.REPRESENTATIVE if request.requester_kind == RequesterKind.REPRESENTATIVE else Mode.RECORD_REQUEST
    return (
        access.requestable_stays(request.patient, mode)
        .filter(record_requests=request)
        .select_related("unit")
        .order_by("admitted_at", "pk")
    )


def latest_signed_reports() -> QuerySet[Report]:
    """The latest signed version of each report: signed, and not amended by a signed version.

    A draft is never copied, nor a draft amendment (the signed version it would replace is)."""
    amended = Report.objects.filter(replaces=OuterRef("pk"), status=ReportStatus.SIGNED)
    return Report.objects.filter(status=ReportStatus.SIGNED).exclude(Exists(amended))


def copied_reports(stays: QuerySet[Stay]) -> QuerySet[Report]:
    """The reports of these stays that go into the copy (`latest_signed_reports`)."""
    return latest_signed_reports().filter(stay__in=stays)


def _count(queryset: QuerySet) -> Coalesce:
    per_stay = queryset.filter(stay=OuterRef("pk")).order_by().values("stay").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(per_stay[:1], output_field=IntegerField()), 0)


@dataclass(frozen=True)
class StayPlan:
    stay: Stay
    diagnoses: int
    procedures: int
    reports: int
    handover_notes: int

    @property
    def key(self) -> str:
        return f"stay-{self.stay.public_id.hex}"

    @property
    def title(self) -> str:
        return stay_title(self.stay)


@dataclass(frozen=True)
class BundlePlan:
    """What the copy of `request` holds (counts per stay; the rows themselves are read while rendering)."""

    request: RecordRequest
    patient: Patient
    stays: list[StayPlan]
    include_handover_notes: bool

    @property
    def report_count(self) -> int:
        return sum(s.reports for s in self.stays)

    @property
    def handover_note_count(self) -> int:
        return sum(s.handover_notes for s in self.stays)

    def toc_entries(self) -> list[tuple[int, str, int, str]]:
        """The table of contents' entries, in order (level, text, page — unknown here —, key)."""
        entries = []
        for stay in self.stays:
            entries.append((0, stay.title, 0, stay.key))
            if stay.reports:
                entries.append((1, f"Comptes rendus signés ({stay.reports})", 0, f"{stay.key}-reports"))
            if stay.handover_notes:
                entries.append((1, f"Transmissions ({stay.handover_notes})", 0, f"{stay.key}-notes"))
        return entries


def bundle_plan(request: RecordRequest) -> BundlePlan:
    """What the copy of this request holds: its stays with the number of diagnoses, procedures, signed reports
    and (when included) handover notes of each. One query, whatever the number of stays."""
    stays = copied_stays(request)
    include_notes = bool(request.include_handover_notes)
    annotated = stays.annotate(
        n_diagnoses=_count(Diagnosis.objects.all()),
        n_procedures=_count(Procedure.objects.all()),
        n_reports=_count(latest_signed_reports()),
        n_notes=_count(HandoverNote.objects.all()) if include_notes else Value(0, output_field=IntegerField()),
    )
    plans = [
        StayPlan(
            stay=stay,
            diagnoses=stay.n_diagnoses,
            procedures=stay.n_procedures,
            reports=stay.n_reports,
            handover_notes=stay.n_notes if include_notes else 0,
        )
        for stay in annotated
    ]
    return BundlePlan(request=request, patient=request.patient, stays=plans, include_handover_notes=include_notes)


# --- Rendering --------------------------------------------------------------------------------


def _date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value)
    return f"{value:%d/%m/%Y}"


def stay_title(stay: Stay) -> str:
    end = f"au {_date(stay.discharged_at)}" if stay.discharged_at else "en cours"
    return f"{stay.get_kind_display()} — {stay.unit.name} — du {_date(stay.admitted_at)} {end}"


def requester_line(request: RecordRequest) -> str:
    if request.requester_kind == RequesterKind.HEIR:
        relation = f" ({request.heir_relation})" if request.heir_relation else ""
        return (
            f"{request.heir_name}{relation}, ayant droit — motif : {request.get_heir_reason_display()} ; "
            f"décès le {_date(request.death_date)}"
        )
    if request.requester_kind == RequesterKind.REPRESENTATIVE:
        quality = request.representation.relation_label if request.representation_id else ""
        suffix = f" ({quality})" if quality else ""
        return f"{request.requested_by.get_full_name()}{suffix}, représentant légal"
    return f"{request.patient.display_name}, la personne elle-même"


@dataclass
class Contents:
    """The ids of what went into the copy (RecordBundle.contents)."""

    stays: list[str]
    reports: list[str]
    handover_notes: list[str]

    def as_json(self, include_handover_notes: bool) -> dict:
        return {
            "stays": self.stays,
            "reports": self.reports,
            "handover_notes": self.handover_notes,
            "handover_notes_included": include_handover_notes,
        }


class _Story(list):
    """A story fed lazily from a generator: reportlab consumes it from the front and looks a few flowables ahead,
    so only those (and one chunk of rows) are in memory at a time."""

    def __init__(self, source: Iterable):
        super().__init__()
        self._source = iter(source)

    def _fill(self, n: int | None) -> None:
        while self._source is not None and (n is None or super().__len__() < n):
            try:
                self.append(next(self._source))
            except StopIteration:
                self._source = None

    def _fill_for(self, index) -> None:
        if isinstance(index, slice):
            self._fill(None if index.stop is None or index.stop < 0 else index.stop)
        else:
            self._fill(None if index < 0 else index + 1)

    def __len__(self) -> int:
        self._fill(LOOKAHEAD)
        return super().__len__()

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index):
        self._fill_for(index)
        return super().__getitem__(index)

    def __delitem__(self, index):
        self._fill_for(index)
        super().__delitem__(index)


class _Heading(Paragraph):
    """A heading that the table of contents lists (and links to)."""

    def __init__(self, text: str, style, level: int, key: str):
        super().__init__(escape(text), style)
        self.toc = (level, text, key)


class _BundleDocument(BaseDocTemplate):
    def __init__(self, path: str, plan: BundlePlan, toc: TableOfContents):
        self._toc = toc
        super().__init__(
            path,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=20 * mm,
            bottomMargin=20 * mm,
            title="Copie du dossier médical du CHU",
            author="CHU",
            creator="CHU Portal",
            invariant=1,
        )
        patient = plan.patient
        self._footer_text = f"{patient.display_name} — IPP {patient.ipp} — copie du dossier médical du CHU"
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._footer)])

    def _footer(self, canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(self.leftMargin, 10 * mm, self._footer_text)
        canvas.drawRightString(self.leftMargin + self.width, 10 * mm, f"Page {document.page}")
        canvas.restoreState()

    def afterFlowable(self, flowable) -> None:
        entry = getattr(flowable, "toc", None)
        if entry:
            level, text, key = entry
            self.canv.bookmarkPage(key)
            self._toc.notify("TOCEntry", (level, text, self.page, key))


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {
        "title": sheet["Title"],
        "h1": ParagraphStyle("h1", parent=sheet["Heading1"], keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=sheet["Heading2"], keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=sheet["Heading3"], keepWithNext=1),
        "body": sheet["BodyText"],
        "small": ParagraphStyle("small", parent=sheet["BodyText"], fontSize=8, leading=10),
        "italic": sheet["Italic"],
        "toc0": ParagraphStyle("toc0", parent=sheet["BodyText"], fontName="Helvetica-Bold", leftIndent=0),
        "toc1": ParagraphStyle("toc1", parent=sheet["BodyText"], leftIndent=8 * mm),
    }


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(text), style)


def _cover(plan: BundlePlan, styles, toc: TableOfContents, now) -> Iterator:
    patient, request = plan.patient, plan.request
    yield _p("Copie du dossier médical du CHU", styles["title"])
    yield _p("Patient", styles["h2"])
    yield _p(f"Nom de naissance : {patient.birth_name}", styles["body"])
    if patient.used_name:
        yield _p(f"Nom utilisé : {patient.used_name}", styles["body"])
    yield _p(f"Prénoms : {patient.first_names}", styles["body"])
    yield _p(f"Date de naissance : {_date(patient.birth_date)}", styles["body"])
    yield _p(f"IPP : {patient.ipp}", styles["body"])
    if patient.ins_is_qualified and patient.nir:
        # Identitovigilance: the INS is shown only once the identity is qualified.
        yield _p(f"INS (matricule) : {patient.nir} — OID {patient.ins_oid}", styles["body"])
    yield _p("Demande", styles["h2"])
    yield _p(f"Demandeur : {requester_line(request)}", styles["body"])
    yield _p(f"Demande complète reçue le {_date(request.received_at)}", styles["body"])
    yield _p(f"À communiquer au plus tard le {_date(request.due_on)}", styles["body"])
    form = request.get_delivery_display()
    if request.delivery == Delivery.DOCTOR and request.named_doctor_id:
        form = f"{form} : {request.named_doctor.display_name}"
    yield _p(f"Forme de la communication : {form}", styles["body"])
    if request.validated_by_id:
        yield _p(f"Validée par {request.validated_by.display_name} le {_date(request.validated_at)}", styles["body"])
    yield _p(f"Copie établie le {_date(now)}", styles["body"])
    yield Spacer(1, 4 * mm)
    notes = "y figurent" if plan.include_handover_notes else "n'y figurent pas"
    yield _p(
        "Copie établie en application des articles L.1111-7 et R.1111-1 à R.1111-8 du code de la santé publique. "
        "Elle reproduit, pour chaque séjour demandé, les diagnostics, les actes et la dernière version signée de "
        f"chaque compte rendu ; les transmissions entre équipes {notes}.",
        styles["small"],
    )
    yield _p("Sommaire", styles["h2"])
    yield toc
    yield PageBreak()


def _stay_flowables(plan: BundlePlan, stay_plan: StayPlan, styles, contents: Contents) -> Iterator:
    stay = stay_plan.stay
    contents.stays.append(str(stay.public_id))
    yield _Heading(stay_plan.title, styles["h1"], 0, stay_plan.key)
    yield _p(f"Type de séjour : {stay.get_kind_display()}", styles["body"])
    yield _p(f"Service : {stay.unit.name}", styles["body"])
    yield _p(f"Admission : {_date(stay.admitted_at)}", styles["body"])
    yield _p(f"Sortie : {_date(stay.discharged_at) if stay.discharged_at else 'séjour en cours'}", styles["body"])

    yield _p("Diagnostics (CIM-10)", styles["h2"])
    diagnoses = Diagnosis.objects.filter(stay=stay).order_by("-principal", "code", "pk")
    any_diagnosis = False
    for diagnosis in diagnoses.iterator(chunk_size=CHUNK):
        any_diagnosis = True
        principal = " (diagnostic principal)" if diagnosis.principal else ""
        yield _p(f"{diagnosis.code} — {diagnosis.label}{principal}", styles["body"])
    if not any_diagnosis:
        yield _p("Aucun diagnostic codé.", styles["italic"])

    yield _p("Actes (CCAM)", styles["h2"])
    procedures = Procedure.objects.filter(stay=stay).order_by("performed_at", "code", "pk")
    any_procedure = False
    for procedure in procedures.iterator(chunk_size=CHUNK):
        any_procedure = True
        when = f" — le {_date(procedure.performed_at)}" if procedure.performed_at else ""
        yield _p(f"{procedure.code} — {procedure.label}{when}", styles["body"])
    if not any_procedure:
        yield _p("Aucun acte codé.", styles["italic"])

    if stay_plan.reports:
        yield _Heading(f"Comptes rendus signés ({stay_plan.reports})", styles["h2"], 1, f"{stay_plan.key}-reports")
        reports = (
            latest_signed_reports()
            .filter(stay=stay)
            .select_related("author__professional_profile")
            .order_by("signed_at", "pk")
        )
        for report in reports.iterator(chunk_size=CHUNK):
            contents.reports.append(str(report.public_id))
            yield from _report_flowables(report, styles)

    if plan.include_handover_notes and stay_plan.handover_notes:
        yield _Heading(f"Transmissions ({stay_plan.handover_notes})", styles["h2"], 1, f"{stay_plan.key}-notes")
        notes = (
            HandoverNote.objects.filter(stay=stay)
            .select_related("author__professional_profile", "unit")
            .order_by("created_at", "pk")
        )
        for note in notes.iterator(chunk_size=CHUNK):
            contents.handover_notes.append(str(note.public_id))
            unit = f" ({note.unit.name})" if note.unit_id else ""
            yield _p(
                f"{timezone.localtime(note.created_at):%d/%m/%Y %H:%M} — {note.author.display_name}{unit}",
                styles["h3"],
            )
            yield from _text(note.body, styles["body"])
    yield PageBreak()


def _report_flowables(report: Report, styles) -> Iterator:
    yield _p(report.title, styles["h3"])
    yield _p(
        f"{report.get_type_code_display()} (LOINC {report.type_code}) — {report.author.display_name} — "
        f"signé le {_date(report.signed_at)}",
        styles["small"],
    )
    if report.version > 1:
        earlier = report.version - 1
        versions = "la version antérieure" if earlier == 1 else f"les {earlier} versions antérieures"
        yield _p(
            f"Compte rendu modifié : version {report.version}, qui remplace {versions} ; seule la dernière "
            "version signée est reproduite.",
            styles["italic"],
        )
    yield from _text(report.body, styles["body"])
    yield Spacer(1, 4 * mm)


def _text(body: str, style) -> Iterator:
    for paragraph in (body or "").split("\n"):
        if paragraph.strip():
            yield _p(paragraph, style)


def _story(plan: BundlePlan, toc, contents: Contents, now, on_stay: Callable[[int], None]) -> Iterator:
    styles = _styles()
    yield from _cover(plan, styles, toc, now)
    for done, stay_plan in enumerate(plan.stays, start=1):
        yield from _stay_flowables(plan, stay_plan, styles, contents)
        on_stay(done)
    if not plan.stays:
        yield _p("Aucun séjour communicable pour cette demande.", styles["italic"])


@dataclass(frozen=True)
class Rendered:
    page_count: int
    contents: Contents
    passes: int


def render(plan: BundlePlan, path: str, *, now=None, on_progress: Callable[[float], None] | None = None) -> Rendered:
    """Write the copy's PDF to `path`; laid out again until the table of contents' page numbers are stable.

    `on_progress(fraction)` is called after each stay of each pass (0 < fraction <= 1)."""
    now = now or timezone.now()
    styles = _styles()
    toc = TableOfContents(levelStyles=[styles["toc0"], styles["toc1"]], dotsMinLevel=0)
    # Known titles first (pages unknown): the first pass lays the table out at its final length.
    toc.addEntries(plan.toc_entries())
    total = max(len(plan.stays), 1)
    for passes in range(1, MAX_PASSES + 1):

        def on_stay(done: int, passes=passes) -> None:
            if on_progress is not None:
                on_progress(min((passes - 1 + done / total) / 2, 1.0))

        toc.beforeBuild()
        contents = Contents(stays=[], reports=[], handover_notes=[])
        document = _BundleDocument(path, plan, toc)
        document.build(_Story(_story(plan, toc, contents, now, on_stay)))
        toc.afterBuild()
        if toc.isSatisfied():
            return Rendered(page_count=document.page, contents=contents, passes=passes)
    raise RuntimeError("the table of contents of the copy did not settle")


# --- Making, releasing, expiring --------------------------------------------------------------


class _Progress:
    """Writes the bundle's progress (0-100) in its own small transactions, only when it moves."""

    def __init__(self, bundle_pk: int, start: int = 0):
        self.bundle_pk = bundle_pk
        self.last = start

    def __call__(self, percent: int) -> None:
        percent = max(0, min(int(percent), 100))
        if percent <= self.last:
            return
        self.last = percent
        with transaction.atomic():
            RecordBundle.objects.filter(pk=self.bundle_pk, made_at__isnull=True).update(progress=percent)


def _digest(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest(), os.path.getsize(path)


def _load(request_pk: int) -> RecordRequest | None:
    return (
        RecordRequest.objects.select_related(
            "patient",
            "requested_by__professional_profile",
            "named_doctor__professional_profile",
            "validated_by__professional_profile",
            "representation",
        )
        .filter(pk=request_pk)
        .first()
    )


def _trace_bundle(action: str, bundle: RecordBundle, request: RecordRequest, *, in_her_history=True, reason=""):
    """The task's trace of a step of the copy (no person acts: mode record_request), inside the step's transaction."""
    audit.record(
        actor=None,
        action=action,
        mode=Mode.RECORD_REQUEST,
        patient_id=request.patient.public_id if in_her_history else None,
        object_type=ObjectType.RECORD_BUNDLE,
        object_id=bundle.public_id,
        object_ids=[request.public_id],
        reason=reason,
    )


def bundle_make(request_pk: int, *, now=None) -> RecordBundle | None:
    """Make the copy of a validated request (idempotent: a made copy is not made again), then release it when the
    48 hours are past. Progress is committed as it goes; an exception leaves the request validated for a retry."""
    request = _load(request_pk)
    if request is None or request.status != RequestStatus.VALIDATED:
        return RecordBundle.objects.filter(request_id=request_pk).first()
    with transaction.atomic():
        bundle, _created = RecordBundle.objects.get_or_create(request=request)
    if bundle.made_at is not None:
        return bundle
    if bundle.file:
        default_storage.delete(bundle.file)  # the partial file of an attempt that did not finish
    name = files.storage_name(".pdf", prefix=BUNDLES_PREFIX)
    with transaction.atomic():
        RecordBundle.objects.filter(pk=bundle.pk).update(file=name, progress=1, failed_at=None)
    progress = _Progress(bundle.pk, start=1)
    plan = bundle_plan(request)
    progress(5)
    with tempfile.TemporaryDirectory(prefix="record-bundle-") as folder:
        path = os.path.join(folder, "copy.pdf")
        rendered = render(plan, path, now=now, on_progress=lambda fraction: progress(5 + 85 * fraction))
        sha256, size = _digest(path)
        with open(path, "rb") as handle:
            stored = files.store(File(handle), ".pdf", prefix=BUNDLES_PREFIX, name=name)
    progress(95)
    try:
        with transaction.atomic():
            locked = RecordRequest.objects.select_for_update().get(pk=request.pk)
            bundle = RecordBundle.objects.select_for_update().get(pk=bundle.pk)
            if locked.status != RequestStatus.VALIDATED or bundle.made_at is not None:
                transaction.on_commit(lambda: default_storage.delete(stored))  # another attempt made it first
                return bundle
            bundle.file = stored
            bundle.sha256 = sha256
            bundle.size = size
            bundle.page_count = rendered.page_count
            bundle.contents = rendered.contents.as_json(plan.include_handover_notes)
            bundle.made_at = timezone.now()
            bundle.failed_at = None
            bundle.progress = 100
            bundle.save()
            locked.status = RequestStatus.READY
            locked.save(update_fields=["status"])
            _trace_bundle(RecordRequestAction.MAKE_BUNDLE, bundle, request)
    except BaseException:
        default_storage.delete(stored)
        raise
    release(locked, now=now)
    return bundle


def bundle_failed(request_pk: int, error: BaseException | None = None) -> RecordBundle | None:
    """The copy could not be made after its retries: `failed_at`, the partial file removed, traced, the office told."""
    request = _load(request_pk)
    if request is None:
        return None
    logger.error("record request %s: the copy could not be made (%r)", request.public_id, error)
    with transaction.atomic():
        bundle, _created = RecordBundle.objects.select_for_update().get_or_create(request=request)
        if bundle.made_at is not None:
            return bundle
        partial = bundle.file
        bundle.failed_at = timezone.now()
        bundle.file = ""
        bundle.save(update_fields=["failed_at", "file"])
        # Not in the patient's history (it would read "la copie a été préparée"): the request's id links it.
        _trace_bundle(RecordRequestAction.MAKE_BUNDLE, bundle, request, in_her_history=False, reason="failed")
        tell_office(
            _(
                "La copie du dossier demandée le %(received)s (à communiquer au plus tard le %(due)s) n'a pas pu "
                "être établie malgré plusieurs essais. Un nouvel essai aura lieu dans 24 heures ; prévenez "
                "l'équipe technique si l'échéance est proche."
            )
            % {"received": _date(request.received_at), "due": _date(request.due_on)}
        )
        if partial:
            transaction.on_commit(lambda: default_storage.delete(partial))
    return bundle


def tell_office(message: str) -> None:
    """Tell every member of the medical records office (no medical content: the request is named by its dates)."""
    staff = User.objects.filter(
        professional_profile__units__code=settings.RECORDS_OFFICE_UNIT_CODE, is_active=True
    ).distinct()
    for user in staff:
        notify_user(recipient=user, kind=NotificationKind.RECORD_REQUEST, message=message, may_be_blocked=False)


def release(request: RecordRequest, *, now=None) -> bool:
    """Release a made copy once the 48-hour reflection period is over: available to download, or sent to the named
    doctor's secure inbox (the MSSanté seam, never the DMP). Answered now; kept RECORD_BUNDLE_AVAILABLE_DAYS.
    False when it is not time (or not made, or already released)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            RecordRequest.objects.select_for_update(of=("self",))
            .select_related("patient", "named_doctor__professional_profile")
            .get(pk=request.pk)
        )
        bundle = RecordBundle.objects.select_for_update().filter(request=locked).first()
        if (
            locked.status != RequestStatus.READY
            or bundle is None
            or bundle.made_at is None
            or now < locked.earliest_release_at
        ):
            return False
        expires_at = now + datetime.timedelta(days=settings.RECORD_BUNDLE_AVAILABLE_DAYS)
        bundle.expires_at = expires_at
        bundle.save(update_fields=["expires_at"])
        patient_id = locked.patient.public_id
        if locked.delivery == Delivery.DOCTOR:
            patient = locked.patient
            message = mailbox.client().send(
                recipient=locked.named_doctor,
                subject=_("Copie du dossier du CHU de %(name)s") % {"name": patient.display_name},
                body=_(
                    "%(name)s, né(e) le %(birth)s, vous a désigné pour recevoir la copie de son dossier médical du "
                    "CHU (CSP L.1111-7). Le document est joint à ce message ; il est disponible jusqu'au %(until)s."
                )
                % {"name": patient.display_name, "birth": _date(patient.birth_date), "until": _date(expires_at)},
                bundle=bundle,
            )
            locked.status = RequestStatus.SENT
            audit.record(
                actor=None,
                action=RecordRequestAction.SEND,
                mode=Mode.RECORD_REQUEST,
                patient_id=patient_id,
                # The copy sent (her history: "envoyée au médecin désigné"); the message it went in.
                object_type=ObjectType.RECORD_BUNDLE,
                object_id=bundle.public_id,
                object_ids=[message.public_id],
            )
            step = notify.SENT
        else:
            locked.status = RequestStatus.AVAILABLE
            step = notify.AVAILABLE
        locked.answered_at = now
        locked.save(update_fields=["status", "answered_at"])
        audit.record(
            actor=None,
            action=RecordRequestAction.RELEASE,
            mode=Mode.RECORD_REQUEST,
            patient_id=patient_id,
            object_type=ObjectType.RECORD_REQUEST,
            object_id=locked.public_id,
            object_ids=[bundle.public_id],
        )
        notify.tell(locked, step)
        if step == notify.SENT:
            notify.tell_named_doctor(locked)
    request.status, request.answered_at = locked.status, locked.answered_at
    return True


def release_due(*, now=None) -> int:
    """Release every made copy whose reflection period is over (the sweep)."""
    now = now or timezone.now()
    due = RecordRequest.objects.filter(
        status=RequestStatus.READY, earliest_release_at__lte=now, bundle__made_at__isnull=False
    ).order_by("earliest_release_at", "pk")
    released = 0
    for request in due[:SWEEP_BATCH]:
        try:
            released += release(request, now=now)
        except Exception:  # noqa: BLE001 - one request that cannot be released (its mailbox down) does not hold up the others
            logger.exception("record request %s: the release failed; the next sweep tries again", request.public_id)
    return released


def expire(bundle_pk: int, *, now=None) -> bool:
    """A released copy past `expires_at`: the request expired, the file deleted (after commit), traced, told."""
    now = now or timezone.now()
    with transaction.atomic():
        bundle = RecordBundle.objects.select_for_update().filter(pk=bundle_pk).first()
        if bundle is None or bundle.deleted_at is not None or bundle.expires_at is None or bundle.expires_at > now:
            return False
        request = RecordRequest.objects.select_for_update().select_related("patient").get(pk=bundle.request_id)
        if request.status not in (RequestStatus.AVAILABLE, RequestStatus.SENT):
            return False
        stored = bundle.file
        bundle.deleted_at = now
        bundle.save(update_fields=["deleted_at"])
        request.status = RequestStatus.EXPIRED
        request.save(update_fields=["status"])
        _trace_bundle(RecordRequestAction.EXPIRE, bundle, request)
        notify.tell(request, notify.EXPIRED)
        if stored:
            transaction.on_commit(lambda: default_storage.delete(stored))
    return True


def expire_due(*, now=None) -> int:
    """Expire every released copy past `expires_at` (the sweep)."""
    now = now or timezone.now()
    due = RecordBundle.objects.filter(
        expires_at__lte=now,
        deleted_at__isnull=True,
        request__status__in=[RequestStatus.AVAILABLE, RequestStatus.SENT],
    ).order_by("expires_at", "pk")
    expired = 0
    for pk in list(due.values_list("pk", flat=True)[:SWEEP_BATCH]):
        try:
            expired += expire(pk, now=now)
        except Exception:  # noqa: BLE001 - the others are expired all the same; the next sweep tries again
            logger.exception("record bundle %s: the expiry failed; the next sweep tries again", pk)
    return expired


def stalled(*, now=None, older_than: datetime.timedelta = STALLED_AFTER) -> list[int]:
    """Validated requests to send again: the copy neither made nor failed an hour after validation (a lost
    message), or failed more than FAILED_RETRY_AFTER ago (a new round of attempts)."""
    now = now or timezone.now()
    lost = (
        Q(validated_at__lte=now - older_than) & ~Q(bundle__made_at__isnull=False) & ~Q(bundle__failed_at__isnull=False)
    )
    failed_long_ago = Q(bundle__made_at__isnull=True, bundle__failed_at__lte=now - FAILED_RETRY_AFTER)
    return list(
        RecordRequest.objects.filter(status=RequestStatus.VALIDATED)
        .filter(lost | failed_long_ago)
        .order_by("validated_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
