"""The access matrix (docs/domain.md, "The access matrix") read from Django's cache: Redis in production,
local memory in the embedded mode; every change invalidates it once committed.

The matrix is read by every professional's list in a matrix mode (consent, emergency, SAMU); it changes only
in the admin, rarely. The whole matrix is cached under a random version token (`VERSION_KEY`); a change
(save or delete of a row, the admin's included: `AccessMatrixEntry` signals, connected in `DmpConfig.ready`;
a migration or a flush: `post_migrate`) deletes the token once its transaction commits, so the next reader
draws a new token and reads the table again. Each process keeps the copy it read beside its token, so a
request reads only the token from the cache while the matrix is unchanged. A reader that read the old table while the change was being
committed stores it under the old token, which nobody reads any more (no stale write-back). Inside a
transaction the table is read directly, never cached: that transaction may hold an uncommitted change (or
be rolled back). The token and the entries expire after `TIMEOUT` seconds, the bound for changes made without signals
(`QuerySet.update`, raw SQL) and for local-memory caches of other processes.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection, transaction

logger = logging.getLogger(__name__)
VERSION_KEY = "dmp:access-matrix:version"
TIMEOUT = 300


def allowed_keys(profession: str) -> list[str]:
    """The document keys (LOINC types, "90") `profession` may read, ordered by key, as the table says now."""
    if connection.in_atomic_block:
        return _read().get(profession, [])
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, TIMEOUT)
        version = cache.get(VERSION_KEY)
        if version is None:  # evicted at once: read the table
            return _read().get(profession, [])
    known = _process_copy
    if known is not None and known[0] == version:  # this process read this version already: one cache read
        return known[1].get(profession, [])
    key = f"dmp:access-matrix:{version}"
    matrix = cache.get(key)
    if matrix is None:
        matrix = _read()
        cache.set(key, matrix, TIMEOUT)
    _remember(version, matrix)
    return matrix.get(profession, [])


# (version, matrix) last read by this process: valid while the shared version token is the same.
_process_copy: tuple[str, dict[str, list[str]]] | None = None


def _remember(version: str, matrix: dict[str, list[str]]) -> None:
    global _process_copy
    _process_copy = (version, matrix)


def _read() -> dict[str, list[str]]:
    from .models import AccessMatrixEntry

    matrix: dict[str, list[str]] = {}
    rows = AccessMatrixEntry.objects.filter(allowed=True).order_by("document_key", "profession")
    for profession, key in rows.values_list("profession", "document_key"):
        matrix.setdefault(profession, []).append(key)
    return matrix


def forget() -> None:
    """The next reader reads the table again (under a new version token)."""
    cache.delete(VERSION_KEY)


def changed(**_kwargs) -> None:
    """A row saved or deleted: forget the cached matrix once the change commits (at once outside a transaction)."""
    transaction.on_commit(forget)


def migrated(**_kwargs) -> None:
    """After migrations and flushes (tests), which change the table without the model's signals. A cache
    that cannot be reached then does not stop a migration: its copy expires within `TIMEOUT` anyway."""
    try:
        forget()
    except Exception:  # noqa: BLE001 - any cache backend's connection error
        logger.warning("dmp.matrix: the cached access matrix could not be forgotten after migrate", exc_info=True)
