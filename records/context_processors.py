"""The emergency-mode banner: active bris-de-glace windows of the signed-in professional."""

from django.utils import timezone


def emergency_banner(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and getattr(user, "is_chu_staff", False)):
        return {}
    from .models import EmergencyAccess

    now = timezone.now()
    active = list(
        EmergencyAccess.objects.filter(user=user, starts__lte=now, expires__gt=now)
        .select_related("patient")
        .order_by("expires")
    )
    return {"active_emergency_accesses": active}
