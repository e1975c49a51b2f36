"""Exports of traces, streamed row by row: CSV, and FHIR R4 AuditEvent (audit/fhir.py, as /fhir/AuditEvent).

Each format is a generator over the rows of `selectors.events_for_export` (a server-side
cursor), so memory stays flat whatever the number of traces.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterable, Iterator

from django.utils import timezone

from . import fhir, flags

CSV_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "actor_name",
    "actor_role",
    "actor_rpps",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "mode",
    "reason",
    "flagged",
    "flag_reasons",
    "reviewed",
    "ip",
    "request_id",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    text = str(value)
    # A spreadsheet must not run a name or reason as a formula (CSV injection).
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for row in rows:
        yield writer.writerow(
            [
                _cell(row["public_id"]),
                _cell(row["at"]),
                _cell(row["actor_id"]),
                _cell(row["actor_username"]),
                _cell(row["actor_name"]),
                _cell(row["actor_role"]),
                _cell(row["actor_rpps"]),
                _cell(row["patient_id"]),
                row["action"],
                _cell(row["object_type"]),
                _cell(row["object_id"]),
                row["outcome"],
                row["mode"],
                _cell(row["reason"]),
                "true" if flags.reasons(row) else "false",
                " ".join(flags.reasons(row)),
                "true" if row["review__id"] else "false",
                _cell(row["ip"]),
                _cell(row["request_id"]),
            ]
        )


# --- FHIR R4 AuditEvent: the one mapping of audit/fhir.py ----------------------------------------


def fhir_bundle(rows: Iterable[dict]) -> Iterator[str]:
    """A Bundle (type collection) of AuditEvents, written entry by entry."""
    head = {"resourceType": "Bundle", "type": "collection", "timestamp": timezone.now().isoformat()}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ',"entry":['
    first = True
    for row in rows:
        resource = fhir.audit_event(row)
        entry = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
        yield ("" if first else ",") + json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        first = False
    yield "]}"


FORMATS = {"csv": csv_rows, "fhir": fhir_bundle}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "fhir": "application/fhir+json"}
