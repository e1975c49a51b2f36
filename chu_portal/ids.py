"""Public ids: every id in a URL or a body is an opaque UUID (docs/domain.md, "Identifiers")."""

from __future__ import annotations

import uuid

from .errors import AccessDenied, Decision


def as_uuid(value) -> uuid.UUID | None:
    """The UUID a caller sent, or None when it is not one (callers answer 404 or 400)."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def find_by_public_id(queryset, value):
    """The row of `queryset` (or manager) whose public id is `value`, or None (not a UUID, no such row)."""
    key = as_uuid(value)
    return queryset.filter(public_id=key).first() if key else None


def get_by_public_id_or_404(queryset, value, not_found: str):
    """The row of `queryset` whose public id is `value`; refused as not found (404) otherwise."""
    found = find_by_public_id(queryset, value)
    if found is None:
        raise AccessDenied(Decision.deny("not_found", not_found, status=404))
    return found
