"""API of the hospital record (CHU staff): search, identity, record, reports, emergency access."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chu_portal.api import page_params, paginated
from chu_portal.schema import PAGE_PARAMETERS, Instant, page_of, responses

from .constants import InsStatus, ReportStatus, ReportType, RepresentationKind, Sex, StayKind
from .models import Report
from .services import care, emergency, secret
from .services import patients as patients_service
from .services import reports as reports_service
from .services import representatives as representatives_service

OPINION_STATUSES = ["open", "answered", "closed", "expired"]


# --- Response shapes: each serializer writes the response and describes it in the schema ------


class PatientSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    ipp = serializers.CharField()
    birth_name = serializers.CharField()
    used_name = serializers.CharField(allow_blank=True)
    first_names = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    birth_place = serializers.CharField(allow_blank=True)
    ins = serializers.CharField(source="nir", allow_null=True, help_text="Matricule INS (NIR).")
    ins_oid = serializers.CharField()
    ins_status = serializers.ChoiceField(choices=InsStatus.choices)


class ReportSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    type_code = serializers.ChoiceField(choices=ReportType.choices)
    title = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.SerializerMethodField()
    author = serializers.CharField(source="author.display_name")
    signed_at = Instant(allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=[*ReportStatus.values, "superseded"]))
    def get_status(self, report: Report) -> str:
        return "superseded" if getattr(report, "superseded", False) else report.status


class ReportSerializer(ReportSummarySerializer):
    stay = serializers.UUIDField(source="stay.public_id")
    body = serializers.CharField(allow_blank=True)
    replaces = serializers.UUIDField(source="replaces.public_id", allow_null=True)
    hold_from_patient = serializers.BooleanField(
        help_text="Chosen at signing: the DMP document stays invisible to the patient until released after the "
        "announcement consultation (docs/domain.md, Held reports)."
    )


class ReportSignSerializer(serializers.Serializer):
    hold_from_patient = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: after the announcement consultation (invisible to the patient until released); false: "
        "visible to the patient now; absent or null: the default of the report's type (DMP_FEED_HOLD_TYPES).",
    )


class CodedSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class DiagnosisSerializer(CodedSerializer):
    principal = serializers.BooleanField()


class StayMovementSerializer(serializers.Serializer):
    """A transfer as the record shows it: the unit's name and when."""

    unit = serializers.CharField(source="unit.name")
    at = Instant()


class HandoverNoteSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    stay = serializers.UUIDField(source="stay.public_id")
    author = serializers.CharField(source="author.display_name")
    unit = serializers.CharField(source="unit.name", allow_null=True)
    body = serializers.CharField()
    created_at = Instant()


class StayOpinionSerializer(serializers.Serializer):
    """An opinion request as the record shows it (the full request: GET /opinion-requests/)."""

    id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(source="shown_status", choices=OPINION_STATUSES)
    consulted_doctor = serializers.CharField(source="consulted_doctor.username", allow_null=True)
    consulted_unit = serializers.CharField(source="consulted_unit.code", allow_null=True)
    answer = serializers.UUIDField(source="answer.public_id", allow_null=True)


class StaySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    kind = serializers.ChoiceField(choices=StayKind.choices)
    unit = serializers.CharField(source="unit.name")
    admitted_at = Instant()
    discharged_at = Instant(allow_null=True)
    diagnoses = DiagnosisSerializer(many=True, source="diagnoses.all")
    procedures = CodedSerializer(many=True, source="procedures.all")
    reports = ReportSummarySerializer(many=True, source="reports.all")
    movements = StayMovementSerializer(many=True, source="movements.all")
    handover_notes = HandoverNoteSerializer(many=True, source="handover_notes.all")
    opinion_requests = StayOpinionSerializer(many=True, source="opinion_requests.all")
    secret_from_representatives = serializers.BooleanField(
        help_text="Kept secret from the minor's legal representatives at her request (CSP L.1111-5): never shown "
        "or copied to them; its reports are filed in the DMP secret from them."
    )


class HospitalRecordSerializer(serializers.Serializer):
    patient = PatientSerializer()
    access_mode = serializers.CharField(source="decision.mode")
    stays = StaySerializer(many=True)


class EmergencyAccessSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    expires = Instant()


# --- Views ------------------------------------------------------------------------------------


class PatientSearchView(APIView):
    @extend_schema(
        tags=["hospital record"],
        parameters=[
            OpenApiParameter("q", str, description="Name, birth date (YYYY-MM-DD), IPP or INS."),
            *PAGE_PARAMETERS,
        ],
        responses=responses({200: page_of(PatientSerializer)}, 400, 401, 403),
        operation_id="patients_search",
    )
    def get(self, request):
        page, size = page_params(request)
        patients, total = patients_service.patient_search(
            actor=request.user, query=request.query_params.get("q", ""), page=page, page_size=size
        )
        return paginated(request, PatientSerializer(patients, many=True).data, total, page, size)


@extend_schema(tags=["hospital record"], responses=responses({200: PatientSerializer}, 401, 403, 404))
class PatientDetailView(APIView):
    def get(self, request, patient_id):
        return Response(PatientSerializer(patients_service.patient_get(actor=request.user, patient_id=patient_id)).data)


@extend_schema(tags=["hospital record"], responses=responses({200: HospitalRecordSerializer}, 401, 403, 404))
class PatientRecordView(APIView):
    def get(self, request, patient_id):
        record = patients_service.record_open(actor=request.user, patient_id=patient_id)
        return Response(HospitalRecordSerializer(record).data)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


@extend_schema(
    tags=["hospital record"],
    request=ReasonSerializer,
    responses=responses({201: EmergencyAccessSerializer}, 400, 401, 403, 404, 409),
)
class EmergencyAccessView(APIView):
    def post(self, request, patient_id):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = emergency.emergency_access_grant(
            actor=request.user, patient_id=patient_id, reason=data.validated_data["reason"]
        )
        return Response(EmergencyAccessSerializer(grant).data, status=status.HTTP_201_CREATED)


class QualifySerializer(serializers.Serializer):
    document_checked = serializers.BooleanField()


@extend_schema(
    tags=["hospital record"],
    request=QualifySerializer,
    responses=responses({200: PatientSerializer}, 400, 401, 403, 404, 409),
    description=(
        "Identity vigilance: an official ID document was checked. A `retrieved` identity becomes `qualified`; a "
        "`provisional` one becomes `validated` (its INS must still be retrieved, which then qualifies it). 409 "
        "when the document was already checked."
    ),
)
class QualifyIdentityView(APIView):
    def post(self, request, patient_id):
        data = QualifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patients_service.identity_qualify(
            actor=request.user, patient_id=patient_id, document_checked=data.validated_data["document_checked"]
        )
        return Response(PatientSerializer(patient).data)


@extend_schema(
    tags=["hospital record"],
    request=None,
    responses=responses({200: PatientSerializer}, 401, 403, 404, 409),
    description=(
        "Identity vigilance: retrieve the patient's INS through the INSi seam (the local registry stands for the "
        "national teleservice). The national traits must equal the patient's; then `ins_status` becomes "
        "`retrieved`, or `qualified` when the ID document was already checked (`validated`). Not found, traits "
        "that differ, a matricule held by another patient or an INS already retrieved: 409, nothing changes."
    ),
)
class RetrieveInsView(APIView):
    def post(self, request, patient_id):
        patient = patients_service.identity_retrieve_ins(actor=request.user, patient_id=patient_id)
        return Response(PatientSerializer(patient).data)


class ReportCreateSerializer(serializers.Serializer):
    stay = serializers.CharField(max_length=64)
    type_code = serializers.ChoiceField(choices=ReportType.choices)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField()


class ReportEditSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField()


@extend_schema(
    tags=["reports"],
    request=ReportCreateSerializer,
    responses=responses({201: ReportSerializer}, 400, 401, 403, 404),
)
class ReportCreateView(APIView):
    def post(self, request):
        data = ReportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = reports_service.report_create_draft(
            actor=request.user,
            stay_id=data.validated_data["stay"],
            type_code=data.validated_data["type_code"],
            title=data.validated_data["title"],
            body=data.validated_data["body"],
        )
        return Response(ReportSerializer(report).data, status=status.HTTP_201_CREATED)


class ReportDetailView(APIView):
    @extend_schema(tags=["reports"], responses=responses({200: ReportSerializer}, 401, 403, 404))
    def get(self, request, report_id):
        report, _decision = reports_service.report_open(actor=request.user, report_id=report_id)
        return Response(ReportSerializer(report).data)

    @extend_schema(
        tags=["reports"],
        request=ReportEditSerializer,
        responses=responses({200: ReportSerializer}, 400, 401, 403, 404, 409),
    )
    def patch(self, request, report_id):
        data = ReportEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = reports_service.report_update_draft(
            actor=request.user,
            report_id=report_id,
            title=data.validated_data.get("title"),
            body=data.validated_data["body"],
        )
        return Response(ReportSerializer(report).data)


@extend_schema(
    tags=["reports"],
    request=ReportSignSerializer,
    responses=responses({200: ReportSerializer}, 400, 401, 403, 404, 409),
)
class ReportSignView(APIView):
    def post(self, request, report_id):
        data = ReportSignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = reports_service.report_sign(
            actor=request.user, report_id=report_id, hold_from_patient=data.validated_data.get("hold_from_patient")
        )
        return Response(ReportSerializer(report).data)


@extend_schema(
    tags=["reports"],
    request=ReportEditSerializer,
    responses=responses({201: ReportSerializer}, 400, 401, 403, 404, 409),
)
class ReportAmendView(APIView):
    def post(self, request, report_id):
        data = ReportEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        amendment = reports_service.report_amend(
            actor=request.user,
            report_id=report_id,
            title=data.validated_data.get("title"),
            body=data.validated_data["body"],
        )
        return Response(ReportSerializer(amendment).data, status=status.HTTP_201_CREATED)


# --- Care across units -------------------------------------------------------------------------


class OpinionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="patient.public_id")
    stay = serializers.UUIDField(source="stay.public_id")
    requested_by = serializers.CharField(source="requested_by.display_name")
    consulted_doctor = serializers.CharField(source="consulted_doctor.username", allow_null=True)
    consulted_unit = serializers.CharField(source="consulted_unit.code", allow_null=True)
    question = serializers.CharField()
    # `expired`: left open past OPINION_MAX_DAYS (derived at read time, never stored).
    status = serializers.ChoiceField(source="shown_status", choices=OPINION_STATUSES)
    created_at = Instant()
    expires_at = serializers.SerializerMethodField()
    finished_at = Instant(allow_null=True)
    answer = serializers.UUIDField(source="answer.public_id", allow_null=True)

    @extend_schema_field(Instant(allow_null=True))
    def get_expires_at(self, opinion) -> str | None:
        return Instant().to_representation(opinion.expires_at) if opinion.status == "open" else None


class MovementSerializer(serializers.Serializer):
    """A transfer as POST /stays/{stay_id}/transfer/ answers it: the stay and the unit's code."""

    stay = serializers.UUIDField(source="stay.public_id")
    unit = serializers.CharField(source="unit.code")
    at = Instant()


class MissingLetterSerializer(serializers.Serializer):
    stay = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="patient.public_id")
    unit = serializers.CharField(source="unit.name")
    discharged_at = Instant()


class TransferSerializer(serializers.Serializer):
    unit = serializers.CharField(max_length=20)


@extend_schema(
    tags=["care across units"],
    request=TransferSerializer,
    responses=responses({201: MovementSerializer}, 400, 401, 403, 409),
)
class StayTransferView(APIView):
    def post(self, request, stay_id):
        data = TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = care.stay_transfer(actor=request.user, stay_id=stay_id, unit_code=data.validated_data["unit"])
        return Response(MovementSerializer(movement).data, status=status.HTTP_201_CREATED)


class HandoverSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


@extend_schema(
    tags=["care across units"],
    request=HandoverSerializer,
    responses=responses({201: HandoverNoteSerializer}, 400, 401, 403),
)
class HandoverCreateView(APIView):
    def post(self, request, stay_id):
        data = HandoverSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = care.handover_add(actor=request.user, stay_id=stay_id, body=data.validated_data["body"])
        return Response(HandoverNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class StaySecretSerializer(serializers.Serializer):
    secret = serializers.BooleanField(
        help_text="true: keep the stay secret from the minor's legal representatives at her request (CSP L.1111-5); "
        "false: lift the secret."
    )


class StaySecretStateSerializer(serializers.Serializer):
    stay = serializers.UUIDField(source="public_id")
    secret_from_representatives = serializers.BooleanField()


@extend_schema(
    tags=["care across units"],
    request=StaySecretSerializer,
    responses=responses({200: StaySecretStateSerializer}, 400, 401, 403, 404, 409),
)
class StaySecretView(APIView):
    """A doctor or midwife of the care team keeps a minor's stay secret from her legal representatives, or lifts it."""

    def post(self, request, stay_id):
        data = StaySecretSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stay = secret.stay_secret_set(actor=request.user, stay_id=stay_id, secret=data.validated_data["secret"])
        return Response(StaySecretStateSerializer(stay).data)


class OpinionCreateSerializer(serializers.Serializer):
    stay = serializers.CharField(max_length=64)
    question = serializers.CharField(max_length=2000)
    consulted_doctor = serializers.CharField(max_length=150, required=False, allow_blank=True)
    consulted_unit = serializers.CharField(max_length=20, required=False, allow_blank=True)


class OpinionListView(APIView):
    @extend_schema(
        tags=["care across units"],
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("box", str, enum=["received", "sent"], description="received (default) or sent"),
        ],
        responses=responses({200: page_of(OpinionSerializer)}, 400, 401, 403),
    )
    def get(self, request):
        page, size = page_params(request)
        received, sent = care.opinions_inbox(actor=request.user)
        box = sent if request.query_params.get("box") == "sent" else received
        start = (page - 1) * size
        return paginated(request, OpinionSerializer(box[start : start + size], many=True).data, len(box), page, size)

    @extend_schema(
        tags=["care across units"],
        request=OpinionCreateSerializer,
        responses=responses({201: OpinionSerializer}, 400, 401, 403),
    )
    def post(self, request):
        data = OpinionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        opinion = care.opinion_request_create(
            actor=request.user,
            stay_id=data.validated_data["stay"],
            question=data.validated_data["question"],
            consulted_username=data.validated_data.get("consulted_doctor", ""),
            consulted_unit_code=data.validated_data.get("consulted_unit", ""),
        )
        return Response(OpinionSerializer(opinion).data, status=status.HTTP_201_CREATED)


class OpinionAnswerSerializer(serializers.Serializer):
    body = serializers.CharField()
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


@extend_schema(
    tags=["care across units"],
    request=OpinionAnswerSerializer,
    responses=responses({200: OpinionSerializer}, 400, 401, 403, 404, 409),
)
class OpinionAnswerView(APIView):
    def post(self, request, opinion_id):
        data = OpinionAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        opinion = care.opinion_answer(
            actor=request.user,
            opinion_id=opinion_id,
            body=data.validated_data["body"],
            title=data.validated_data.get("title", ""),
        )
        return Response(OpinionSerializer(opinion).data)


@extend_schema(
    tags=["care across units"], request=None, responses=responses({200: OpinionSerializer}, 401, 403, 404, 409)
)
class OpinionCloseView(APIView):
    def post(self, request, opinion_id):
        return Response(OpinionSerializer(care.opinion_close(actor=request.user, opinion_id=opinion_id)).data)


@extend_schema(tags=["care across units"], responses=responses({200: page_of(MissingLetterSerializer)}, 401, 403))
class MissingLettersView(APIView):
    def get(self, request):
        stays = care.stays_missing_letter(actor=request.user)
        return paginated(request, MissingLetterSerializer(stays, many=True).data, len(stays), 1, max(len(stays), 1))


# --- Representatives (issue 21; docs/api.md, "Representatives") -------------------------------

REPRESENTATIVES_TAG = ["representatives"]


class RepresentationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")
    representative = serializers.CharField(source="representative.username")
    representative_name = serializers.CharField(source="representative.display_name")
    kind = serializers.ChoiceField(choices=RepresentationKind.choices)
    relation = serializers.CharField(source="relation_label")
    starts = Instant()
    ends = Instant(allow_null=True)
    ended_at = Instant(allow_null=True)
    in_force = serializers.SerializerMethodField()

    def get_in_force(self, representation) -> bool:
        return representation.in_force()


class RepresentationCreateSerializer(serializers.Serializer):
    representative = serializers.CharField(
        max_length=150, help_text="The representative's username (a patient account)."
    )
    kind = serializers.ChoiceField(choices=[RepresentationKind.PARENT, RepresentationKind.GUARDIAN])
    relation = serializers.CharField(max_length=40, required=False, allow_blank=True)
    starts = serializers.DateField(required=False, allow_null=True)
    ends = serializers.DateField(required=False, allow_null=True, help_text="A parent's: the 18th birthday at most.")
    identity_checked = serializers.BooleanField(help_text="The representative's identity and capacity were checked.")


class TrustedRepresentativeCreateSerializer(serializers.Serializer):
    representative = serializers.CharField(
        max_length=150, help_text="The trusted person's username (a patient account)."
    )
    ends = serializers.DateField(required=False, allow_null=True)


class RepresentativesView(APIView):
    @extend_schema(
        tags=REPRESENTATIVES_TAG, responses=responses({200: RepresentationSerializer(many=True)}, 401, 403, 404)
    )
    def get(self, request, patient_id):
        rows = representatives_service.representations_list(actor=request.user, patient_id=patient_id)
        return Response(RepresentationSerializer(rows, many=True).data)

    @extend_schema(
        tags=REPRESENTATIVES_TAG,
        request=RepresentationCreateSerializer,
        responses=responses({201: RepresentationSerializer}, 400, 401, 403, 404, 409),
    )
    def post(self, request, patient_id):
        body = RepresentationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        representation = representatives_service.representation_record(
            actor=request.user,
            patient_id=patient_id,
            representative=data["representative"],
            kind=data["kind"],
            relation=data.get("relation", ""),
            starts=data.get("starts"),
            ends=data.get("ends"),
            identity_checked=data["identity_checked"],
        )
        return Response(RepresentationSerializer(representation).data, status=status.HTTP_201_CREATED)


class TrustedRepresentativeView(APIView):
    @extend_schema(
        tags=REPRESENTATIVES_TAG,
        request=TrustedRepresentativeCreateSerializer,
        responses=responses({201: RepresentationSerializer}, 400, 401, 403, 404, 409, 429),
    )
    def post(self, request):
        body = TrustedRepresentativeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        representation = representatives_service.trusted_representative_name(
            actor=request.user,
            representative=body.validated_data["representative"],
            ends=body.validated_data.get("ends"),
        )
        return Response(RepresentationSerializer(representation).data, status=status.HTTP_201_CREATED)


class RepresentationDetailView(APIView):
    @extend_schema(
        tags=REPRESENTATIVES_TAG, responses=responses({204: OpenApiResponse(description="Ended.")}, 401, 403, 404, 409)
    )
    def delete(self, request, representation_id):
        representatives_service.representation_end(actor=request.user, representation_id=representation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
