"""API of the traces (docs/api.md, "Traces"): the event list (DPO: all; patient: about them by others) and verification."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from chu_portal.api import page_params, paginated
from chu_portal.schema import PAGE_PARAMETERS, Instant, page_of, responses

from . import flags, review, selectors
from .access import may_review
from .constants import Mode, Outcome
from .models import AuditEvent


class TraceActorSerializer(serializers.Serializer):
    name = serializers.SerializerMethodField()
    role = serializers.CharField(source="actor_role", allow_blank=True)
    rpps = serializers.SerializerMethodField()

    def get_name(self, event: AuditEvent) -> str:
        return event.actor_name or event.actor_username

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_rpps(self, event: AuditEvent) -> str | None:
        return event.actor_rpps or None


class ReviewedField(serializers.BooleanField):
    """Whether the DPO reviewed the trace: an optional key (absent for whoever does not review)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", required=False, **kwargs)

    def to_representation(self, value: AuditEvent) -> bool:
        return getattr(value, "review", None) is not None


class TraceSerializer(serializers.Serializer):
    """A trace as the API lists it; `reviewed` only for whoever reviews traces (context `reviewer`)."""

    id = serializers.UUIDField(source="public_id")
    at = Instant()
    actor = TraceActorSerializer(source="*")
    patient = serializers.UUIDField(source="patient_id", allow_null=True)
    action = serializers.CharField()
    object_type = serializers.CharField(allow_blank=True)
    object_id = serializers.SerializerMethodField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    mode = serializers.ChoiceField(choices=Mode.choices, allow_blank=True)
    flagged = serializers.SerializerMethodField()
    flag_reasons = serializers.SerializerMethodField()
    reviewed = ReviewedField(help_text="DPO only.")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_object_id(self, event: AuditEvent) -> str | None:
        return event.object_id or None

    def get_flagged(self, event: AuditEvent) -> bool:
        return bool(flags.reasons(event))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_flag_reasons(self, event: AuditEvent) -> list[str]:
        return flags.reasons(event)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("reviewer"):
            del data["reviewed"]
        return data


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_broken = serializers.UUIDField(source="first_broken_public_id", allow_null=True)
    # The database number of the first broken trace: named even when the row was removed.
    first_broken_seq = serializers.IntegerField(source="first_broken_id", allow_null=True)
    problem = serializers.CharField(allow_blank=True)
    unsealed = serializers.IntegerField()
    at = Instant()


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
        items = TraceSerializer(events, many=True, context={"reviewer": may_review(request.user)}).data
        return paginated(request, items, total, page, size)


@extend_schema(tags=["traces"], responses=responses({200: VerifySerializer}, 401, 403))
class AuditVerifyView(APIView):
    def get(self, request):
        return Response(VerifySerializer(review.chain_verify(actor=request.user)).data)
