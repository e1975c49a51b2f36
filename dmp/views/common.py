"""Helpers shared by the DMP pages."""

from __future__ import annotations


def page_number(request) -> int:
    """The ?page= of a list, 1 when missing or not a number."""
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1
