"""Read-only admin views of traces and seals (no medical content lives in a trace)."""

from django.contrib import admin

from .models import AuditEvent, AuditSeal


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_username", "actor_role", "action", "object_type", "outcome", "mode", "flagged")
    list_filter = ("outcome", "mode", "action", "flagged")
    search_fields = ("actor_username", "=patient_id", "=object_id", "=request_id")


@admin.register(AuditSeal)
class AuditSealAdmin(ReadOnlyAdmin):
    list_display = ("id", "sealed_at", "first_event_id", "last_event_id", "count", "hash")
    exclude = ("entries",)
