"""The DPO's pages: traces to review (flagged first) and the integrity check; reading them is traced."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import integrity
from . import services as audit
from .access import may_review
from .constants import Action, Mode
from .models import AuditEvent, AuditSeal

PAGE = 50


def _require_reviewer(request):
    if not may_review(request.user):
        audit.record_refusal(actor=request.user, action=Action.LIST, code="forbidden", object_type="audit_event")
        raise PermissionDenied(_("La consultation des traces est réservée au délégué à la protection des données."))


@login_required
def console(request):
    _require_reviewer(request)
    with transaction.atomic():
        flagged = list(AuditEvent.objects.filter(flagged=True).order_by("-at")[:PAGE])
        latest = list(AuditEvent.objects.order_by("-at")[:PAGE])
        audit.record(
            actor=request.user,
            action=Action.LIST,
            mode=Mode.DPO_REVIEW,
            object_type="audit_event",
            object_ids=[e.public_id for e in flagged + latest],
        )
    last_seal = AuditSeal.objects.order_by("-id").only("sealed_at", "last_event_id", "count").first()
    return render(request, "audit/console.html", {"flagged": flagged, "latest": latest, "last_seal": last_seal})


@login_required
@require_POST
def verify_now(request):
    _require_reviewer(request)
    result = integrity.verify()
    with transaction.atomic():
        audit.record(actor=request.user, action=Action.VERIFY, mode=Mode.DPO_REVIEW, object_type="audit_chain")
    if result.ok:
        messages.success(
            request, _("Intégrité vérifiée : %(n)s traces scellées sont intactes.") % {"n": result.checked}
        )
    else:
        messages.error(
            request,
            _("Rupture d'intégrité à la trace n° %(id)s : %(why)s.")
            % {"id": result.first_broken_id, "why": result.problem},
        )
    return redirect("audit:console")
