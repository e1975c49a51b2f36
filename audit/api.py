"""API of the traces (docs/api.md, "Traces"): the event list (DPO: all; patient: about them by others) and verification."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from chu_portal.api import page_params, paginated
from chu_portal.schema import PAGE_PARAMETERS, page_of, responses

from . import flags, review, selectors
from .access import may_review
from .constants import Mode, Outcome
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


class TraceActorSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_blank=True)
    rpps = serializers.CharField(allow_null=True)


class TraceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    at = serializers.DateTimeField()
    actor = TraceActorSerializer()
    patient = serializers.UUIDField(allow_null=True)
    action = serializers.CharField()
    object_type = serializers.CharField(allow_blank=True)
    object_id = serializers.CharField(allow_null=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    mode = serializers.ChoiceField(choices=Mode.choices, allow_blank=True)
    flagged = serializers.BooleanField()
    flag_reasons = serializers.ListField(child=serializers.CharField())
    reviewed = serializers.BooleanField(required=False, help_text="DPO only.")


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_broken = serializers.UUIDField(allow_null=True)
    first_broken_seq = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(allow_blank=True)
    unsealed = serializers.IntegerField()
    at = serializers.DateTimeField()


_FILTERS = [
    OpenApiParameter("patient", str, description="A patient's id (UUID)."),
    OpenApiParameter("actor", str, description="Actor's username or name (contains)."),
    OpenApiParameter("action", str),
    OpenApiParameter("mode", str, enum=[m for m in Mode.values if m]),
    OpenApiParameter("outcome", str, enum=Outcome.values),
    OpenApiParameter("since", str, description="YYYY-MM-DD or ISO 8601 date-time."),
    OpenApiParameter("until", str, description="YYYY-MM-DD or ISO 8601 date-time."),
    OpenApiParameter("flagged", bool),
]


@extend_schema(
    tags=["traces"],
    parameters=[*_FILTERS, *PAGE_PARAMETERS],
    responses=responses({200: page_of(TraceSerializer)}, 400, 401, 403),
)
class AuditEventListView(APIView):
    def get(self, request):
        page, size = page_params(request)
        filters = selectors.parse_filters(request.query_params)
        events, total = review.trace_list(actor=request.user, filters=filters, page=page, page_size=size)
        items = [event_json(e) for e in events]
        if may_review(request.user):
            for item, event in zip(items, events, strict=True):
                item["reviewed"] = getattr(event, "review", None) is not None
        return paginated(request, items, total, page, size)


@extend_schema(tags=["traces"], responses=responses({200: VerifySerializer}, 401, 403))
class AuditVerifyView(APIView):
    def get(self, request):
        result = review.chain_verify(actor=request.user)
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
