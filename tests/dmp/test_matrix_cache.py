"""The access matrix is read from the cache (dmp/matrix.py, issue 23) and never outlives a committed change."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dmp import matrix
from dmp.constants import DocumentType
from dmp.models import AccessMatrixEntry

# Outside a transaction (as a request reads it): transactional tests, each starting from the seeded matrix.
pytestmark = pytest.mark.django_db(transaction=True)

PHARMACIST = "pharmacien"
KEY = DocumentType.OPERATIVE_REPORT


def entry() -> AccessMatrixEntry:
    return AccessMatrixEntry.objects.get(profession=PHARMACIST, document_key=KEY)


def set_allowed(allowed: bool) -> None:
    cell = entry()
    cell.allowed = allowed
    cell.save()  # as the admin saves it (TracedModelAdmin)


def test_a_second_read_costs_no_query_and_says_what_the_table_says():
    set_allowed(False)
    assert KEY not in matrix.allowed_keys(PHARMACIST)
    with CaptureQueriesContext(connection) as queries:
        keys = matrix.allowed_keys(PHARMACIST)
    assert len(queries) == 0
    expected = list(
        AccessMatrixEntry.objects.filter(profession=PHARMACIST, allowed=True)
        .order_by("document_key")
        .values_list("document_key", flat=True)
    )
    assert keys == expected


def test_a_saved_and_a_deleted_cell_are_read_at_once():
    set_allowed(False)
    assert KEY not in matrix.allowed_keys(PHARMACIST)  # cached
    set_allowed(True)
    assert KEY in matrix.allowed_keys(PHARMACIST)
    entry().delete()
    assert KEY not in matrix.allowed_keys(PHARMACIST)


def test_a_change_counts_once_committed_and_a_rolled_back_one_never():
    set_allowed(False)
    assert KEY not in matrix.allowed_keys(PHARMACIST)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        set_allowed(True)
        assert KEY in matrix.allowed_keys(PHARMACIST)  # its own transaction sees it (read directly, not cached)
        raise Undo
    assert KEY not in matrix.allowed_keys(PHARMACIST)

    with transaction.atomic():
        set_allowed(True)
    assert KEY in matrix.allowed_keys(PHARMACIST)


def test_a_reader_of_the_old_table_does_not_write_it_back_after_the_change():
    """A request that read the table just before a change committed stores it under the forgotten version."""
    set_allowed(False)
    matrix.allowed_keys(PHARMACIST)
    from django.core.cache import cache

    old_version = cache.get(matrix.VERSION_KEY)
    set_allowed(True)  # committed: the version is forgotten
    cache.set(f"dmp:access-matrix:{old_version}", {PHARMACIST: []}, matrix.TIMEOUT)  # the late write-back
    assert KEY in matrix.allowed_keys(PHARMACIST)


def test_a_migration_forgets_the_cached_matrix_and_survives_an_unreachable_cache(monkeypatch):
    from django.core.cache import cache

    matrix.allowed_keys(PHARMACIST)
    assert cache.get(matrix.VERSION_KEY) is not None
    matrix.migrated()
    assert cache.get(matrix.VERSION_KEY) is None

    def unreachable(*_args, **_kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "delete", unreachable)
    matrix.migrated()  # logged, not raised: the migration goes on
