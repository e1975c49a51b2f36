"""The DMP's life (issue 19, point 4): oppose, lift the opposition, close, reopen, ask deletion, export, purge.

Rules (docs/domain.md, "DMP statuses"; CSP L.1111-14, R.1111-36): opposition only while the DMP is not
activated and holds no document, closing afterwards; a closed DMP is unreadable to everybody, the patient
included, nothing is fed into it and nobody is notified about it; reopening restores it whole; it is purged
DMP_CLOSED_RETENTION_YEARS after closing, or DMP_DELETION_DELAY_DAYS after its holder asked for deletion.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from audit import services as audit
from audit.constants import Mode, ObjectType

from .. import access, files
from ..constants import ConsentStatus, DmpAction, RecordStatus
from ..models import AccessGrant, ConsentRequest, DmpEmergencyAccess, Notification, SharedDocument, SharedRecord
from .records import managed_record

# The trace action of each status change (from, to).
STATUS_ACTIONS = {
    (RecordStatus.ACTIVE, RecordStatus.OPPOSED): DmpAction.DMP_OPPOSE,
    (RecordStatus.OPPOSED, RecordStatus.ACTIVE): DmpAction.DMP_LIFT_OPPOSITION,
    (RecordStatus.ACTIVE, RecordStatus.CLOSED): DmpAction.DMP_CLOSE,
    (RecordStatus.CLOSED, RecordStatus.ACTIVE): DmpAction.DMP_REOPEN,
}


def status_action(current: str, status: str) -> str:
    return STATUS_ACTIONS.get((current, status), DmpAction.SETTINGS)


def status_change(*, actor, record: SharedRecord, decision, status: str) -> SharedRecord:
    """Move the DMP to `status` under the rules (the caller decided `decide_manage`); traced as its own action.

    Closing revokes the live authorisations, ends the open emergency windows and lets the pending
    consent requests expire: a DMP reopened years later opens to nobody by surprise (docs/decisions.md).
    Masks, blocks, designations (the médecin traitant) and settings are kept: reopening restores them."""
    verdict = access.decide_status_change(actor, record, status)
    action = status_action(record.status, status)
    if not verdict.allowed:
        audit.refuse(
            actor=actor,
            action=action,
            decision=verdict,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP_SETTINGS,
            object_id=record.public_id,
        )
    with transaction.atomic():
        locked = SharedRecord.objects.select_for_update().select_related("patient").get(pk=record.pk)
        verdict = access.decide_status_change(actor, locked, status)  # again, under the lock
        if verdict.allowed and locked.status != status:
            _apply_status(actor, locked, decision, status, action)
    if not verdict.allowed:
        raise_refusal(actor, locked, action, verdict)
    return locked


def _apply_status(actor, locked: SharedRecord, decision, status: str, action: str) -> None:
    now = timezone.now()
    previous = locked.status
    locked.status = status
    locked.status_changed_at = now
    changed = ["status", "status_changed_at"]
    ended: list[str] = []
    if status == RecordStatus.CLOSED:
        locked.closed_at = now
        changed.append("closed_at")
        ended = _end_accesses(locked, now)
    elif previous == RecordStatus.CLOSED:
        # Reopened: no purge pending; a DMP purged then reopened starts empty and may be purged again later.
        locked.closed_at = None
        locked.deletion_requested_at = None
        locked.purged_at = None
        changed += ["closed_at", "deletion_requested_at", "purged_at"]
    if status == RecordStatus.ACTIVE and locked.activated_at is None:
        locked.activated_at = now  # lifting an opposition, or reopening, is an activation by the holder
        changed.append("activated_at")
    locked.save(update_fields=changed)
    audit.record(
        actor=actor,
        action=action,
        mode=decision.mode,
        patient_id=locked.patient.public_id,
        object_type=ObjectType.DMP_SETTINGS,
        object_id=locked.public_id,
        object_ids=ended,
        reason=f"{previous}->{status}",
    )


def raise_refusal(actor, record, action, verdict):
    audit.refuse(
        actor=actor,
        action=action,
        decision=verdict,
        patient_id=record.patient.public_id,
        object_type=ObjectType.DMP_SETTINGS,
        object_id=record.public_id,
    )


def _end_accesses(record: SharedRecord, now) -> list[str]:
    """Closing: live grants revoked, open emergency windows ended, pending requests expired; their ids."""
    grants = AccessGrant.objects.filter(record=record, revoked_at__isnull=True, expires__gt=now)
    ids = [str(i) for i in grants.values_list("public_id", flat=True)]
    grants.update(revoked_at=now)
    windows = DmpEmergencyAccess.objects.filter(record=record, starts__lt=now, expires__gt=now)
    ids += [str(i) for i in windows.values_list("public_id", flat=True)]
    windows.update(expires=now)
    ConsentRequest.objects.filter(record=record, status=ConsentStatus.PENDING).update(
        status=ConsentStatus.EXPIRED, decided_at=now
    )
    return ids


def deletion_request(*, actor, patient_id=None) -> SharedRecord:
    """The patient asks that her closed DMP be deleted; the purge does it after DMP_DELETION_DELAY_DAYS."""
    record, decision = managed_record(actor, patient_id, DmpAction.DMP_DELETION_REQUEST, ObjectType.DMP_SETTINGS)
    with transaction.atomic():
        locked = SharedRecord.objects.select_for_update().select_related("patient").get(pk=record.pk)
        verdict = access.decide_deletion_request(actor, locked)
        if verdict.allowed:
            locked.deletion_requested_at = timezone.now()
            locked.save(update_fields=["deletion_requested_at"])
            audit.record(
                actor=actor,
                action=DmpAction.DMP_DELETION_REQUEST,
                mode=decision.mode,
                patient_id=locked.patient.public_id,
                object_type=ObjectType.DMP_SETTINGS,
                object_id=locked.public_id,
            )
    if not verdict.allowed:
        raise_refusal(actor, locked, DmpAction.DMP_DELETION_REQUEST, verdict)
    return locked


def deletion_due(record: SharedRecord):
    """When the purge will delete this closed DMP (None if not closed)."""
    if record.closed_at is None:
        return None
    due = record.closed_at + timedelta(days=365 * settings.DMP_CLOSED_RETENTION_YEARS)
    if record.deletion_requested_at is not None:
        due = min(due, record.deletion_requested_at + timedelta(days=settings.DMP_DELETION_DELAY_DAYS))
    return due


# --- The whole DMP in one archive -------------------------------------------------------------


def _archive_name(index: int, document: SharedDocument) -> str:
    date = (document.event_date or document.created_at.date()).isoformat()
    return f"documents/{index:03d}-{date}-" + files.name_for_type(
        "".join(c if c.isalnum() or c in "-_" else "-" for c in document.title)[:60] or "document",
        document.mime_type,
    )


def _index_html(record: SharedRecord, rows: list[tuple[str, SharedDocument]], now) -> str:
    patient = record.patient
    lines = [
        "<!doctype html><html lang='fr'><meta charset='utf-8'>",
        f"<title>{escape(_('Mon DMP'))}</title>",
        f"<h1>{escape(_('Mon DMP'))} — {escape(patient.first_name)} {escape(patient.used_name or patient.birth_name)}</h1>",
        f"<p>{escape(_('Archive créée le %(date)s.') % {'date': now.strftime('%d/%m/%Y %H:%M')})}</p>",
        "<table><thead><tr>",
        *(f"<th>{escape(h)}</th>" for h in (_("Date"), _("Titre"), _("Type"), _("Origine"), _("Statut"), _("Fichier"))),
        "</tr></thead><tbody>",
    ]
    for name, d in rows:
        date = (d.event_date or d.created_at.date()).strftime("%d/%m/%Y")
        cells = (date, d.title, d.get_type_code_display(), d.get_source_display(), d.get_status_display())
        lines.append(
            "<tr>"
            + "".join(f"<td>{escape(c)}</td>" for c in cells)
            + f"<td><a href='{escape(name)}'>{escape(name)}</a></td></tr>"
        )
    lines.append("</tbody></table></html>")
    return "\n".join(lines)


def _index_csv(rows: list[tuple[str, SharedDocument]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["date", "title", "type", "source", "status", "masked", "file", "sha256"])
    for name, d in rows:
        writer.writerow(
            [
                (d.event_date or d.created_at.date()).isoformat(),
                d.title,
                d.type_code,
                d.source,
                d.status,
                "yes" if d.masked else "no",
                name,
                d.sha256,
            ]
        )
    return out.getvalue()


def record_export(*, actor, patient_id=None) -> tuple[SharedRecord, io.BytesIO]:
    """Her whole DMP in one zip: every document she may read (earlier versions included) and an index
    (index.html, index.csv); traced `dmp_export` naming the documents. Not while closed (reopen first)."""
    record, _decision = managed_record(actor, patient_id, DmpAction.DMP_EXPORT, ObjectType.DMP)
    decision = access.decide_export(actor, record)
    if not decision.allowed:
        raise_refusal(actor, record, DmpAction.DMP_EXPORT, decision)
    buffer = io.BytesIO()
    with transaction.atomic():
        documents = list(
            access.documents_in(actor, record, Mode.SELF, include_superseded=True).order_by("created_at", "id")
        )
        rows = [(_archive_name(i, d), d) for i, d in enumerate(documents, start=1)]
        now = timezone.now()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, document in rows:
                with document.file.open("rb") as handle:
                    archive.writestr(name, handle.read())
            archive.writestr("index.html", _index_html(record, rows, now))
            archive.writestr("index.csv", _index_csv(rows))
        audit.record(
            actor=actor,
            action=DmpAction.DMP_EXPORT,
            mode=decision.mode,
            patient_id=record.patient.public_id,
            object_type=ObjectType.DMP,
            object_id=record.public_id,
            object_ids=[d.public_id for d in documents],
        )
    buffer.seek(0)
    return record, buffer


# --- The purge (daily beat task) ------------------------------------------------------------


def records_due_for_purge(now=None):
    now = now or timezone.now()
    retention = now - timedelta(days=365 * settings.DMP_CLOSED_RETENTION_YEARS)
    requested = now - timedelta(days=settings.DMP_DELETION_DELAY_DAYS)
    return SharedRecord.objects.filter(status=RecordStatus.CLOSED, purged_at__isnull=True).filter(
        Q(closed_at__lte=retention) | Q(deletion_requested_at__lte=requested)
    )


def purge_closed_records(*, now=None) -> int:
    """Purge each closed DMP past its retention or its deletion delay: files deleted, documents' and profile's
    contents erased, notifications about them deleted; the rows (ids, dates, hashes) and the traces stay.
    One trace per DMP (`dmp_purge`, mode `admin`, no actor) naming the documents. Returns how many DMPs."""
    now = now or timezone.now()
    count = 0
    for record_id in list(records_due_for_purge(now).values_list("pk", flat=True)):
        files_to_delete: list = []
        with transaction.atomic():
            record = (
                records_due_for_purge(now)
                .select_for_update(skip_locked=True)
                .select_related("patient")
                .filter(pk=record_id)
                .first()
            )
            if record is None:
                continue
            documents = SharedDocument.objects.filter(record=record)
            ids = [d.public_id for d in documents]
            files_to_delete = [d.file.name for d in documents if d.file]
            Notification.objects.filter(Q(record=record) | Q(document__record=record)).delete()
            documents.update(
                title=_("Document supprimé"),
                original_filename="",
                file="",
                deleted_at=now,
            )
            record.profile_entries.update(label=_("Supprimé"), note="", deleted_at=now)
            record.purged_at = now
            record.save(update_fields=["purged_at"])
            audit.record(
                actor=None,
                action=DmpAction.DMP_PURGE,
                mode=Mode.ADMIN,
                patient_id=record.patient.public_id,
                object_type=ObjectType.DMP,
                object_id=record.public_id,
                object_ids=ids,
                reason="deletion_requested" if record.deletion_requested_at else "retention",
            )
            storage = SharedDocument._meta.get_field("file").storage

            def delete_files(names=tuple(files_to_delete), storage=storage):
                for name in names:
                    storage.delete(name)

            transaction.on_commit(delete_files)
        count += 1
    return count
