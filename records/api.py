"""API of the hospital record (CHU staff): search, identity, record, reports, emergency access."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from chu_portal.api import page_params, paginated
from chu_portal.schema import PAGE_PARAMETERS, page_of, responses

from .constants import InsStatus, ReportStatus, ReportType, Sex, StayKind
from .models import Patient, Report, Stay
from .services import care, emergency
from .services import patients as patients_service
from .services import reports as reports_service


def patient_json(patient: Patient) -> dict:
    return {
        "id": str(patient.public_id),
        "ipp": patient.ipp,
        "birth_name": patient.birth_name,
        "used_name": patient.used_name,
        "first_names": patient.first_names,
        "birth_date": patient.birth_date.isoformat(),
        "sex": patient.sex,
        "birth_place": patient.birth_place,
        "ins": patient.nir,
        "ins_oid": patient.ins_oid,
        "ins_status": patient.ins_status,
    }


def report_summary_json(report: Report) -> dict:
    return {
        "id": str(report.public_id),
        "type_code": report.type_code,
        "title": report.title,
        "version": report.version,
        "status": _report_status(report),
        "author": report.author.display_name,
        "signed_at": report.signed_at,
    }


def _report_status(report: Report) -> str:
    return "superseded" if getattr(report, "superseded", False) else report.status


def report_json(report: Report) -> dict:
    return {
        **report_summary_json(report),
        "stay": str(report.stay.public_id),
        "body": report.body,
        "replaces": str(report.replaces.public_id) if report.replaces_id else None,
    }


def stay_json(stay: Stay) -> dict:
    return {
        "id": str(stay.public_id),
        "kind": stay.kind,
        "unit": stay.unit.name,
        "admitted_at": stay.admitted_at,
        "discharged_at": stay.discharged_at,
        "diagnoses": [{"code": d.code, "label": d.label, "principal": d.principal} for d in stay.diagnoses.all()],
        "procedures": [{"code": p.code, "label": p.label} for p in stay.procedures.all()],
        "reports": [report_summary_json(r) for r in stay.reports.all()],
        "movements": [{"unit": m.unit.name, "at": m.at} for m in stay.movements.all()],
        "handover_notes": [handover_json(n) for n in stay.handover_notes.all()],
        "opinion_requests": [
            {
                "id": str(o.public_id),
                "status": o.shown_status,
                "consulted_doctor": o.consulted_doctor.username if o.consulted_doctor_id else None,
                "consulted_unit": o.consulted_unit.code if o.consulted_unit_id else None,
                "answer": str(o.answer.public_id) if o.answer_id else None,
            }
            for o in stay.opinion_requests.all()
        ],
    }


# --- Response shapes, for the OpenAPI schema ---------------------------------------------------


class PatientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ipp = serializers.CharField()
    birth_name = serializers.CharField()
    used_name = serializers.CharField(allow_blank=True)
    first_names = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    birth_place = serializers.CharField(allow_blank=True)
    ins = serializers.CharField(allow_null=True, help_text="Matricule INS (NIR).")
    ins_oid = serializers.CharField()
    ins_status = serializers.ChoiceField(choices=InsStatus.choices)


class ReportSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type_code = serializers.ChoiceField(choices=ReportType.choices)
    title = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[*ReportStatus.values, "superseded"])
    author = serializers.CharField()
    signed_at = serializers.DateTimeField(allow_null=True)


class ReportSerializer(ReportSummarySerializer):
    stay = serializers.UUIDField()
    body = serializers.CharField(allow_blank=True)
    replaces = serializers.UUIDField(allow_null=True)


class CodedSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class DiagnosisSerializer(CodedSerializer):
    principal = serializers.BooleanField()


class StaySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=StayKind.choices)
    unit = serializers.CharField()
    admitted_at = serializers.DateTimeField()
    discharged_at = serializers.DateTimeField(allow_null=True)
    diagnoses = DiagnosisSerializer(many=True)
    procedures = CodedSerializer(many=True)
    reports = ReportSummarySerializer(many=True)


class HospitalRecordSerializer(serializers.Serializer):
    patient = PatientSerializer()
    access_mode = serializers.CharField()
    stays = StaySerializer(many=True)


class EmergencyAccessSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    expires = serializers.DateTimeField()


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
        return paginated(request, [patient_json(p) for p in patients], total, page, size)


@extend_schema(tags=["hospital record"], responses=responses({200: PatientSerializer}, 401, 403, 404))
class PatientDetailView(APIView):
    def get(self, request, patient_id):
        return Response(patient_json(patients_service.patient_get(actor=request.user, patient_id=patient_id)))


@extend_schema(tags=["hospital record"], responses=responses({200: HospitalRecordSerializer}, 401, 403, 404))
class PatientRecordView(APIView):
    def get(self, request, patient_id):
        record = patients_service.record_open(actor=request.user, patient_id=patient_id)
        return Response(
            {
                "patient": patient_json(record.patient),
                "access_mode": record.decision.mode,
                "stays": [stay_json(s) for s in record.stays],
            }
        )


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
        return Response({"id": str(grant.public_id), "expires": grant.expires}, status=status.HTTP_201_CREATED)


class QualifySerializer(serializers.Serializer):
    document_checked = serializers.BooleanField()


@extend_schema(
    tags=["hospital record"],
    request=QualifySerializer,
    responses=responses({200: PatientSerializer}, 400, 401, 403, 404, 409),
)
class QualifyIdentityView(APIView):
    def post(self, request, patient_id):
        data = QualifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patients_service.identity_qualify(
            actor=request.user, patient_id=patient_id, document_checked=data.validated_data["document_checked"]
        )
        return Response(patient_json(patient))


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
        return Response(report_json(report), status=status.HTTP_201_CREATED)


class ReportDetailView(APIView):
    @extend_schema(tags=["reports"], responses=responses({200: ReportSerializer}, 401, 403, 404))
    def get(self, request, report_id):
        report, _decision = reports_service.report_open(actor=request.user, report_id=report_id)
        return Response(report_json(report))

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
        return Response(report_json(report))


@extend_schema(tags=["reports"], request=None, responses=responses({200: ReportSerializer}, 401, 403, 404, 409))
class ReportSignView(APIView):
    def post(self, request, report_id):
        return Response(report_json(reports_service.report_sign(actor=request.user, report_id=report_id)))


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
        return Response(report_json(amendment), status=status.HTTP_201_CREATED)


# --- Care across units -------------------------------------------------------------------------


class OpinionSerializer(serializers.Serializer):
    """Described for the schema; the views build the dicts with opinion_json."""

    id = serializers.UUIDField()
    patient = serializers.UUIDField()
    stay = serializers.UUIDField()
    requested_by = serializers.CharField()
    consulted_doctor = serializers.CharField(allow_null=True)
    consulted_unit = serializers.CharField(allow_null=True)
    question = serializers.CharField()
    # `expired`: left open past OPINION_MAX_DAYS (derived at read time, never stored).
    status = serializers.ChoiceField(choices=["open", "answered", "closed", "expired"])
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    answer = serializers.UUIDField(allow_null=True)


class MovementSerializer(serializers.Serializer):
    stay = serializers.UUIDField()
    unit = serializers.CharField()
    at = serializers.DateTimeField()


class HandoverNoteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    stay = serializers.UUIDField()
    author = serializers.CharField()
    unit = serializers.CharField(allow_null=True)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class MissingLetterSerializer(serializers.Serializer):
    stay = serializers.UUIDField()
    patient = serializers.UUIDField()
    unit = serializers.CharField()
    discharged_at = serializers.DateTimeField()


def opinion_json(opinion) -> dict:
    return {
        "id": str(opinion.public_id),
        "patient": str(opinion.patient.public_id),
        "stay": str(opinion.stay.public_id),
        "requested_by": opinion.requested_by.display_name,
        "consulted_doctor": opinion.consulted_doctor.username if opinion.consulted_doctor_id else None,
        "consulted_unit": opinion.consulted_unit.code if opinion.consulted_unit_id else None,
        "question": opinion.question,
        "status": opinion.shown_status,
        "created_at": opinion.created_at,
        "expires_at": opinion.expires_at if opinion.status == "open" else None,
        "finished_at": opinion.finished_at,
        "answer": str(opinion.answer.public_id) if opinion.answer_id else None,
    }


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
        return Response(
            {"stay": str(stay_id), "unit": movement.unit.code, "at": movement.at}, status=status.HTTP_201_CREATED
        )


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
        return Response(handover_json(note), status=status.HTTP_201_CREATED)


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
        return paginated(request, [opinion_json(o) for o in box[start : start + size]], len(box), page, size)

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
        return Response(opinion_json(opinion), status=status.HTTP_201_CREATED)


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
        return Response(opinion_json(opinion))


@extend_schema(
    tags=["care across units"], request=None, responses=responses({200: OpinionSerializer}, 401, 403, 404, 409)
)
class OpinionCloseView(APIView):
    def post(self, request, opinion_id):
        return Response(opinion_json(care.opinion_close(actor=request.user, opinion_id=opinion_id)))


@extend_schema(tags=["care across units"], responses=responses({200: page_of(MissingLetterSerializer)}, 401, 403))
class MissingLettersView(APIView):
    def get(self, request):
        stays = care.stays_missing_letter(actor=request.user)
        return Response(
            {
                "count": len(stays),
                "next": None,
                "previous": None,
                "results": [
                    {
                        "stay": str(s.public_id),
                        "patient": str(s.patient.public_id),
                        "unit": s.unit.name,
                        "discharged_at": s.discharged_at,
                    }
                    for s in stays
                ],
            }
        )


def handover_json(note) -> dict:
    return {
        "id": str(note.public_id),
        "stay": str(note.stay.public_id),
        "author": note.author.display_name,
        "unit": note.unit.name if note.unit_id else None,
        "body": note.body,
        "created_at": note.created_at,
    }
