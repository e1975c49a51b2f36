"""The DMP's banners: a professional's open bris-de-glace/SAMU windows, a patient's unseen alerts, whose record a
representative has open."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import PROFESSIONAL_ROLES, Role


def emergency(request):
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    if user.role in PROFESSIONAL_ROLES:
        from .access import live_emergency_accesses
        from .constants import NotificationKind
        from .models import Notification

        return {
            "dmp_emergency_accesses": list(live_emergency_accesses(user)),
            # Patients' answers to the professional's consent requests not seen yet.
            "dmp_unseen_answers": Notification.objects.filter(
                recipient=user, kind=NotificationKind.CONSENT_ANSWER, read_at__isnull=True
            ).count(),
        }
    if user.role == Role.PATIENT:
        from .acting import SESSION_KEY, represented
        from .constants import ConsentStatus, NotificationKind
        from .models import ConsentRequest, Notification

        people = represented(user)
        chosen = str(request.session.get(SESSION_KEY, "")) if hasattr(request, "session") else ""
        acting_for = next((p for p in people if str(p.public_id) == chosen), None)
        # The pending requests of the record open now: the person she acts for, else her own.
        open_record = Q(record__patient=acting_for.pk) if acting_for else Q(record__patient__account=user)
        return {
            # Whose record is open (the banner), and the people she may switch to.
            "dmp_represented": people,
            "dmp_acting_for": acting_for,
            # Shown on every page from the next sign-in until the patient says they have seen them.
            # Hers, and those of the people she represents while she does (issue 21).
            "dmp_emergency_alerts": list(
                Notification.objects.filter(
                    recipient=user, kind=NotificationKind.EMERGENCY_ACCESS, read_at__isnull=True
                ).filter(
                    Q(record__isnull=True)
                    | Q(record__patient__account=user)
                    | Q(record__patient__in=[p.pk for p in people])
                )[:5]
            ),
            "dmp_pending_requests": ConsentRequest.objects.filter(
                open_record,
                status=ConsentStatus.PENDING,
                created_at__gte=timezone.now() - timedelta(days=settings.DMP_CONSENT_REQUEST_EXPIRY_DAYS),
            ).count(),
        }
    return {}
