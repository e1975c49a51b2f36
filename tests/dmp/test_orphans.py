"""Stored files no document references are removed after a grace period, in batches, traced."""

import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from dmp.feed import orphans as feed_orphans
from dmp.feed import tasks as feed_tasks

from .conftest import MINIMAL_PDF

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def stored(name: str, *, age_seconds: int = 0) -> str:
    """A file in the documents' storage, as dmp/services/documents.py writes them, `age_seconds` old."""
    saved = default_storage.save(f"dmp/2026/11/{name}", ContentFile(MINIMAL_PDF))
    if age_seconds:
        then = time.time() - age_seconds
        os.utime(default_storage.path(saved), (then, then))
    return saved


def test_only_old_files_no_document_references_are_removed_and_traced(fed_letter):
    kept_document = fed_letter.file.name
    os.utime(default_storage.path(kept_document), (time.time() - 3 * DAY,) * 2)
    orphan = stored("orphan.pdf", age_seconds=2 * DAY)
    young = stored("young.pdf")  # may belong to a transaction still running
    assert feed_orphans.remove_orphan_files() == [orphan]
    assert default_storage.exists(kept_document) and default_storage.exists(young)
    assert not default_storage.exists(orphan)
    trace = AuditEvent.objects.get(action="remove_orphan_files")
    assert trace.mode == "admin" and trace.object_ids == [orphan] and trace.actor_username == ""
    assert fed_letter.file.read(5) == b"%PDF-"


def test_a_dry_run_lists_and_removes_nothing(capsys):
    orphan = stored("orphan.pdf", age_seconds=2 * DAY)
    call_command("dmp_orphan_files", "--dry-run")
    assert capsys.readouterr().out.split() == [orphan]
    assert default_storage.exists(orphan) and not AuditEvent.objects.filter(action="remove_orphan_files").exists()
    call_command("dmp_orphan_files", "--older-than-hours", "1")
    assert not default_storage.exists(orphan)


def test_files_are_checked_against_documents_in_batches(monkeypatch, fed_letter):
    monkeypatch.setattr(feed_orphans, "BATCH", 10)
    names = [stored(f"orphan-{i}.pdf", age_seconds=2 * DAY) for i in range(25)]
    with CaptureQueriesContext(connection) as captured:
        removed = feed_orphans.remove_orphan_files()
    assert sorted(removed) == sorted(names)
    lookups = [q for q in captured.captured_queries if 'FROM "dmp_shareddocument"' in q["sql"]]
    assert len(lookups) == 3  # 26 files (25 orphans and the letter's) in batches of 10
    assert AuditEvent.objects.filter(action="remove_orphan_files").count() == 3


def test_the_beat_task_removes_them_and_an_empty_storage_is_fine():
    assert feed_tasks.remove_orphan_files() == 0
    stored("orphan.pdf", age_seconds=2 * DAY)
    assert feed_tasks.remove_orphan_files() == 1
