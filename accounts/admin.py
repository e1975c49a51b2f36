"""Admin of accounts and reference data (no medical content is registered in the admin)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ProfessionalProfile, Unit, User


class ProfessionalProfileInline(admin.StackedInline):
    model = ProfessionalProfile
    can_delete = False
    filter_horizontal = ("units",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (*BaseUserAdmin.fieldsets, ("CHU Portal", {"fields": ("role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("CHU Portal", {"fields": ("role",)}))
    inlines = [ProfessionalProfileInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.action(description="Réinitialiser le second facteur (perte du téléphone)")
def reset_second_factor(modeladmin, request, queryset):
    from .second_factor import second_factor_reset

    for user in queryset:
        second_factor_reset(actor=request.user, user=user)
    modeladmin.message_user(request, f"Second facteur réinitialisé pour {queryset.count()} compte(s) ; action tracée.")


UserAdmin.actions = [reset_second_factor]
