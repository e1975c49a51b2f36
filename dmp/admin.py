"""Admin of the DMP: the access and profile matrices (editable data); grants are read-only (consent services only)."""

from django.contrib import admin

from .models import AccessGrant, AccessMatrixEntry, ProfileMatrixEntry


@admin.register(AccessMatrixEntry)
class AccessMatrixEntryAdmin(admin.ModelAdmin):
    list_display = ("document_key", "profession", "allowed")
    list_editable = ("allowed",)
    list_filter = ("profession", "document_key")


@admin.register(ProfileMatrixEntry)
class ProfileMatrixEntryAdmin(admin.ModelAdmin):
    """Which profile kinds (allergies, treatments...) each profession reads (docs/domain.md, "The medical profile")."""

    list_display = ("kind", "profession", "allowed")
    list_editable = ("allowed",)
    list_filter = ("profession", "kind")


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    """Shown for support; never created or edited here (docs/domain.md "Consent": consent services only)."""

    list_display = ("public_id", "professional", "source", "starts", "expires", "revoked_at")
    readonly_fields = [f.name for f in AccessGrant._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
