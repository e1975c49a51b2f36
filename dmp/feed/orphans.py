"""Stored files no DMP document references (a worker or a request killed between writing the file
and committing its document): found in batches and removed after a grace period; traced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.constants import Mode, ObjectType

from ..constants import FeedAction
from ..models import SharedDocument

# Where dmp/services/documents.py stores every document file (uploads and fed reports alike).
DOCUMENTS_PREFIX = "dmp"
BATCH = 500


def _walk(path: str) -> Iterator[str]:
    """Every stored file under `path`, through the storage API only (the filesystem or an object store).

    An object store has no directories, only key prefixes: listdir answers the "directories" one level down
    (S3: one delimited LIST per prefix, 1,000 keys a page) and a prefix without files answers nothing; the
    filesystem raises FileNotFoundError for a folder not created yet."""
    try:
        directories, files = default_storage.listdir(path)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{path}/{name}"
    for directory in sorted(directories):
        yield from _walk(f"{path}/{directory}")


def orphan_files(*, older_than: timedelta | None = None, now=None) -> Iterator[str]:
    """Names of stored document files that no document references and that are older than the
    grace period (a file younger than that may belong to a transaction still running).

    One query per BATCH files, whatever the number of documents. No `exists(DOCUMENTS_PREFIX)` first: on an
    object store a prefix never "exists" (no object bears its name) though files lie under it. The age is asked
    only of the files no document references (S3: one HEAD each)."""
    grace = older_than if older_than is not None else timedelta(hours=settings.DMP_ORPHAN_FILE_GRACE_HOURS)
    cutoff = (now or timezone.now()) - grace
    names = _walk(DOCUMENTS_PREFIX)
    while batch := list(islice(names, BATCH)):
        referenced = set(SharedDocument.objects.filter(file__in=batch).values_list("file", flat=True))
        for name in batch:
            if name not in referenced and default_storage.get_modified_time(name) < cutoff:
                yield name


def remove_orphan_files(*, older_than: timedelta | None = None, dry_run: bool = False) -> list[str]:
    """Remove the orphan files; each batch removed is traced (mode `admin`, no actor: the system)."""
    removed: list[str] = []
    found = orphan_files(older_than=older_than)
    while batch := list(islice(found, BATCH)):
        if dry_run:
            removed += batch
            continue
        with transaction.atomic():
            audit.record(
                actor=None,
                action=FeedAction.REMOVE_ORPHAN_FILES,
                mode=Mode.ADMIN,
                object_type=ObjectType.STORAGE_FILE,
                object_ids=batch,
            )
        for name in batch:
            default_storage.delete(name)
        removed += batch
    return removed
