"""Admin of the DMP: the access and profile matrices (editable, every change traced and flagged); grants are
read-only (consent services only)."""

from django.contrib import admin

from audit.admin import ReadOnlyModelAdmin, TracedModelAdmin

from .models import AccessGrant, AccessMatrixEntry, ProfileMatrixEntry


@admin.register(AccessMatrixEntry)
class AccessMatrixEntryAdmin(TracedModelAdmin):
    list_display = ("document_key", "profession", "allowed")
    list_editable = ("allowed",)
    list_filter = ("profession", "document_key")

    def trace_extra(self, obj) -> str:
        return f"{obj.document_key} / {obj.profession}: allowed={obj.allowed}"


@admin.register(ProfileMatrixEntry)
class ProfileMatrixEntryAdmin(TracedModelAdmin):
    """Which profile kinds (allergies, treatments...) each profession reads (docs/domain.md, "The medical profile")."""

    list_display = ("kind", "profession", "allowed")
    list_editable = ("allowed",)
    list_filter = ("profession", "kind")

    def trace_extra(self, obj) -> str:
        return f"{obj.kind} / {obj.profession}: allowed={obj.allowed}"


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyModelAdmin):
    """Shown for support; never created or edited here (docs/domain.md "Consent": consent services only)."""

    list_display = ("public_id", "professional", "source", "starts", "expires", "revoked_at")
    readonly_fields = [f.name for f in AccessGrant._meta.fields]
