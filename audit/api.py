"""API of the traces (API.md, "Traces"): the event list (DPO: all; patient: about them by others) and verification."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import APIView

from chu_portal.api import page_params, paginated

from . import flags, selectors, services
from .access import may_review
from .models import AuditEvent


def event_json(event: AuditEvent) -> dict:
    codes = flags.reasons(event)
    return {
        "id": str(event.public_id),
        "at": event.at,
        "actor": {
            "name": event.actor_name or event.actor_username,
            "role": event.actor_role,
            "rpps": event.actor_rpps or None,
        },
        "patient": str(event.patient_id) if event.patient_id else None,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id or None,
        "outcome": event.outcome,
        "mode": event.mode,
        "flagged": bool(codes),
        "flag_reasons": codes,
    }


class AuditEventListView(APIView):
    def get(self, request):
        page, size = page_params(request)
        filters = selectors.parse_filters(request.query_params)
        events, total = services.trace_list(actor=request.user, filters=filters, page=page, page_size=size)
        items = [event_json(e) for e in events]
        if may_review(request.user):
            for item, event in zip(items, events, strict=True):
                item["reviewed"] = getattr(event, "review", None) is not None
        return paginated(request, items, total, page, size)


class AuditVerifyView(APIView):
    def get(self, request):
        result = services.chain_verify(actor=request.user)
        return Response(
            {
                "ok": result.ok,
                "checked": result.checked,
                "first_broken": str(result.first_broken_public_id) if result.first_broken_public_id else None,
                # The database number of the first broken trace: named even when the row was removed.
                "first_broken_seq": result.first_broken_id,
                "problem": result.problem,
                "unsealed": result.unsealed,
                "at": result.at,
            }
        )
