"""Admin plumbing: every change made in /admin/ is traced (mode `admin`) and flagged for the DPO.

The trail itself is not registered here: traces are read in the DPO console only (`/controle/`),
where reading them is itself traced. Apps register their models with `TracedModelAdmin` (or a
read-only admin); tests/security/test_admin.py walks the registry and fails on any other.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import transaction
from django.utils import translation

from . import services
from .constants import Action, Mode


def _describe(obj) -> str:
    return getattr(obj, "public_id", None) or obj.pk


def _summary(message) -> str:
    """The admin's change message in English, field names only (never a value)."""
    if not message:
        return ""
    text = json.dumps(message) if isinstance(message, list) else str(message)
    with translation.override("en"):
        return LogEntry(change_message=text).get_change_message()[:500]


def trace_admin_change(request, obj, action: Action, message="", extra: str = "") -> None:
    """Trace one admin change, committed with it (the admin's views run in a transaction)."""
    meta = obj._meta
    reason = " ".join(part for part in (_summary(message), extra) if part)
    with transaction.atomic():
        services.record(
            actor=request.user,
            action=action,
            mode=Mode.ADMIN,
            object_type=f"admin:{meta.app_label}.{meta.model_name}",
            object_id=_describe(obj),
            reason=reason,
        )


class TracedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose additions, changes and deletions (bulk ones too) write a flagged trace."""

    def trace_extra(self, obj) -> str:
        """What the DPO needs beyond the changed fields' names (e.g. an account's role)."""
        return ""

    def log_addition(self, request, obj, message):
        trace_admin_change(request, obj, Action.ADMIN_ADD, message, self.trace_extra(obj))
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        trace_admin_change(request, obj, Action.ADMIN_CHANGE, message, self.trace_extra(obj))
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            trace_admin_change(request, obj, Action.ADMIN_DELETE, "", str(obj)[:200])
        return super().log_deletions(request, queryset)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Shown for support, never changed in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
