"""API of the shared record (docs/api.md, "Shared record (DMP)"), over the same services as the pages.

Each response is written by the serializer that the OpenAPI schema describes (one source, no drift);
each view carries its own schema (`extend_schema`), nothing is attached from another module.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import ConsentRequestThrottle
from chu_portal.api import page_params, paginated
from chu_portal.errors import InvalidInput
from chu_portal.ids import as_uuid
from chu_portal.schema import PAGE_PARAMETERS, Instant, PersonSerializer, checked_by_service, page_of, responses

from . import access, files
from .consent import blocking, requests
from .consent import emergency as consent_emergency
from .consent import grants as consent_grants
from .consent.checks import PURPOSE_MAX, REASON_MIN
from .constants import (
    ConsentStatus,
    DesignationKind,
    DesignationStatus,
    DocumentClass,
    DocumentSource,
    DocumentStatus,
    DocumentType,
    EmergencyMode,
    GrantSource,
    NotificationKind,
    ObjectionStatus,
    ProfileKind,
    RecordStatus,
    WithdrawalReason,
)
from .services import designations, documents, lifecycle, notifications, professionals, record_settings, withdrawal
from .services import profile as profile_service
from .services.records import record_by_patient_id

TAG = ["shared record (DMP)"]
CONSENT_TAG = ["consent and emergency"]
GP_TAG = ["GP-level rights"]
NOTIFICATION_TAG = ["notifications"]
# DMP refusals: 403 forbidden / blocked / dmp_closed / dmp_opposed; 404 for what may not be revealed.
READ_ERRORS = (400, 401, 403, 404)
RPPS_PATTERN = r"^[0-9]{11}$"
INS_PATTERN = r"^[12][0-9]{4}[0-9AB][0-9]{9}$"  # 15 characters (Corsica: 2A, 2B)


# --- Response shapes ------------------------------------------------------------------------------


class LookupResultSerializer(serializers.Serializer):
    patient_id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")


class DocumentSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="record.patient.public_id")
    title = serializers.CharField()
    type_code = serializers.ChoiceField(choices=DocumentType.choices)
    type_display = serializers.CharField(source="get_type_code_display")
    class_code = serializers.ChoiceField(choices=DocumentClass.choices)
    source = serializers.ChoiceField(choices=DocumentSource.choices)
    author = PersonSerializer(allow_null=True)
    event_date = serializers.DateField(allow_null=True)
    created_at = Instant()
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    masked = serializers.BooleanField()
    visible_to_patient = serializers.BooleanField()
    held = serializers.BooleanField(
        help_text="A CHU report held from the patient until the announcement consultation (released by make-visible)."
    )
    secret_from_representatives = serializers.BooleanField(
        help_text="Kept secret from the patient's legal representatives (the minor's secret, CSP L.1111-5)."
    )
    format = serializers.CharField(source="mime_type", help_text="MIME type of the file.")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    replaces = serializers.UUIDField(source="replaces.public_id", allow_null=True)
    content_url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_content_url(self, document) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("api:dmp-document-content", kwargs={"document_id": document.public_id})
        )


_ID_SLOT = "__document_id__"


def document_items(request, rows) -> list[dict]:
    """A list's documents as `DocumentSerializer` writes them, without a serializer per row.

    The profile of a 50-document list (bench/profile_list.py, docs/benchmarks.md) put a quarter of the
    request in DRF's per-field machinery and in one `reverse` per document; here each item is a dict
    written from the instances the service loaded (author and patient already joined), the content URL
    from one reversed prefix. `DocumentSerializer` stays the schema and the single-document response;
    tests/dmp/test_api.py compares the two on every field, and tests/api/test_responses_match_schema.py
    the list with its schema. The predecessors (`replaces`) left visible by the service are read in one
    query instead of one per amended document."""
    content = request.build_absolute_uri(reverse("api:dmp-document-content", kwargs={"document_id": _ID_SLOT}))
    before, after = content.split(_ID_SLOT)
    predecessors = documents.predecessor_public_ids(rows)
    items = []
    for d in rows:
        author = d.author
        if author is None:
            person = None
        else:
            profile = author.professional
            person = {
                "name": str(author.display_name),
                "rpps": None if profile is None or profile.rpps is None else str(profile.rpps),
                "profession": None if profile is None or profile.profession is None else str(profile.profession),
            }
        public_id = str(d.public_id)
        replaces = predecessors.get(d.replaces_id)
        items.append(
            {
                "id": public_id,
                "patient": str(d.record.patient.public_id),
                "title": str(d.title),
                "type_code": str(d.type_code),
                "type_display": d.get_type_code_display(),
                "class_code": str(d.class_code),
                "source": str(d.source),
                "author": person,
                "event_date": None if d.event_date is None else d.event_date.isoformat(),
                "created_at": _instant(d.created_at),
                "status": str(d.status),
                "masked": bool(d.masked),
                "visible_to_patient": bool(d.visible_to_patient),
                "held": bool(d.held),
                "secret_from_representatives": bool(d.secret_from_representatives),
                "format": str(d.mime_type),
                "size": int(d.size),
                "sha256": str(d.sha256),
                "replaces": None if replaces is None else str(replaces),
                "content_url": f"{before}{public_id}{after}",
            }
        )
    return items


def _instant(value) -> str | None:
    """As `chu_portal.schema.Instant` writes a date-time: UTC, ISO 8601 with `Z`."""
    if value is None:
        return None
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class SettingsOutSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RecordStatus.choices)
    emergency_access_allowed = serializers.BooleanField()
    samu_access_allowed = serializers.BooleanField()
    gp = serializers.SerializerMethodField()
    notify_by_email = serializers.BooleanField()
    # The DMP's life (issue 19): opposition only while not activated and empty; a closed DMP's purge date.
    activated_at = Instant(allow_null=True)
    may_oppose = serializers.SerializerMethodField()
    closed_at = Instant(allow_null=True)
    deletion_requested_at = Instant(allow_null=True)
    deletion_due = serializers.SerializerMethodField()

    def get_may_oppose(self, record) -> bool:
        return record.status == RecordStatus.ACTIVE and access.may_oppose(record)

    @extend_schema_field(Instant(allow_null=True))
    def get_deletion_due(self, record):
        due = lifecycle.deletion_due(record)
        return Instant().to_representation(due) if due else None

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_gp(self, record):
        gp = designations.gp_of(record)
        return PersonSerializer(gp).data if gp is not None else None


class BlockedSerializer(serializers.Serializer):
    name = serializers.CharField(source="professional.display_name")
    rpps = serializers.CharField(source="professional.professional.rpps", allow_null=True)
    profession = serializers.CharField(source="professional.professional.profession", allow_null=True)
    blocked_at = Instant(source="created_at")


class ProfileEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.ChoiceField(choices=ProfileKind.choices)
    label = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


class ConsentRequestOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="record.patient.public_id")
    patient_name = serializers.CharField(source="record.patient.display_name")
    professional = PersonSerializer()
    purpose = serializers.CharField()
    status = serializers.ChoiceField(choices=ConsentStatus.choices)
    duration_days = serializers.IntegerField()
    created_at = Instant()
    decided_at = Instant(allow_null=True)
    grant = serializers.UUIDField(source="grant.public_id", allow_null=True)


class GrantOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="record.patient.public_id")
    professional = PersonSerializer()
    source = serializers.ChoiceField(choices=GrantSource.choices)
    purpose = serializers.CharField()
    starts = Instant()
    expires = Instant()
    revoked = serializers.SerializerMethodField()
    revoked_at = Instant(allow_null=True)
    live = serializers.BooleanField(source="is_live")

    def get_revoked(self, grant) -> bool:
        return grant.revoked_at is not None


class EmergencyOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="record.patient.public_id")
    mode = serializers.ChoiceField(choices=EmergencyMode.choices)
    starts = Instant()
    expires = Instant()


class DesignationOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="record.patient.public_id")
    patient_name = serializers.CharField(source="record.patient.display_name")
    doctor = PersonSerializer()
    kind = serializers.ChoiceField(choices=DesignationKind.choices)
    status = serializers.ChoiceField(choices=DesignationStatus.choices)
    in_person = serializers.BooleanField()
    proposed_at = Instant()
    accepted_at = Instant(allow_null=True)
    ended_at = Instant(allow_null=True)


class NotificationOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    message = serializers.CharField()
    document = serializers.UUIDField(source="document.public_id", allow_null=True)
    created_at = Instant()
    read_at = Instant(allow_null=True)


def _list(serializer_class, rows, **kwargs) -> Response:
    """A whole list in the envelope of docs/api.md (one page)."""
    items = serializer_class(rows, many=True, **kwargs).data
    return Response({"count": len(items), "next": None, "previous": None, "results": items})


def _bool(value, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _document(request, document) -> dict:
    return DocumentSerializer(document, context={"request": request}).data


class LookupView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[
            OpenApiParameter("ins", str, required=True, pattern=INS_PATTERN, description="Matricule INS (exact)."),
            OpenApiParameter("birth_date", OpenApiTypes.DATE, required=True),
        ],
        responses=responses({200: LookupResultSerializer}, *READ_ERRORS, 429),
    )
    def get(self, request):
        patient = professionals.patient_lookup(
            actor=request.user,
            ins=request.query_params.get("ins", ""),
            birth_date=request.query_params.get("birth_date"),
        )
        return Response(LookupResultSerializer(patient).data)


class DocumentUploadSerializer(serializers.Serializer):
    """The upload form (multipart): described for the schema, checked by the service (dmp/files.py)."""

    file = serializers.FileField()
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    type_code = serializers.ChoiceField(choices=DocumentType.choices, required=False)
    event_date = serializers.DateField(required=False)
    visible_to_patient = serializers.BooleanField(required=False, default=True)
    # A professional filing for a minor, at her request (CSP L.1111-5); refused otherwise.
    secret_from_representatives = serializers.BooleanField(required=False, default=False)


# The endpoints that take no patient id follow the caller's choice explicitly: a representative names the
# patient she acts for (GET /api/v1/me/ lists them); without it, her own space.
ACTING_FOR = OpenApiParameter(
    "patient",
    OpenApiTypes.UUID,
    description="A representative: the id of the patient she acts for (listed by /api/v1/me/); omitted: her own.",
)

_DOCUMENT_FILTERS = [
    OpenApiParameter("type_code", str, enum=DocumentType.values),
    OpenApiParameter("source", str, enum=DocumentSource.values),
    OpenApiParameter("since", OpenApiTypes.DATE),
    OpenApiParameter("until", OpenApiTypes.DATE),
    OpenApiParameter("include_superseded", bool),
]


class DocumentsView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAG,
        operation_id="dmp_documents_list",
        parameters=[*_DOCUMENT_FILTERS, *PAGE_PARAMETERS],
        responses=responses({200: page_of(DocumentSerializer)}, *READ_ERRORS),
    )
    def get(self, request, patient_id):
        page, size = page_params(request)
        params = request.query_params
        result = documents.documents_list(
            actor=request.user,
            patient_id=patient_id,
            type_code=params.get("type_code") or None,
            source=params.get("source") or None,
            since=params.get("since") or None,
            until=params.get("until") or None,
            include_superseded=_bool(params.get("include_superseded"), False),
            page=page,
            page_size=size,
        )
        return paginated(request, document_items(request, result.documents), result.total, page, size)

    @extend_schema(
        tags=TAG,
        request={"multipart/form-data": DocumentUploadSerializer},
        responses=responses({201: DocumentSerializer}, *READ_ERRORS, 409, 413, 415),
    )
    def post(self, request, patient_id):
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise InvalidInput("Le fichier est obligatoire.", fields={"file": "Obligatoire."})
        document = documents.document_upload(
            actor=request.user,
            patient_id=patient_id,
            uploaded=uploaded,
            title=request.data.get("title", ""),
            type_code=request.data.get("type_code") or None,
            event_date=request.data.get("event_date") or None,
            visible_to_patient=_bool(request.data.get("visible_to_patient"), True),
            secret_from_representatives=_bool(request.data.get("secret_from_representatives"), False),
        )
        return Response(_document(request, document), status=status.HTTP_201_CREATED)


class DocumentDetailView(APIView):
    @extend_schema(tags=TAG, responses=responses({200: DocumentSerializer}, 401, 403, 404))
    def get(self, request, document_id):
        document, _decision = documents.document_open(actor=request.user, document_id=document_id)
        return Response(_document(request, document))

    @extend_schema(tags=TAG, responses=responses({204: OpenApiResponse(description="Deleted (soft).")}, 401, 403, 404))
    def delete(self, request, document_id):
        documents.document_delete(actor=request.user, document_id=document_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentContentView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[OpenApiParameter("download", bool, description="Attachment (default) or inline.")],
        responses=responses(
            {
                (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
                (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY),
                (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            },
            401,
            403,
            404,
        ),
    )
    def get(self, request, document_id):
        download = _bool(request.query_params.get("download"), True)
        document, handle = documents.document_content(actor=request.user, document_id=document_id, download=download)
        response = FileResponse(
            handle,
            content_type=document.mime_type,
            as_attachment=download,
            filename=files.name_for_type(document.original_filename or "document", document.mime_type),
        )
        response["Cache-Control"] = "private, no-store"
        return response


def _document_verb(verb, name: str):
    class View(APIView):
        @extend_schema(tags=TAG, request=None, responses=responses({200: DocumentSerializer}, 401, 403, 404, 409))
        def post(self, request, document_id):
            return Response(_document(request, verb(actor=request.user, document_id=document_id)))

    View.__name__ = View.__qualname__ = name
    return View


DocumentMaskView = _document_verb(documents.document_mask, "DocumentMaskView")
DocumentUnmaskView = _document_verb(documents.document_unmask, "DocumentUnmaskView")
DocumentMakeVisibleView = _document_verb(documents.document_make_visible, "DocumentMakeVisibleView")


class SettingsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RecordStatus.choices, required=False)
    emergency_access_allowed = serializers.BooleanField(required=False)
    samu_access_allowed = serializers.BooleanField(required=False)
    notify_by_email = serializers.BooleanField(required=False)

    def validate(self, attrs):
        """An unknown field is an error, not silently ignored (the GP, once a setting, is a designation now)."""
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: "Paramètre inconnu." for name in unknown})
        return attrs


class SettingsView(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(tags=TAG, responses=responses({200: SettingsOutSerializer}, 401, 403, 404))
    def get(self, request, patient_id):
        record = record_settings.record_settings_get(actor=request.user, patient_id=patient_id)
        return Response(SettingsOutSerializer(record).data)

    @extend_schema(
        tags=TAG,
        request=SettingsSerializer,
        responses=responses({200: SettingsOutSerializer}, 400, 401, 403, 404, 409),
    )
    def patch(self, request, patient_id):
        data = SettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        record = record_settings.record_settings_update(actor=request.user, patient_id=patient_id, **changes)
        return Response(SettingsOutSerializer(record).data)


class DeletionRequestView(APIView):
    @extend_schema(
        tags=TAG,
        request=None,
        responses=responses({200: SettingsOutSerializer}, 401, 403, 404, 409),
    )
    def post(self, request, patient_id):
        """The patient asks that her closed DMP be deleted (done after DMP_DELETION_DELAY_DAYS; reopening cancels)."""
        record = lifecycle.deletion_request(actor=request.user, patient_id=patient_id)
        return Response(SettingsOutSerializer(record).data)


class ExportView(APIView):
    @extend_schema(
        tags=TAG,
        responses=responses(
            {
                (200, "application/zip"): OpenApiResponse(
                    OpenApiTypes.BINARY, description="The whole DMP: documents and index."
                )
            },
            401,
            403,
            404,
        ),
    )
    def get(self, request, patient_id):
        """Her whole DMP in one zip (every document she may read, index.html and index.csv); traced; 403 `dmp_closed`."""
        record, buffer = lifecycle.record_export(actor=request.user, patient_id=patient_id)
        response = FileResponse(buffer, content_type="application/zip", as_attachment=True, filename="mon-dmp.zip")
        response["Cache-Control"] = "private, no-store"
        return response


class RppsSerializer(serializers.Serializer):
    rpps = checked_by_service(
        serializers.CharField(max_length=11), {"type": "string", "pattern": RPPS_PATTERN, "maxLength": 11}
    )


class BlockedView(APIView):
    @extend_schema(tags=TAG, responses=responses({200: page_of(BlockedSerializer)}, 401, 403, 404))
    def get(self, request, patient_id):
        return _list(BlockedSerializer, blocking.blocked_list(actor=request.user, patient_id=patient_id))

    @extend_schema(
        tags=TAG, request=RppsSerializer, responses=responses({201: BlockedSerializer}, 400, 401, 403, 404, 409)
    )
    def post(self, request, patient_id):
        data = RppsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        block = blocking.professional_block(actor=request.user, patient_id=patient_id, rpps=data.validated_data["rpps"])
        return Response(BlockedSerializer(block).data, status=status.HTTP_201_CREATED)


class UnblockView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[OpenApiParameter("rpps", str, OpenApiParameter.PATH, pattern=RPPS_PATTERN)],
        responses=responses({204: OpenApiResponse(description="Unblocked.")}, 400, 401, 403, 404),
    )
    def delete(self, request, patient_id, rpps):
        blocking.professional_unblock(actor=request.user, patient_id=patient_id, rpps=rpps)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ProfileKind.choices)
    label = serializers.CharField(max_length=200)
    date = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)


class ProfileView(APIView):
    @extend_schema(tags=TAG, responses=responses({200: page_of(ProfileEntrySerializer)}, 401, 403, 404))
    def get(self, request, patient_id):
        _record, entries = profile_service.profile_list(actor=request.user, patient_id=patient_id)
        return _list(ProfileEntrySerializer, entries)

    @extend_schema(
        tags=TAG, request=ProfileSerializer, responses=responses({201: ProfileEntrySerializer}, 400, 401, 403, 404)
    )
    def post(self, request, patient_id):
        data = ProfileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = profile_service.profile_add(actor=request.user, patient_id=patient_id, **data.validated_data)
        return Response(ProfileEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


# --- Consent and emergency (docs/api.md, "Consent and emergency") ---------------------------------


class ConsentRequestSerializer(serializers.Serializer):
    purpose = serializers.CharField(max_length=PURPOSE_MAX)
    duration_days = checked_by_service(
        serializers.IntegerField(required=False, allow_null=True),
        {"type": "integer", "minimum": 1, "maximum": settings.DMP_GRANT_MAX_DAYS, "nullable": True},
    )


class InPersonConsentSerializer(ConsentRequestSerializer):
    patient_present = serializers.BooleanField(required=False, default=False)


class EmergencySerializer(serializers.Serializer):
    reason = checked_by_service(
        serializers.CharField(allow_blank=True, required=False, default=""),
        {"type": "string", "minLength": REASON_MIN},
    )
    mode = checked_by_service(
        serializers.CharField(required=False, default=EmergencyMode.EMERGENCY),
        {"type": "string", "enum": EmergencyMode.values, "default": EmergencyMode.EMERGENCY},
    )


class ConsentRequestCreateView(APIView):
    throttle_classes = [ConsentRequestThrottle]

    @extend_schema(
        tags=CONSENT_TAG,
        request=ConsentRequestSerializer,
        responses=responses({201: ConsentRequestOutSerializer}, 400, 401, 403, 404, 409, 429),
    )
    def post(self, request, patient_id):
        data = ConsentRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = requests.consent_request_create(actor=request.user, patient_id=patient_id, **data.validated_data)
        return Response(ConsentRequestOutSerializer(created).data, status=status.HTTP_201_CREATED)


class InPersonConsentView(APIView):
    @extend_schema(
        tags=CONSENT_TAG,
        request=InPersonConsentSerializer,
        responses=responses({201: GrantOutSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, patient_id):
        data = InPersonConsentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = consent_grants.consent_in_person_record(
            actor=request.user, patient_id=patient_id, **data.validated_data
        )
        return Response(GrantOutSerializer(grant).data, status=status.HTTP_201_CREATED)


class ConsentRequestListView(APIView):
    @extend_schema(
        tags=CONSENT_TAG,
        parameters=[*PAGE_PARAMETERS, OpenApiParameter("status", str, enum=ConsentStatus.values), ACTING_FOR],
        responses=responses({200: page_of(ConsentRequestOutSerializer)}, 400, 401, 403, 404),
    )
    def get(self, request):
        page, size = page_params(request)
        items, total = requests.consent_requests_list(
            actor=request.user,
            status=request.query_params.get("status") or None,
            page=page,
            page_size=size,
            patient_id=request.query_params.get("patient") or None,
        )
        return paginated(request, ConsentRequestOutSerializer(items, many=True).data, total, page, size)


class ConsentRequestApproveView(APIView):
    @extend_schema(
        tags=CONSENT_TAG, request=None, responses=responses({200: ConsentRequestOutSerializer}, 401, 403, 404, 409)
    )
    def post(self, request, request_id):
        approved = requests.consent_request_approve(actor=request.user, request_id=request_id)
        return Response(ConsentRequestOutSerializer(approved).data)


class ConsentRequestDenyView(APIView):
    @extend_schema(
        tags=CONSENT_TAG, request=None, responses=responses({200: ConsentRequestOutSerializer}, 401, 403, 404, 409)
    )
    def post(self, request, request_id):
        denied = requests.consent_request_deny(actor=request.user, request_id=request_id)
        return Response(ConsentRequestOutSerializer(denied).data)


class GrantListView(APIView):
    @extend_schema(tags=CONSENT_TAG, responses=responses({200: page_of(GrantOutSerializer)}, 401, 403, 404))
    def get(self, request, patient_id):
        return _list(GrantOutSerializer, consent_grants.grants_list(actor=request.user, patient_id=patient_id))


class GrantDetailView(APIView):
    @extend_schema(
        tags=CONSENT_TAG, responses=responses({204: OpenApiResponse(description="Revoked.")}, 401, 403, 404, 409)
    )
    def delete(self, request, grant_id):
        consent_grants.grant_revoke(actor=request.user, grant_id=grant_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmergencyAccessView(APIView):
    @extend_schema(
        tags=CONSENT_TAG,
        request=EmergencySerializer,
        responses=responses({201: EmergencyOutSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, patient_id):
        data = EmergencySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        emergency = consent_emergency.emergency_access_open(
            actor=request.user, patient_id=patient_id, **data.validated_data
        )
        return Response(EmergencyOutSerializer(emergency).data, status=status.HTTP_201_CREATED)


# --- GP-level rights (docs/api.md, "GP-level rights") ------------------------------------------


class DesignationProposeSerializer(serializers.Serializer):
    rpps = serializers.RegexField(RPPS_PATTERN, max_length=11)
    kind = serializers.ChoiceField(choices=DesignationKind.choices, required=False, default=DesignationKind.GP)


class DesignationInPersonSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DesignationKind.choices, required=False, default=DesignationKind.GP)
    patient_present = serializers.BooleanField()


class DesignationsView(APIView):
    @extend_schema(tags=GP_TAG, responses=responses({200: page_of(DesignationOutSerializer)}, 401, 403, 404))
    def get(self, request, patient_id):
        return _list(
            DesignationOutSerializer, designations.designations_list(actor=request.user, patient_id=patient_id)
        )

    @extend_schema(
        tags=GP_TAG,
        request=DesignationProposeSerializer,
        responses=responses({201: DesignationOutSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, patient_id):
        data = DesignationProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        designation = designations.designation_propose(actor=request.user, patient_id=patient_id, **data.validated_data)
        return Response(DesignationOutSerializer(designation).data, status=status.HTTP_201_CREATED)


class DesignationInPersonView(APIView):
    @extend_schema(
        tags=GP_TAG,
        request=DesignationInPersonSerializer,
        responses=responses({201: DesignationOutSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, patient_id):
        data = DesignationInPersonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        designation = designations.designation_in_person(
            actor=request.user, patient_id=patient_id, **data.validated_data
        )
        return Response(DesignationOutSerializer(designation).data, status=status.HTTP_201_CREATED)


class DesignationInboxView(APIView):
    @extend_schema(tags=GP_TAG, responses=responses({200: page_of(DesignationOutSerializer)}, 401, 403))
    def get(self, request):
        return _list(DesignationOutSerializer, designations.designations_to_answer(actor=request.user))


class DesignationAcceptView(APIView):
    @extend_schema(tags=GP_TAG, request=None, responses=responses({200: DesignationOutSerializer}, 401, 403, 404, 409))
    def post(self, request, designation_id):
        designation = designations.designation_accept(actor=request.user, designation_id=designation_id)
        return Response(DesignationOutSerializer(designation).data)


class DesignationDeclineView(APIView):
    @extend_schema(tags=GP_TAG, request=None, responses=responses({200: DesignationOutSerializer}, 401, 403, 404, 409))
    def post(self, request, designation_id):
        designation = designations.designation_decline(actor=request.user, designation_id=designation_id)
        return Response(DesignationOutSerializer(designation).data)


class DesignationDetailView(APIView):
    @extend_schema(tags=GP_TAG, responses=responses({204: OpenApiResponse(description="Ended.")}, 401, 403, 404, 409))
    def delete(self, request, designation_id):
        designations.designation_remove(actor=request.user, designation_id=designation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Notifications (docs/api.md, "Notifications") ---------------------------------------------


class NotificationsView(APIView):
    @extend_schema(
        tags=NOTIFICATION_TAG,
        parameters=[*PAGE_PARAMETERS, ACTING_FOR],
        responses=responses({200: page_of(NotificationOutSerializer)}, 400, 401),
    )
    def get(self, request):
        page, size = page_params(request, default_size=notifications.PAGE_SIZE)
        patient = request.query_params.get("patient") or None
        if patient is not None and as_uuid(patient) is None:
            raise InvalidInput(_("Identifiant de patient invalide."), fields={"patient": _("Identifiant invalide.")})
        result = notifications.notifications_page(
            actor=request.user, page=page, page_size=size, patient_id=as_uuid(patient)
        )
        return paginated(request, NotificationOutSerializer(result.items, many=True).data, result.total, page, size)


class NotificationReadView(APIView):
    @extend_schema(tags=NOTIFICATION_TAG, request=None, responses=responses({200: NotificationOutSerializer}, 401, 404))
    def post(self, request, notification_id):
        note = notifications.notification_read(actor=request.user, notification_id=notification_id)
        return Response(NotificationOutSerializer(note).data)


# --- Withdrawal and the patient's objection (docs/api.md, "Withdrawal and objection") -------------


class WithdrawSerializer(serializers.Serializer):
    reason = checked_by_service(
        serializers.CharField(required=False, default=""),
        {"type": "string", "enum": [r.value for r in withdrawal.PROFESSIONAL_REASONS]},
    )
    note = checked_by_service(
        serializers.CharField(required=False, default="", allow_blank=True, trim_whitespace=False),
        {"type": "string", "minLength": 1, "maxLength": withdrawal.NOTE_MAX},
    )


class WithdrawalOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="record.patient.public_id")
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    withdrawn_at = Instant()
    withdrawal_reason = serializers.ChoiceField(choices=WithdrawalReason.choices)


class ObjectionSerializer(serializers.Serializer):
    reason = checked_by_service(
        serializers.CharField(required=False, default="", allow_blank=True, trim_whitespace=False),
        {"type": "string", "minLength": 1, "maxLength": withdrawal.NOTE_MAX},
    )


class ObjectionAnswerSerializer(serializers.Serializer):
    uphold = serializers.BooleanField()
    answer = checked_by_service(
        serializers.CharField(required=False, default="", allow_blank=True, trim_whitespace=False),
        {"type": "string", "maxLength": withdrawal.NOTE_MAX},
    )


class ObjectionOutSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    document = serializers.UUIDField(source="document.public_id")
    patient = serializers.UUIDField(source="document.record.patient.public_id")
    unit = serializers.CharField(source="unit.name")
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=ObjectionStatus.choices)
    # The unit's answer (not `answer`: elsewhere in the API that names a report's id).
    unit_answer = serializers.CharField(source="answer", allow_blank=True)
    created_at = Instant()
    answered_at = Instant(allow_null=True)


class DocumentWithdrawView(APIView):
    @extend_schema(
        tags=TAG,
        request=WithdrawSerializer,
        responses=responses({200: WithdrawalOutSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, document_id):
        data = WithdrawSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = withdrawal.document_withdraw(actor=request.user, document_id=document_id, **data.validated_data)
        return Response(WithdrawalOutSerializer(document).data)


class DocumentObjectionView(APIView):
    @extend_schema(
        tags=TAG,
        request=ObjectionSerializer,
        responses=responses({201: ObjectionOutSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, document_id):
        data = ObjectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objection = withdrawal.objection_create(actor=request.user, document_id=document_id, **data.validated_data)
        return Response(ObjectionOutSerializer(objection).data, status=status.HTTP_201_CREATED)


class PatientObjectionsView(APIView):
    @extend_schema(tags=TAG, responses=responses({200: page_of(ObjectionOutSerializer)}, 401, 403, 404))
    def get(self, request, patient_id):
        record = record_by_patient_id(patient_id)
        return _list(ObjectionOutSerializer, withdrawal.my_objections(actor=request.user, record=record))


class ObjectionInboxView(APIView):
    @extend_schema(tags=TAG, responses=responses({200: page_of(ObjectionOutSerializer)}, 401, 403))
    def get(self, request):
        return _list(ObjectionOutSerializer, withdrawal.objections_to_answer(actor=request.user))


class ObjectionAnswerView(APIView):
    @extend_schema(
        tags=TAG,
        request=ObjectionAnswerSerializer,
        responses=responses({200: ObjectionOutSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, objection_id):
        data = ObjectionAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        objection = withdrawal.objection_answer(actor=request.user, objection_id=objection_id, **data.validated_data)
        return Response(ObjectionOutSerializer(objection).data)
