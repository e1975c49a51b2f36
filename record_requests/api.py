"""API of record requests (docs/api.md, "Record requests"), over the same services as the pages.

Each response is written by the serializer that the OpenAPI schema describes (one source, no drift); each view
carries its own schema (`extend_schema`). A representative names the patient she acts for with `?patient=` (GET)
or `patient_id` (POST), as the DMP's endpoints do; without it, her own record.
"""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chu_portal.api import page_params, paginated
from chu_portal.errors import InvalidInput
from chu_portal.ids import as_uuid
from chu_portal.schema import PAGE_PARAMETERS, Instant, PersonSerializer, checked_by_service, page_of, responses

from .constants import OPEN_STATUSES, Delivery, HeirReason, RefusalReason, RequesterKind, RequestStatus
from .deadlines import is_overdue
from .services import delivery, office, requests

TAG = ["record requests"]
INBOX_TAG = ["secure messages"]
RPPS_PATTERN = r"^[0-9]{11}$"
RPPS_SCHEMA = {"type": "string", "pattern": RPPS_PATTERN, "maxLength": 11}
STAYS_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "format": "uuid"},
    "description": "Public ids of the stays asked for; empty or omitted: the whole record (the stays the requester "
    "may ask for).",
}
PDF = {(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The copy (PDF).")}

ACTING_FOR = OpenApiParameter(
    "patient",
    OpenApiTypes.UUID,
    description="A representative: the id of the patient she acts for (listed by /api/v1/me/); omitted: her own.",
)


# --- Response shapes ------------------------------------------------------------------------------


class RequestedStaySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    unit = serializers.CharField(source="unit.name")
    admitted_at = Instant()
    discharged_at = Instant(allow_null=True)


class RecordRequestSerializer(serializers.Serializer):
    """A request for a copy of the hospital record: who asked, what, in what form, its legal dates and state."""

    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="patient.public_id")
    patient_name = serializers.CharField(source="patient.display_name")
    requester_kind = serializers.ChoiceField(choices=RequesterKind.choices)
    requested_by = PersonSerializer(help_text="The account that asked, or the office's agent who recorded an heir.")
    heir_name = serializers.CharField(allow_blank=True)
    heir_relation = serializers.CharField(allow_blank=True)
    heir_reason = serializers.ChoiceField(choices=HeirReason.choices, allow_blank=True)
    death_date = serializers.DateField(allow_null=True)
    all_stays = serializers.BooleanField()
    stays = RequestedStaySerializer(many=True, source="stays.all")
    delivery = serializers.ChoiceField(choices=Delivery.choices)
    named_doctor = PersonSerializer(allow_null=True)
    received_at = Instant(help_text="The complete request received: the deadlines run from this day.")
    long_delay = serializers.BooleanField(help_text="Information older than 5 years: 2 months instead of 8 days.")
    earliest_release_at = Instant(help_text="The copy is released no earlier (the 48-hour reflection period).")
    due_on = serializers.DateField(help_text="The legal due day (Europe/Paris).")
    overdue = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    validated_by = PersonSerializer(allow_null=True)
    validated_at = Instant(allow_null=True)
    include_handover_notes = serializers.BooleanField()
    refusal_reason = serializers.ChoiceField(choices=RefusalReason.choices, allow_blank=True)
    refusal_note = serializers.CharField(allow_blank=True)
    refused_at = Instant(allow_null=True)
    answered_at = Instant(allow_null=True)
    progress = serializers.IntegerField(
        source="bundle.progress", allow_null=True, help_text="0 to 100 while the copy is made; null before."
    )
    expires_at = Instant(source="bundle.expires_at", allow_null=True)
    bundle_url = serializers.SerializerMethodField()

    def get_overdue(self, request) -> bool:
        return is_overdue(request.due_on, request.status not in OPEN_STATUSES)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_bundle_url(self, request):
        if request.status != RequestStatus.AVAILABLE:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api:record-request-bundle", kwargs={"record_request_id": request.public_id})
        )


class QueueCountsSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    validated = serializers.IntegerField()
    ready = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text="Open requests past their due day.")
    due_today = serializers.IntegerField()


class QueuePageSerializer(page_of(RecordRequestSerializer)):
    """A page of the queue, with the dashboard's counts over the whole queue."""

    counts = QueueCountsSerializer()


class SecureMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    subject = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    sent_at = Instant()
    read_at = Instant(allow_null=True)
    record_request = serializers.UUIDField(source="bundle.request.public_id", allow_null=True)
    bundle_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_bundle_url(self, message):
        if message.bundle_id is None:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api:secure-message-bundle", kwargs={"message_id": message.public_id})
        )


# --- Request bodies -------------------------------------------------------------------------------


class RecordRequestCreateSerializer(serializers.Serializer):
    patient_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="A representative: the patient she acts for; omitted: her own."
    )
    stays = checked_by_service(serializers.ListField(child=serializers.CharField(), required=False), STAYS_SCHEMA)
    delivery = checked_by_service(
        serializers.CharField(required=False, default=Delivery.DOWNLOAD),
        {"type": "string", "enum": Delivery.values, "default": Delivery.DOWNLOAD},
    )
    named_doctor_rpps = checked_by_service(
        serializers.CharField(required=False, allow_blank=True, allow_null=True),
        {**RPPS_SCHEMA, "nullable": True, "description": "The doctor to send the copy to (delivery `doctor`)."},
    )


class ValidateSerializer(serializers.Serializer):
    include_handover_notes = serializers.BooleanField(required=False, default=False)


class RefuseSerializer(serializers.Serializer):
    reason = checked_by_service(serializers.CharField(), {"type": "string", "enum": RefusalReason.values})
    note = checked_by_service(
        serializers.CharField(required=False, allow_blank=True, default=""),
        {"type": "string", "maxLength": office.REFUSAL_NOTE_MAX},
    )


class HeirRequestSerializer(serializers.Serializer):
    patient_id = serializers.UUIDField()
    heir_name = checked_by_service(serializers.CharField(allow_blank=True), {"type": "string", "minLength": 1})
    heir_relation = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    heir_reason = checked_by_service(serializers.CharField(), {"type": "string", "enum": HeirReason.values})
    death_date = checked_by_service(serializers.CharField(), {"type": "string", "format": "date"})
    received_on = checked_by_service(
        serializers.CharField(),
        {"type": "string", "format": "date", "description": "The day the complete paper file was received."},
    )
    named_doctor_rpps = checked_by_service(serializers.CharField(allow_blank=True), RPPS_SCHEMA)
    stays = checked_by_service(serializers.ListField(child=serializers.CharField(), required=False), STAYS_SCHEMA)


def _acting_for(request):
    patient = request.query_params.get("patient") or None
    if patient is not None and as_uuid(patient) is None:
        raise InvalidInput(_("Identifiant de patient invalide."), fields={"patient": _("Identifiant invalide.")})
    return as_uuid(patient)


def _one(request, record_request, code=status.HTTP_200_OK) -> Response:
    return Response(RecordRequestSerializer(record_request, context={"request": request}).data, status=code)


def _pdf(bundle, handle, filename: str) -> FileResponse:
    response = FileResponse(handle, content_type="application/pdf", as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    return response


# --- Views ------------------------------------------------------------------------------------------


class RecordRequestsView(APIView):
    @extend_schema(
        tags=TAG,
        operation_id="record_requests_list",
        parameters=[*PAGE_PARAMETERS, ACTING_FOR],
        responses=responses({200: page_of(RecordRequestSerializer)}, 400, 401, 403, 404),
    )
    def get(self, request):
        """The caller's requests: about her own record, or (`patient`) those she made for the person she represents."""
        page, size = page_params(request, default_size=requests.PAGE_SIZE)
        result = requests.requests_mine(actor=request.user, patient_id=_acting_for(request), page=page, page_size=size)
        items = RecordRequestSerializer(result.items, many=True, context={"request": request}).data
        return paginated(request, items, result.total, page, size)

    @extend_schema(
        tags=TAG,
        request=RecordRequestCreateSerializer,
        responses=responses({201: RecordRequestSerializer}, 400, 401, 403, 404),
    )
    def post(self, request):
        """Ask for a copy of the hospital record (the patient, or her parent or guardian with `patient_id`)."""
        data = RecordRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        created = requests.request_create(
            actor=request.user,
            patient_id=values.get("patient_id") or _acting_for(request),
            stays=values.get("stays") or None,
            delivery=values.get("delivery") or Delivery.DOWNLOAD,
            named_doctor_rpps=values.get("named_doctor_rpps") or None,
        )
        return _one(request, created, status.HTTP_201_CREATED)


class RecordRequestDetailView(APIView):
    @extend_schema(tags=TAG, responses=responses({200: RecordRequestSerializer}, 401, 404))
    def get(self, request, record_request_id):
        found, _decision = requests.request_get(actor=request.user, request_id=record_request_id)
        return _one(request, found)


class RecordRequestValidateView(APIView):
    @extend_schema(
        tags=TAG,
        request=ValidateSerializer,
        responses=responses({200: RecordRequestSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, record_request_id):
        """A doctor of the units concerned (or the office's doctor) validates: the copy is made, then released."""
        data = ValidateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        validated = office.request_validate(
            actor=request.user,
            request_id=record_request_id,
            include_handover_notes=data.validated_data["include_handover_notes"],
        )
        return _one(request, validated)


class RecordRequestRefuseView(APIView):
    @extend_schema(
        tags=TAG,
        request=RefuseSerializer,
        responses=responses({200: RecordRequestSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, record_request_id):
        """A refusal on a ground the law allows (`reason`), with a `note` for the requester."""
        data = RefuseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refused = office.request_refuse(actor=request.user, request_id=record_request_id, **data.validated_data)
        return _one(request, refused)


class RecordRequestBundleView(APIView):
    @extend_schema(tags=TAG, responses=responses(PDF, 401, 404, 409, 410))
    def get(self, request, record_request_id):
        """The copy, for the requester once released (409 `not_ready`, `reflection_period`; 410 `gone`); traced."""
        bundle, handle = delivery.bundle_download(actor=request.user, request_id=record_request_id)
        return _pdf(bundle, handle, "copie-dossier-chu.pdf")


class RecordRequestQueueView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("status", str, enum=[office.OPEN, *RequestStatus.values]),
            OpenApiParameter("overdue", bool, description="Only the open requests past their due day."),
        ],
        responses=responses({200: QueuePageSerializer}, 400, 401, 403),
    )
    def get(self, request):
        """The medical records office's queue (a doctor: the requests he may validate), soonest due first."""
        page, size = page_params(request, default_size=office.PAGE_SIZE)
        overdue = str(request.query_params.get("overdue", "")).strip().lower() in {"1", "true", "yes", "on"}
        result = office.office_queue_page(
            actor=request.user,
            status=request.query_params.get("status") or None,
            overdue=overdue,
            page=page,
            page_size=size,
        )
        items = RecordRequestSerializer(result.items, many=True, context={"request": request}).data
        response = paginated(request, items, result.total, page, size)
        response.data["counts"] = QueueCountsSerializer(result.counts).data
        return response


class HeirRequestView(APIView):
    @extend_schema(
        tags=TAG,
        request=HeirRequestSerializer,
        responses=responses({201: RecordRequestSerializer}, 400, 401, 403, 404),
    )
    def post(self, request):
        """The office records an heir's paper request (CSP L.1110-4 V); the copy goes to the doctor he names."""
        data = HeirRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["stays"] = values.get("stays") or None
        created = requests.heir_request_record(actor=request.user, **values)
        return _one(request, created, status.HTTP_201_CREATED)


class SecureMessagesView(APIView):
    @extend_schema(
        tags=INBOX_TAG,
        operation_id="secure_messages_list",
        parameters=PAGE_PARAMETERS,
        responses=responses({200: page_of(SecureMessageSerializer)}, 400, 401, 403),
    )
    def get(self, request):
        """The doctor's secure inbox (the local stand-in for MSSanté): copies of records sent to him."""
        page, size = page_params(request, default_size=delivery.PAGE_SIZE)
        result = delivery.inbox_page(actor=request.user, page=page, page_size=size)
        items = SecureMessageSerializer(result.items, many=True, context={"request": request}).data
        return paginated(request, items, result.total, page, size)


class SecureMessageBundleView(APIView):
    @extend_schema(tags=INBOX_TAG, responses=responses(PDF, 401, 403, 404, 409, 410))
    def get(self, request, message_id):
        """The copy attached to a message of the caller's own inbox; traced, the requester told."""
        bundle, handle = delivery.message_bundle_download(actor=request.user, message_id=message_id)
        return _pdf(bundle, handle, "copie-dossier-chu.pdf")
