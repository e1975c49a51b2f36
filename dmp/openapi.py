"""OpenAPI description of dmp.api's views (kept beside them so dmp/api.py stays as it is); imported by the URLconf."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

from chu_portal.schema import PAGE_PARAMETERS, PersonSerializer, page_of, responses

from . import api
from .constants import (
    DesignationKind,
    DesignationStatus,
    DocumentClass,
    DocumentSource,
    DocumentStatus,
    DocumentType,
    NotificationKind,
    ProfileKind,
    RecordStatus,
)

TAG = ["shared record (DMP)"]
# DMP refusals: 403 forbidden / blocked / dmp_closed / dmp_opposed; 404 for what may not be revealed.
READ_ERRORS = (400, 401, 403, 404)


class LookupResultSerializer(serializers.Serializer):
    patient_id = serializers.UUIDField()
    name = serializers.CharField()


class DocumentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField()
    title = serializers.CharField()
    type_code = serializers.ChoiceField(choices=DocumentType.choices)
    type_display = serializers.CharField()
    class_code = serializers.ChoiceField(choices=DocumentClass.choices)
    source = serializers.ChoiceField(choices=DocumentSource.choices)
    author = PersonSerializer(allow_null=True)
    event_date = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=DocumentStatus.choices)
    masked = serializers.BooleanField()
    visible_to_patient = serializers.BooleanField()
    format = serializers.CharField(help_text="MIME type of the file.")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    replaces = serializers.UUIDField(allow_null=True)
    content_url = serializers.URLField()


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(max_length=200)
    type_code = serializers.ChoiceField(choices=DocumentType.choices, required=False)
    event_date = serializers.DateField(required=False)
    visible_to_patient = serializers.BooleanField(required=False, default=True)


class SettingsOutSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RecordStatus.choices)
    emergency_access_allowed = serializers.BooleanField()
    samu_access_allowed = serializers.BooleanField()
    gp = PersonSerializer(allow_null=True)
    notify_by_email = serializers.BooleanField()


class BlockedSerializer(PersonSerializer):
    blocked_at = serializers.DateTimeField()


class ProfileEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ProfileKind.choices)
    label = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


_DOCUMENT_FILTERS = [
    OpenApiParameter("type_code", str, enum=DocumentType.values),
    OpenApiParameter("source", str, enum=DocumentSource.values),
    OpenApiParameter("since", OpenApiTypes.DATE),
    OpenApiParameter("until", OpenApiTypes.DATE),
    OpenApiParameter("include_superseded", bool),
]

extend_schema_view(
    get=extend_schema(
        tags=TAG,
        parameters=[
            OpenApiParameter("ins", str, required=True, description="Matricule INS (exact)."),
            OpenApiParameter("birth_date", OpenApiTypes.DATE, required=True),
        ],
        responses=responses({200: LookupResultSerializer}, *READ_ERRORS, 429),
    )
)(api.LookupView)

extend_schema_view(
    get=extend_schema(
        tags=TAG,
        operation_id="dmp_documents_list",
        parameters=[*_DOCUMENT_FILTERS, *PAGE_PARAMETERS],
        responses=responses({200: page_of(DocumentSerializer)}, *READ_ERRORS),
    ),
    post=extend_schema(
        tags=TAG,
        request={"multipart/form-data": DocumentUploadSerializer},
        responses=responses({201: DocumentSerializer}, *READ_ERRORS, 413, 415),
    ),
)(api.DocumentsView)

extend_schema_view(
    get=extend_schema(tags=TAG, responses=responses({200: DocumentSerializer}, 401, 403, 404)),
    delete=extend_schema(
        tags=TAG, responses=responses({204: OpenApiResponse(description="Deleted (soft).")}, 401, 403, 404)
    ),
)(api.DocumentDetailView)

extend_schema_view(
    get=extend_schema(
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
)(api.DocumentContentView)

for _view in (api.DocumentMaskView, api.DocumentUnmaskView, api.DocumentMakeVisibleView):
    extend_schema_view(
        post=extend_schema(tags=TAG, request=None, responses=responses({200: DocumentSerializer}, 401, 403, 404, 409))
    )(_view)

extend_schema_view(
    get=extend_schema(tags=TAG, responses=responses({200: SettingsOutSerializer}, 401, 403, 404)),
    patch=extend_schema(
        tags=TAG,
        request=api.SettingsSerializer,
        responses=responses({200: SettingsOutSerializer}, 400, 401, 403, 404, 409),
    ),
)(api.SettingsView)

extend_schema_view(
    get=extend_schema(tags=TAG, responses=responses({200: page_of(BlockedSerializer)}, 401, 403, 404)),
    post=extend_schema(
        tags=TAG, request=api.RppsSerializer, responses=responses({201: BlockedSerializer}, 400, 401, 403, 404, 409)
    ),
)(api.BlockedView)

extend_schema_view(
    delete=extend_schema(
        tags=TAG, responses=responses({204: OpenApiResponse(description="Unblocked.")}, 401, 403, 404)
    ),
)(api.UnblockView)

extend_schema_view(
    get=extend_schema(tags=TAG, responses=responses({200: page_of(ProfileEntrySerializer)}, 401, 403, 404)),
    post=extend_schema(
        tags=TAG, request=api.ProfileSerializer, responses=responses({201: ProfileEntrySerializer}, 400, 401, 403, 404)
    ),
)(api.ProfileView)


# --- Consent and emergency (issue 4) ---------------------------------------------------------


class ConsentRequestOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField()
    patient_name = serializers.CharField()
    professional = PersonSerializer()
    purpose = serializers.CharField()
    status = serializers.CharField()
    duration_days = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    grant = serializers.UUIDField(allow_null=True)


class GrantOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField()
    professional = PersonSerializer()
    source = serializers.ChoiceField(choices=["consent", "in_person_consent"])
    purpose = serializers.CharField()
    starts = serializers.DateTimeField()
    expires = serializers.DateTimeField()
    revoked = serializers.BooleanField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    live = serializers.BooleanField()


class EmergencyOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField()
    mode = serializers.ChoiceField(choices=["emergency", "samu"])
    starts = serializers.DateTimeField()
    expires = serializers.DateTimeField()


CONSENT_TAG = ["consent and emergency"]

extend_schema_view(
    post=extend_schema(
        tags=CONSENT_TAG,
        request=api.ConsentRequestSerializer,
        responses=responses({201: ConsentRequestOutSerializer}, 400, 401, 403, 404, 409, 429),
    )
)(api.ConsentRequestCreateView)
extend_schema_view(
    post=extend_schema(
        tags=CONSENT_TAG,
        request=api.InPersonConsentSerializer,
        responses=responses({201: GrantOutSerializer}, 400, 401, 403, 404, 409),
    )
)(api.InPersonConsentView)
extend_schema_view(
    get=extend_schema(
        tags=CONSENT_TAG,
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("status", str, description="pending, approved, denied, expired"),
        ],
        responses=responses({200: page_of(ConsentRequestOutSerializer)}, 400, 401, 403),
    )
)(api.ConsentRequestListView)
for _view in (api.ConsentRequestApproveView, api.ConsentRequestDenyView):
    extend_schema_view(
        post=extend_schema(
            tags=CONSENT_TAG, request=None, responses=responses({200: ConsentRequestOutSerializer}, 401, 403, 404, 409)
        )
    )(_view)
extend_schema_view(
    get=extend_schema(tags=CONSENT_TAG, responses=responses({200: page_of(GrantOutSerializer)}, 401, 403, 404))
)(api.GrantListView)
extend_schema_view(
    delete=extend_schema(
        tags=CONSENT_TAG, responses=responses({204: OpenApiResponse(description="Revoked.")}, 401, 403, 404, 409)
    )
)(api.GrantDetailView)
extend_schema_view(
    post=extend_schema(
        tags=CONSENT_TAG,
        request=api.EmergencySerializer,
        responses=responses({201: EmergencyOutSerializer}, 400, 401, 403, 404, 409),
    )
)(api.EmergencyAccessView)


# --- GP-level rights and notifications (issue 16) ------------------------------------------------


class DesignationOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    patient = serializers.UUIDField()
    patient_name = serializers.CharField()
    doctor = PersonSerializer()
    kind = serializers.ChoiceField(choices=DesignationKind.choices)
    status = serializers.ChoiceField(choices=DesignationStatus.choices)
    in_person = serializers.BooleanField()
    proposed_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class NotificationOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    message = serializers.CharField()
    document = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


GP_TAG = ["GP-level rights"]

extend_schema_view(
    get=extend_schema(tags=GP_TAG, responses=responses({200: page_of(DesignationOutSerializer)}, 401, 403, 404)),
    post=extend_schema(
        tags=GP_TAG,
        request=api.DesignationProposeSerializer,
        responses=responses({201: DesignationOutSerializer}, 400, 401, 403, 404, 409),
    ),
)(api.DesignationsView)
extend_schema_view(
    post=extend_schema(
        tags=GP_TAG,
        request=api.DesignationInPersonSerializer,
        responses=responses({201: DesignationOutSerializer}, 400, 401, 403, 404, 409),
    )
)(api.DesignationInPersonView)
extend_schema_view(
    get=extend_schema(tags=GP_TAG, responses=responses({200: page_of(DesignationOutSerializer)}, 401, 403))
)(api.DesignationInboxView)
for _view in (api.DesignationAcceptView, api.DesignationDeclineView):
    extend_schema_view(
        post=extend_schema(
            tags=GP_TAG, request=None, responses=responses({200: DesignationOutSerializer}, 401, 403, 404, 409)
        )
    )(_view)
extend_schema_view(
    delete=extend_schema(
        tags=GP_TAG, responses=responses({204: OpenApiResponse(description="Ended.")}, 401, 403, 404, 409)
    )
)(api.DesignationDetailView)
extend_schema_view(
    get=extend_schema(
        tags=["notifications"],
        parameters=PAGE_PARAMETERS,
        responses=responses({200: page_of(NotificationOutSerializer)}, 400, 401),
    )
)(api.NotificationsView)
extend_schema_view(
    post=extend_schema(
        tags=["notifications"], request=None, responses=responses({200: NotificationOutSerializer}, 401, 404)
    )
)(api.NotificationReadView)
