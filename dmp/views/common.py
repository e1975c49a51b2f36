"""Helpers shared by the DMP pages."""

from __future__ import annotations

from chu_portal.api import page_params


def page_number(request) -> int:
    """The ?page= of a list, 1 when missing or not a number (chu_portal.api.page_params, lenient)."""
    return page_params(request, strict=False)[0]
