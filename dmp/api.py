"""API of the shared record (docs/api.md, "Shared record (DMP)"), over the same services as the pages."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import ConsentRequestThrottle
from chu_portal.api import page_params, paginated
from chu_portal.errors import InvalidInput

from . import files
from .consent import blocking, requests
from .consent import emergency as consent_emergency
from .consent import grants as consent_grants
from .constants import DesignationKind, ProfileKind, RecordStatus
from .models import Designation, MedicalProfileEntry, Notification, SharedDocument, SharedRecord
from .services import designations, documents, notifications, professionals, record_settings
from .services import profile as profile_service


def _person(user) -> dict | None:
    if user is None:
        return None
    profile = user.professional
    return {
        "name": user.display_name,
        "rpps": profile.rpps if profile else None,
        "profession": profile.profession if profile else None,
    }


def document_json(request, document: SharedDocument) -> dict:
    return {
        "id": str(document.public_id),
        "patient": str(document.record.patient.public_id),
        "title": document.title,
        "type_code": document.type_code,
        "type_display": document.get_type_code_display(),
        "class_code": document.class_code,
        "source": document.source,
        "author": _person(document.author),
        "event_date": document.event_date,
        "created_at": document.created_at,
        "status": document.status,
        "masked": document.masked,
        "visible_to_patient": document.visible_to_patient,
        "format": document.mime_type,
        "size": document.size,
        "sha256": document.sha256,
        "replaces": str(document.replaces.public_id) if document.replaces_id else None,
        "content_url": request.build_absolute_uri(
            reverse("api:dmp-document-content", kwargs={"document_id": document.public_id})
        ),
    }


def settings_json(record: SharedRecord) -> dict:
    return {
        "status": record.status,
        "emergency_access_allowed": record.emergency_access_allowed,
        "samu_access_allowed": record.samu_access_allowed,
        "gp": _person(designations.gp_of(record)),
        "notify_by_email": record.notify_by_email,
    }


def profile_json(entry: MedicalProfileEntry) -> dict:
    return {
        "id": str(entry.public_id),
        "kind": entry.kind,
        "label": entry.label,
        "date": entry.date,
        "note": entry.note,
    }


def _bool(value, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


class LookupView(APIView):
    def get(self, request):
        patient = professionals.patient_lookup(
            actor=request.user,
            ins=request.query_params.get("ins", ""),
            birth_date=request.query_params.get("birth_date"),
        )
        return Response({"patient_id": str(patient.public_id), "name": patient.display_name})


class DocumentsView(APIView):
    parser_classes = [MultiPartParser, FormParser]

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
        return paginated(request, [document_json(request, d) for d in result.documents], result.total, page, size)

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
        )
        return Response(document_json(request, document), status=status.HTTP_201_CREATED)


class DocumentDetailView(APIView):
    def get(self, request, document_id):
        document, _decision = documents.document_open(actor=request.user, document_id=document_id)
        return Response(document_json(request, document))

    def delete(self, request, document_id):
        documents.document_delete(actor=request.user, document_id=document_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentContentView(APIView):
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


def _document_verb(verb):
    class View(APIView):
        def post(self, request, document_id):
            return Response(document_json(request, verb(actor=request.user, document_id=document_id)))

    return View


DocumentMaskView = _document_verb(documents.document_mask)
DocumentUnmaskView = _document_verb(documents.document_unmask)
DocumentMakeVisibleView = _document_verb(documents.document_make_visible)


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

    def get(self, request, patient_id):
        return Response(settings_json(record_settings.record_settings_get(actor=request.user, patient_id=patient_id)))

    def patch(self, request, patient_id):
        data = SettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        return Response(
            settings_json(record_settings.record_settings_update(actor=request.user, patient_id=patient_id, **changes))
        )


class RppsSerializer(serializers.Serializer):
    rpps = serializers.CharField(max_length=11)


class BlockedView(APIView):
    def get(self, request, patient_id):
        rows = blocking.blocked_list(actor=request.user, patient_id=patient_id)
        items = [{**_person(b.professional), "blocked_at": b.created_at} for b in rows]
        return Response({"count": len(items), "next": None, "previous": None, "results": items})

    def post(self, request, patient_id):
        data = RppsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        block = blocking.professional_block(actor=request.user, patient_id=patient_id, rpps=data.validated_data["rpps"])
        return Response({**_person(block.professional), "blocked_at": block.created_at}, status=status.HTTP_201_CREATED)


class UnblockView(APIView):
    def delete(self, request, patient_id, rpps):
        blocking.professional_unblock(actor=request.user, patient_id=patient_id, rpps=rpps)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ProfileKind.choices)
    label = serializers.CharField(max_length=200)
    date = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)


class ProfileView(APIView):
    def get(self, request, patient_id):
        _record, entries = profile_service.profile_list(actor=request.user, patient_id=patient_id)
        return Response(
            {"count": len(entries), "next": None, "previous": None, "results": [profile_json(e) for e in entries]}
        )

    def post(self, request, patient_id):
        data = ProfileSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = profile_service.profile_add(actor=request.user, patient_id=patient_id, **data.validated_data)
        return Response(profile_json(entry), status=status.HTTP_201_CREATED)


# --- Consent and emergency (docs/api.md, "Consent and emergency") ---------------------------------


def consent_request_json(consent_request) -> dict:
    return {
        "id": str(consent_request.public_id),
        "patient": str(consent_request.record.patient.public_id),
        "patient_name": consent_request.record.patient.display_name,
        "professional": _person(consent_request.professional),
        "purpose": consent_request.purpose,
        "status": consent_request.status,
        "duration_days": consent_request.duration_days,
        "created_at": consent_request.created_at,
        "decided_at": consent_request.decided_at,
        "grant": str(consent_request.grant.public_id) if consent_request.grant_id else None,
    }


def grant_json(grant) -> dict:
    return {
        "id": str(grant.public_id),
        "patient": str(grant.record.patient.public_id),
        "professional": _person(grant.professional),
        "source": grant.source,
        "purpose": grant.purpose,
        "starts": grant.starts,
        "expires": grant.expires,
        "revoked": grant.revoked_at is not None,
        "revoked_at": grant.revoked_at,
        "live": grant.is_live(),
    }


class ConsentRequestSerializer(serializers.Serializer):
    purpose = serializers.CharField(max_length=500)
    duration_days = serializers.IntegerField(required=False, allow_null=True)


class InPersonConsentSerializer(ConsentRequestSerializer):
    patient_present = serializers.BooleanField(required=False, default=False)


class EmergencySerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")
    mode = serializers.CharField(required=False, default="emergency")


class ConsentRequestCreateView(APIView):
    throttle_classes = [ConsentRequestThrottle]

    def post(self, request, patient_id):
        data = ConsentRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = requests.consent_request_create(actor=request.user, patient_id=patient_id, **data.validated_data)
        return Response(consent_request_json(created), status=status.HTTP_201_CREATED)


class InPersonConsentView(APIView):
    def post(self, request, patient_id):
        data = InPersonConsentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = consent_grants.consent_in_person_record(
            actor=request.user, patient_id=patient_id, **data.validated_data
        )
        return Response(grant_json(grant), status=status.HTTP_201_CREATED)


class ConsentRequestListView(APIView):
    def get(self, request):
        page, size = page_params(request)
        items, total = requests.consent_requests_list(
            actor=request.user, status=request.query_params.get("status") or None, page=page, page_size=size
        )
        return paginated(request, [consent_request_json(r) for r in items], total, page, size)


class ConsentRequestApproveView(APIView):
    def post(self, request, request_id):
        return Response(
            consent_request_json(requests.consent_request_approve(actor=request.user, request_id=request_id))
        )


class ConsentRequestDenyView(APIView):
    def post(self, request, request_id):
        return Response(consent_request_json(requests.consent_request_deny(actor=request.user, request_id=request_id)))


class GrantListView(APIView):
    def get(self, request, patient_id):
        grants = consent_grants.grants_list(actor=request.user, patient_id=patient_id)
        return Response(
            {"count": len(grants), "next": None, "previous": None, "results": [grant_json(g) for g in grants]}
        )


class GrantDetailView(APIView):
    def delete(self, request, grant_id):
        consent_grants.grant_revoke(actor=request.user, grant_id=grant_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmergencyAccessView(APIView):
    def post(self, request, patient_id):
        data = EmergencySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        emergency = consent_emergency.emergency_access_open(
            actor=request.user, patient_id=patient_id, **data.validated_data
        )
        return Response(
            {
                "id": str(emergency.public_id),
                "patient": str(emergency.record.patient.public_id),
                "mode": emergency.mode,
                "starts": emergency.starts,
                "expires": emergency.expires,
            },
            status=status.HTTP_201_CREATED,
        )


# --- GP-level rights (docs/api.md, "GP-level rights") ------------------------------------------


def designation_json(designation: Designation) -> dict:
    return {
        "id": str(designation.public_id),
        "patient": str(designation.record.patient.public_id),
        "patient_name": designation.record.patient.display_name,
        "doctor": _person(designation.doctor),
        "kind": designation.kind,
        "status": designation.status,
        "in_person": designation.in_person,
        "proposed_at": designation.proposed_at,
        "accepted_at": designation.accepted_at,
        "ended_at": designation.ended_at,
    }


class DesignationProposeSerializer(serializers.Serializer):
    rpps = serializers.RegexField(r"^[0-9]{11}$", max_length=11)
    kind = serializers.ChoiceField(choices=DesignationKind.choices, required=False, default=DesignationKind.GP)


class DesignationInPersonSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DesignationKind.choices, required=False, default=DesignationKind.GP)
    patient_present = serializers.BooleanField()


def _list(items: list) -> Response:
    return Response({"count": len(items), "next": None, "previous": None, "results": items})


class DesignationsView(APIView):
    def get(self, request, patient_id):
        rows = designations.designations_list(actor=request.user, patient_id=patient_id)
        return _list([designation_json(d) for d in rows])

    def post(self, request, patient_id):
        data = DesignationProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        designation = designations.designation_propose(actor=request.user, patient_id=patient_id, **data.validated_data)
        return Response(designation_json(designation), status=status.HTTP_201_CREATED)


class DesignationInPersonView(APIView):
    def post(self, request, patient_id):
        data = DesignationInPersonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        designation = designations.designation_in_person(
            actor=request.user, patient_id=patient_id, **data.validated_data
        )
        return Response(designation_json(designation), status=status.HTTP_201_CREATED)


class DesignationInboxView(APIView):
    def get(self, request):
        return _list([designation_json(d) for d in designations.designations_to_answer(actor=request.user)])


class DesignationAcceptView(APIView):
    def post(self, request, designation_id):
        return Response(
            designation_json(designations.designation_accept(actor=request.user, designation_id=designation_id))
        )


class DesignationDeclineView(APIView):
    def post(self, request, designation_id):
        return Response(
            designation_json(designations.designation_decline(actor=request.user, designation_id=designation_id))
        )


class DesignationDetailView(APIView):
    def delete(self, request, designation_id):
        designations.designation_remove(actor=request.user, designation_id=designation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Notifications (docs/api.md, "Notifications") ---------------------------------------------


def notification_json(note: Notification) -> dict:
    return {
        "id": str(note.public_id),
        "kind": note.kind,
        "message": note.message,
        "document": str(note.document.public_id) if note.document_id else None,
        "created_at": note.created_at,
        "read_at": note.read_at,
    }


class NotificationsView(APIView):
    def get(self, request):
        page, size = page_params(request, default_size=notifications.PAGE_SIZE)
        result = notifications.notifications_page(actor=request.user, page=page, page_size=size)
        return paginated(request, [notification_json(n) for n in result.items], result.total, page, size)


class NotificationReadView(APIView):
    def post(self, request, notification_id):
        return Response(
            notification_json(notifications.notification_read(actor=request.user, notification_id=notification_id))
        )
