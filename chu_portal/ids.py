"""Public ids: every id in a URL or a body is an opaque UUID (DECISIONS.md, "Identifiers")."""

from __future__ import annotations

import uuid


def as_uuid(value) -> uuid.UUID | None:
    """The UUID a caller sent, or None when it is not one (callers answer 404 or 400)."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
